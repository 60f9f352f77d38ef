// The release rehearsal's offline parts: what it reads from the kernel README (and how it fails
// when the README no longer says it), how it reports a failing command, and the
// DISTKIT_JSR_PUBLISH switch of the real release:publish script.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs scripts without declarations
import { readmeExample } from '../release/readme-example.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { CheckFailed, CommandFailed, createReport, packagesBlamed, run } from '../release/step-report.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { jsrModeArgs } from '../release/jsr-publish.mjs';

const repo = resolve(import.meta.dirname, '../..');
const README = readFileSync(join(repo, 'packages/kernel/README.md'), 'utf8');

describe('the kernel README, as the rehearsal reads it', () => {
  it('has an install line, an ESM example, its CommonJS form and the Deno permissions', () => {
    const r = readmeExample(README);
    expect(r.npmInstall.slice(0, 2)).toEqual(['npm', 'i']);
    expect(r.npmInstall).toContain('@distkit/kernel');
    expect(r.denoAdd).toContain('npm:@distkit/kernel');
    expect(r.esm).toMatch(/^import \{ createNode \} from '@distkit\/kernel';$/m);
    expect(r.denoPermissions.every((p: string) => p.startsWith('--allow-'))).toBe(true);
    // The CommonJS program: the README's wrapper with the example's body in place of the
    // placeholder; no import statement and no placeholder left.
    expect(r.cjs).toMatch(/^const \{ createNode \} = require\('@distkit\/kernel'\);$/m);
    expect(r.cjs).not.toMatch(/^\s*import /m);
    expect(r.cjs).not.toContain('… the example above');
    const body = r.esm.split('\n').filter((l: string) => l && !l.startsWith('import ')).map((l: string) => l.trim());
    const cjsLines = r.cjs.split('\n').map((l: string) => l.trim());
    for (const line of body) expect(cjsLines).toContain(line);
  });

  it('is plain JavaScript: both programs parse as what they claim to be', () => {
    const { esm, cjs } = readmeExample(README);
    const check = (code: string, type: string) => spawnSync(process.execPath, ['--check', `--input-type=${type}`], { input: code, encoding: 'utf8' });
    expect(check(esm, 'module').stderr).toBe('');
    expect(check(cjs, 'commonjs').stderr).toBe('');
  });

  it('fails naming what is missing when the README changes shape', () => {
    const without = (text: string, heading: string) => text.replace(heading, '## Renamed');
    expect(() => readmeExample(without(README, '## Install'))).toThrow('packages/kernel/README.md: a ```sh block under "## Install" not found');
    expect(() => readmeExample(README.replace(/^deno add .*$/m, ''))).toThrow('a `deno add ...` line');
    expect(() => readmeExample(README.replace('// … the example above', '// the example'))).toThrow('the CommonJS form');
    expect(() => readmeExample(README.replace(/`deno run [^`]*`/, '`deno run example.ts`'))).toThrow('a `deno run --allow-... example.mjs` command');
  });
});

describe('failure reports', () => {
  it('blames the packages on failing lines only, by whole name', () => {
    const out = ['🦋  info Publishing "@t/a" at "1.0.0"', 'npm error @t/wire-format: refusing to pack', '🦋  error packages failed to publish:', '🦋  @t/b@1.0.0'].join('\n');
    expect(packagesBlamed(out, ['@t/a', '@t/b', '@t/wire', '@t/wire-format'])).toEqual(['@t/wire-format', '@t/b']);
    // No failing line names one: the names at the end of the output, where the tool stopped.
    expect(packagesBlamed('building @t/a\nbuilding @t/b\nsegfault\n', ['@t/a', '@t/b', '@t/c'])).toEqual(['@t/a', '@t/b']);
    expect(packagesBlamed('all fine\n', ['@t/a'])).toEqual([]);
  });

  it('a failing command rejects with the package, the command, the folder, the exit code and the output', async () => {
    const lines: string[] = [];
    const err = await run(process.execPath, ['-e', "console.error('@t/x: broken'); process.exit(3)"], { cwd: repo, env: process.env, blame: ['@t/x', '@t/y'], log: (l: string) => lines.push(l), show: 'node broken.js' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect(err).toMatchObject({ code: 'COMMAND_FAILED', pkg: '@t/x', command: 'node broken.js', cwd: repo, status: 3 });
    expect(err.message).toBe(`@t/x: \`node broken.js\` failed (exit 3), in ${repo}`);
    expect(lines).toEqual([expect.stringMatching(/^ {2}✗ \$ node broken\.js \(\d+\.\d s\)$/)]);
    const text = createReport(() => {}).describe(Object.assign(err, { step: '4. a step' }));
    expect(text.split('\n').slice(0, 6)).toEqual(['✗ release rehearsal failed at step 4. a step', '  package: @t/x', '  command: node broken.js', `  in:      ${repo}`, '  exit:    3', '  output (end):']);
  });

  it('a command that cannot start, or runs past its deadline, is a failure too', async () => {
    const missing = await run('/nonexistent/tool', [], { cwd: repo, env: process.env, pkg: '@t/x', log: () => {} }).catch((e: unknown) => e);
    expect(missing.message).toContain('could not start');
    const slow = await run(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { cwd: repo, env: process.env, pkg: '@t/x', log: () => {}, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(slow.message).toContain('timed out after 0.3 s');
  });

  it('numbers and times the steps, and the summary marks the one that failed', async () => {
    const lines: string[] = [];
    const report = createReport((l: string) => lines.push(l));
    await report.step('works', async () => 1);
    await expect(report.step('breaks', async () => {
      throw new CheckFailed(['@t/x: wrong']);
    })).rejects.toThrow('@t/x: wrong');
    expect(lines.filter((l) => /^[✓✗] /.test(l))).toEqual([expect.stringMatching(/^✓ 1\. works \(\d+\.\d s\)$/), expect.stringMatching(/^✗ 2\. breaks failed after \d+\.\d s$/)]);
    expect(report.summary()).toMatch(/✓ 1\. works +\d+\.\d s\n +✗ 2\. breaks +\d+\.\d s\n +total \d+\.\d s/);
  });
});

describe('DISTKIT_JSR_PUBLISH', () => {
  it('maps publish, dry-run and skip, and rejects anything else', () => {
    expect(jsrModeArgs('publish')).toEqual([]);
    expect(jsrModeArgs()).toEqual([]);
    expect(jsrModeArgs('dry-run')).toEqual(['--dry-run', '--allow-dirty']);
    expect(jsrModeArgs('skip')).toBeNull();
    expect(() => jsrModeArgs('yes')).toThrow('DISTKIT_JSR_PUBLISH must be publish, dry-run or skip (got "yes")');
  });

  it('skip publishes nothing and says so; a bad value exits 78 before any deno runs', () => {
    const script = join(repo, 'tooling/release/jsr-publish.mjs');
    const skip = spawnSync(process.execPath, [script, '--root', '/nonexistent'], { env: { ...process.env, DISTKIT_JSR_PUBLISH: 'skip' }, encoding: 'utf8' });
    expect(skip.status).toBe(0);
    expect(skip.stdout).toContain('JSR: skipped (DISTKIT_JSR_PUBLISH=skip)');
    const bad = spawnSync(process.execPath, [script, '--root', '/nonexistent'], { env: { ...process.env, DISTKIT_JSR_PUBLISH: 'maybe' }, encoding: 'utf8' });
    expect(bad.status).toBe(78);
    expect(bad.stderr).toContain('DISTKIT_JSR_PUBLISH must be publish, dry-run or skip');
  });
});
