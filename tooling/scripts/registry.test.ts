// The release rehearsal's parts that talk to a registry, on a real Verdaccio started here (the
// same install the rehearsal uses): it has no uplink, the seeding gives it the lock file's
// packages byte for byte, the packument audit fails each way a published package can be wrong
// for its users, and a publish that fails names the package and the command, from the output
// and from the registry, through the real `changeset publish` and the prepack guard.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, write } from './scratch.test-support.ts';
// @ts-expect-error plain .mjs scripts without declarations
import { installVerdaccio, startRegistry } from '../release/local-registry.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { putTarball, seedRegistry, thirdPartyPackages } from '../release/seed-registry.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { packumentProblems } from '../release/packument-audit.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { publishRelease } from '../release/release-steps.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { CommandFailed, createReport } from '../release/step-report.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { userNpmEnv } from './npm-env.mjs';

const repo = resolve(import.meta.dirname, '../..');

type Registry = {
  url: string;
  env: Record<string, string>;
  packument(name: string): Promise<{ versions: Record<string, unknown>; 'dist-tags': Record<string, string> } | null>;
  stop(): Promise<void>;
};
let registry: Registry;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'distkit-registry-test-'));
  const { dir } = installVerdaccio(repo);
  registry = await startRegistry({ work: join(work, 'registry'), installDir: dir });
  env = userNpmEnv({ ...registry.env, npm_config_cache: join(work, 'npm-cache'), PATH: `${join(repo, 'node_modules/.bin')}:${process.env.PATH}` });
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

