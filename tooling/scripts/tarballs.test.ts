// The tarball-install check must fail, naming the package, for each way a published package can
// be broken for its npm users; and pass packages that are fine, including one that needs another
// workspace package's tarball. The throw-away packages have no third-party dependencies, so the
// installs never touch the registry and the whole run stays a few seconds.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs scripts without declarations
import { tarballProblems } from './check-tarballs.mjs';

const repo = resolve(import.meta.dirname, '../..');

type Files = Record<string, string>;
function pkg(root: string, dir: string, json: object, files: Files): void {
  const base = join(root, 'packages', dir);
  for (const [path, text] of Object.entries({ 'package.json': JSON.stringify({ version: '1.0.0', type: 'module', files: ['dist'], ...json }), ...files })) {
    mkdirSync(join(base, path, '..'), { recursive: true });
    writeFileSync(join(base, path), text);
  }
}

const dual = {
  '.': {
    import: { types: './dist/index.d.ts', default: './dist/index.js' },
    require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
  },
};
/** A dual build: ESM, CJS and (unless `dts` is empty) the same declarations for both. */
function built(esm: string, cjs: string, dts: string): Files {
  const types = dts === '' ? {} : { 'dist/index.d.ts': dts, 'dist/index.d.cts': dts };
  return { 'dist/index.js': esm, 'dist/index.cjs': cjs, ...types };
}

let root: string;
let problems: string[];
const lines: string[] = [];
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'distkit-tarball-check-'));
  pkg(root, 'good', { name: '@t/good', exports: dual }, built('export const answer = 42;\n', 'exports.answer = 42;\n', 'export declare const answer: number;\n'));
  pkg(
    root,
    'uses-good',
    { name: '@t/uses-good', exports: dual, dependencies: { '@t/good': '1.0.0' } },
    built(
      "import { answer } from '@t/good';\nexport const twice = answer * 2;\n",
      "exports.twice = require('@t/good').answer * 2;\n",
      'export declare const twice: number;\n',
    ),
  );
  // Imports @t/good without declaring it: works in the workspace, not for a user.
  pkg(root, 'phantom', { name: '@t/phantom', exports: dual }, built("export { answer } from '@t/good';\n", "exports.answer = require('@t/good').answer;\n", 'export declare const answer: number;\n'));
  pkg(root, 'no-require', { name: '@t/no-require', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } }, built('export const answer = 42;\n', '', 'export declare const answer: number;\n'));
  pkg(root, 'undeclared', { name: '@t/undeclared', exports: dual }, built('export const answer = 42;\nexport const hidden = 1;\n', 'exports.answer = 42;\nexports.hidden = 1;\n', 'export declare const answer: number;\n'));
  pkg(root, 'no-types', { name: '@t/no-types', exports: { '.': { import: './dist/index.js', require: './dist/index.cjs' } } }, built('export const answer = 42;\n', 'exports.answer = 42;\n', ''));
  pkg(root, 'split', { name: '@t/split', exports: dual }, built('export const answer = 42;\n', 'exports.answr = 42;\n', 'export declare const answer: number;\n'));
  pkg(root, 'secret', { name: '@t/secret', private: true, exports: dual }, built('export const s = 1;\n', 'exports.s = 1;\n', 'export declare const s: number;\n'));
  pkg(root, 'needs-secret', { name: '@t/needs-secret', exports: dual, dependencies: { '@t/secret': '1.0.0' } }, built('export const a = 1;\n', 'exports.a = 1;\n', 'export declare const a: number;\n'));
  problems = await tarballProblems(root, { tools: repo, log: (l: string) => lines.push(l) });
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const about = (name: string): string => problems.filter((p) => p.startsWith(`${name}:`)).join('\n');

describe('tarball installs', () => {
  it('passes a correct package and one that needs a sibling tarball, with a line each', () => {
    expect(about('@t/good')).toBe('');
    expect(about('@t/uses-good')).toBe('');
    expect(lines.join('\n')).toMatch(/✓ @t\/good: .*import \+ require \(1 exports\), types \.mts \+ \.cts/);
    expect(lines.join('\n')).toMatch(/✓ @t\/uses-good: .* with @t\/good,/);
  });

  it('fails a package that imports a workspace package it does not declare', () => {
    expect(about('@t/phantom')).toContain('import failed');
    expect(about('@t/phantom')).toContain("'@t/good'");
  });

  it('fails a package that cannot be required', () => {
    expect(about('@t/no-require')).toContain('require failed');
  });

  it('fails a package whose types miss a runtime export, or ship no types', () => {
    expect(about('@t/undeclared')).toMatch(/types do not resolve[\s\S]*TS2339[\s\S]*hidden/);
    expect(about('@t/no-types')).toMatch(/types do not resolve[\s\S]*TS7016/);
  });

  it('fails a package whose ESM and CJS builds export different names', () => {
    expect(about('@t/split')).toContain('import and require export different names');
  });

  it('fails a package that depends on a private one, and never installs the private one', () => {
    expect(about('@t/needs-secret')).toContain('depends on @t/secret, which is not published');
    expect(about('@t/secret')).toBe('');
    expect(lines.join('\n')).not.toContain('@t/secret:');
  });

  it('reports nothing else', () => {
    const named = ['@t/phantom', '@t/no-require', '@t/undeclared', '@t/no-types', '@t/split', '@t/needs-secret'];
    expect(problems.filter((p) => !named.some((n) => p.startsWith(`${n}:`)))).toEqual([]);
  });
});

describe('tarball installs before a build', () => {
  it('says to build first instead of failing on missing files', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'distkit-tarball-check-'));
    try {
      pkg(bare, 'good', { name: '@t/good', exports: dual }, {});
      expect(await tarballProblems(bare, { tools: repo, log: () => {} })).toEqual([
        '@t/good: not built (missing dist/index.cjs, dist/index.d.cts, dist/index.d.ts, dist/index.js): run `npm run build` first',
      ]);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
