// Each repository check must fail when its rule is broken: a check that cannot fail is a defect.
// Every case builds a small throw-away workspace with one violation and runs the real check on it.
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workspace as scratch, write } from './scratch.test-support.ts';
// @ts-expect-error plain .mjs scripts without declarations
import { exportsSyncProblems } from './check-exports-sync.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { publishProblems } from './check-publish.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { sansIoProblems } from './check-sans-io.mjs';

const repo = resolve(import.meta.dirname, '../..');
const workspace = (): string => scratch('distkit-check-');


describe('sans-I/O check', () => {
  it('passes on this repository', () => {
    expect(sansIoProblems(repo)).toEqual([]);
  });

  it.each([
    ["import { createSocket } from 'node:dgram';", 'imports an I/O module'],
    ["import { readFileSync } from 'fs';", 'imports an I/O module'],
    ['export const now = () => Date.now();', 'Date.now'],
    ['export const t = () => performance.now();', 'performance.now'],
    ['setTimeout(() => {}, 10);', 'starts a timer'],
    ['export const id = setInterval(() => {}, 10);', 'starts a timer'],
    ['export const env = Deno.env;', 'Deno namespace'],
    ["import { randomBytes } from 'node:crypto';", 'node:crypto outside the crypto-provider seam'],
  ])('flags %s', (line, why) => {
    const root = workspace();
    write(root, 'packages/policy/src/bad.ts', `// a core file\n${line}\n`);
    const problems = sansIoProblems(root) as string[];
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('packages/policy/src/bad.ts:2');
    expect(problems[0]).toContain(why);
  });

  it("holds the kernel's node machine to the rule, not the shell that drives it", () => {
    const root = workspace();
    write(root, 'packages/kernel/src/machine/node-machine.ts', 'export const t = () => Date.now();\n');
    write(root, 'packages/kernel/src/node.ts', 'setTimeout(() => {}, 10);\n');
    const problems = sansIoProblems(root) as string[];
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('packages/kernel/src/machine/node-machine.ts:1');
  });

  it('allows node:crypto in the handshake crypto seam, and anything in tests or comments', () => {
    const root = workspace();
    write(root, 'packages/handshake/src/crypto/native.ts', "import { createHash } from 'node:crypto';\n");
    write(root, 'packages/wire/src/x.test.ts', 'setTimeout(() => {}, 1); Date.now();\n');
    write(root, 'packages/wire/src/y.ts', '// never call Date.now() here\n/* setTimeout( */ export const y = 1;\n');
    expect(sansIoProblems(root)).toEqual([]);
  });
});

describe('package.json / deno.json sync check', () => {
  function pkg(root: string, pj: object, dj: object): void {
    write(root, 'packages/a/package.json', JSON.stringify({ name: '@distkit/a', version: '1.0.0', exports: { '.': {}, './package.json': './package.json' }, ...pj }));
    write(root, 'packages/a/deno.json', JSON.stringify({ name: '@distkit/a', version: '1.0.0', exports: { '.': './src/index.ts' }, ...dj }));
    write(root, 'packages/a/src/index.ts', 'export {};\n');
  }

  it('passes on this repository and on a package that agrees', () => {
    expect(exportsSyncProblems(repo)).toEqual([]);
    const root = workspace();
    pkg(root, {}, {});
    expect(exportsSyncProblems(root)).toEqual([]);
  });

  it('flags a version drift, a name drift, an extra entry point and a missing file', () => {
    const root = workspace();
    pkg(root, { version: '1.1.0' }, {});
    expect(exportsSyncProblems(root).join()).toContain('version 1.1.0 but deno.json 1.0.0');
    pkg(root, {}, { name: '@other/a' });
    expect(exportsSyncProblems(root).join()).toContain('deno.json name is @other/a');
    pkg(root, { exports: { '.': {}, './extra': {} } }, {});
    expect(exportsSyncProblems(root).join()).toContain('exports differ');
    pkg(root, {}, { exports: { '.': './src/missing.ts' } });
    expect(exportsSyncProblems(root).join()).toContain('does not exist');
  });
});

describe('publint / attw check', () => {
  it('flags a package whose exports point at files it does not ship', () => {
    const root = workspace();
    cpSync(join(repo, 'packages/wire/package.json'), join(root, 'packages/wire/package.json'), { recursive: true });
    write(root, 'packages/wire/README.md', '# x\n');
    const problems = publishProblems(root, repo) as string[];
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain('@distkit/wire');
  });
});