const npm = (args: string[], cwd: string) => {
  const r = spawnSync('npm', args, { cwd, env, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
};

/** npm pack of a scratch package; returns the tarball's path. */
function packed(files: Record<string, string>): string {
  const dir = workspace('distkit-audit-pkg-');
  for (const [path, text] of Object.entries(files)) write(dir, path, text);
  const r = npm(['pack', '--json', '--loglevel=error', '--pack-destination', dir], dir);
  expect(r.status, r.out).toBe(0);
  return join(dir, JSON.parse(r.stdout)[0].filename);
}

describe('the rehearsal registry', () => {
  it('has no uplink: what it was not given is a 404 for the npm client', async () => {
    const r = npm(['view', 'left-pad', 'version'], work);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('E404');
    expect(await registry.packument('left-pad')).toBeNull();
  });

  it('is seeded with the third-party packages of package-lock.json, byte for byte', async () => {
    const wanted = thirdPartyPackages(repo) as { name: string; version: string; integrity: string }[];
    expect(wanted.map((p) => p.name)).toEqual(expect.arrayContaining(['msgpackr', '@noble/curves', 'pino']));
    expect(wanted.map((p) => p.name)).not.toContain('vitest'); // dev-only: never needed by a user
    const seeded = (await seedRegistry(registry, { repo })) as { name: string; version: string }[];
    expect(seeded).toHaveLength(wanted.length);
    const msgpackr = wanted.find((p) => p.name === 'msgpackr')!;
    const r = npm(['view', `msgpackr@${msgpackr.version}`, 'dist.integrity'], work);
    expect(r.stdout.trim()).toBe(msgpackr.integrity);
  }, 60_000);
});

describe('packument audit', () => {
  const engines = { node: '>=20.19' };
  const exportsMap = { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' };

  it('passes a package as users should get it', async () => {
    const pkg = { name: '@t/good', version: '1.0.0', license: 'MIT', engines, types: './dist/index.d.ts', exports: exportsMap, files: ['dist'] };
    await putTarball(registry, packed({ 'package.json': JSON.stringify(pkg), 'dist/index.js': 'export const a = 1;\n', 'dist/index.d.ts': 'export declare const a: number;\n', 'README.md': '# good\n', LICENSE: 'MIT License\n' }));
    const { problems, row } = await packumentProblems(registry, { name: pkg.name, pkg }, new Set());
    expect(problems).toEqual([]);
    expect(row).toEqual(['@t/good', 'latest: 1.0.0', '1.0.0', '>=20.19', 'MIT', expect.stringMatching(/^5 files, /)]);
  });

  it('names each way a published package is wrong for its users', async () => {
    const pkg = {
      name: '@t/bad',
      version: '1.0.0',
      exports: exportsMap,
      files: ['dist', 'src', 'bench', 'tsconfig.json', 'notes.txt'],
      dependencies: { '@distkit/wire': '^0.1.0', '@distkit/kernel': '9.9.9' },
    };
    await putTarball(
      registry,
      packed({
        'package.json': JSON.stringify(pkg),
        'dist/index.js': 'export const a = 1;\n',
        'src/index.ts': 'export const a = 1;\n',
        'src/index.test.ts': 'it();\n',
        'bench/x.bench.ts': '\n',
        'tsconfig.json': '{}\n',
        'notes.txt': 'todo\n',
        'README.md': '# bad\n',
      }),
    );
    const { problems } = await packumentProblems(registry, { name: pkg.name, pkg: { ...pkg, license: 'MIT', engines } }, new Set(['@distkit/kernel@0.2.0']));
    const all = (problems as string[]).join('\n');
    for (const expected of [
      '@t/bad@1.0.0: no engines.node',
      '@t/bad@1.0.0: no types field',
      '@t/bad@1.0.0: license is undefined, package.json says "MIT"',
      '@t/bad@1.0.0: depends on @distkit/wire@^0.1.0: internal dependencies are pinned exactly',
      '@t/bad@1.0.0: depends on @distkit/kernel@9.9.9, which this rehearsal did not publish',
      '@t/bad@1.0.0: the tarball lacks LICENSE',
      '@t/bad@1.0.0: the tarball lacks dist/index.d.ts',
      '@t/bad@1.0.0: the tarball ships src/index.test.ts (a test)',
      '@t/bad@1.0.0: the tarball ships bench/x.bench.ts (a benchmark)',
      '@t/bad@1.0.0: the tarball ships tsconfig.json (build configuration)',
      '@t/bad@1.0.0: the tarball ships notes.txt, which is not part of a package',
    ]) {
      expect(all).toContain(expected);
    }
    expect((problems as string[]).filter((p) => p.includes('ships src/index.ts'))).toEqual([]); // shipped sources are fine
  });

  it('fails a package whose latest dist-tag is not the version released', async () => {
    const pkg = { name: '@t/tagged', version: '1.0.0', license: 'MIT', engines, types: './dist/index.d.ts', exports: exportsMap, files: ['dist'] };
    const files = { 'dist/index.js': '\n', 'dist/index.d.ts': '\n', 'README.md': '#\n', LICENSE: 'MIT\n' };
    await putTarball(registry, packed({ 'package.json': JSON.stringify(pkg), ...files }));
    await putTarball(registry, packed({ 'package.json': JSON.stringify({ ...pkg, version: '1.1.0' }), ...files }), { tag: 'next' });
    const { problems } = await packumentProblems(registry, { name: pkg.name, pkg: { ...pkg, version: '1.1.0' } }, new Set());
    expect(problems).toEqual(['@t/tagged@1.1.0: dist-tags.latest is 1.0.0, not the version just released']);
  });
});

describe('a failing publish', () => {
  /** A two-package workspace released with the real `changeset publish`; @t/b is not built. */
  function workspaceWithUnbuilt(): string {
    const root = workspace('distkit-publish-fail-');
    write(root, 'package.json', JSON.stringify({ name: 'scratch', private: true, workspaces: ['packages/*'], scripts: { 'release:publish': 'changeset publish' } }));
    write(root, '.changeset/config.json', JSON.stringify({ changelog: false, commit: false, fixed: [], linked: [], access: 'public', baseBranch: 'main', updateInternalDependencies: 'patch', ignore: [] }));
    for (const p of ['a', 'b']) {
      const pkg = { name: `@t/${p}`, version: '1.0.0', license: 'MIT', main: './dist/index.js', files: ['dist'], scripts: { prepack: `node ${join(repo, 'tooling/scripts/require-build.mjs')}` } };
      write(root, `packages/${p}/package.json`, JSON.stringify(pkg));
    }
    write(root, 'packages/a/dist/index.js', 'module.exports = 1;\n');
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: root, stdio: 'pipe' });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-q', '-m', 'x');
    return root;
  }

  it('names the package and the command, publishes the rest, and a re-run after the fix finishes the job', async () => {
    const root = workspaceWithUnbuilt();
    const lines: string[] = [];
    const err = await publishRelease({ copy: root, registry, env, jsr: 'skip', log: (l: string) => lines.push(l) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect(err.pkg).toBe('@t/b');
    expect(err.command).toBe('npm run release:publish');
    expect(err.message).toContain('not on the registry afterwards: @t/b@1.0.0');
    expect(err.output).toContain('@t/b: refusing to pack an unbuilt package: dist/index.js is missing');
    const report = createReport(() => {}).describe(err);
    expect(report).toContain('package: @t/b');
    expect(report).toContain('command: npm run release:publish');
    expect(lines.join('\n')).toContain('✗ $ npm run release:publish');
    expect((await registry.packument('@t/a'))?.versions).toHaveProperty(['1.0.0']);
    expect(await registry.packument('@t/b')).toBeNull();

    write(root, 'packages/b/dist/index.js', 'module.exports = 2;\n');
    expect(await publishRelease({ copy: root, registry, env, jsr: 'skip', log: () => {} })).toEqual(['@t/b']);
    expect(execFileSync('git', ['tag', '-l'], { cwd: root, encoding: 'utf8' }).split('\n')).toEqual(expect.arrayContaining(['@t/a@1.0.0', '@t/b@1.0.0']));
  }, 90_000);
});
