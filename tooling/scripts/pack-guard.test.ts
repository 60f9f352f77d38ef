// The prepack guard, on the real manifests: a copy of a published package's package.json (and
// the guard it names, at the same relative place) refuses `npm pack` until every file it
// promises exists, naming the package, the missing files and the command to run. And the
// repository checks that keep the guard (and the LICENSE) on every published package.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workspace, write } from './scratch.test-support.ts';
// @ts-expect-error plain .mjs scripts without declarations
import { packGuardProblems } from './check-pack-guard.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { licenseProblems } from './check-license.mjs';

const repo = resolve(import.meta.dirname, '../..');

/** A scratch repository holding the guard and a copy of `dir`'s package.json and README. */
function layout(dir: string): { root: string; pkg: string } {
  const root = workspace('distkit-pack-guard-');
  for (const f of ['require-build.mjs', 'entry-points.mjs']) cpSync(join(repo, 'tooling/scripts', f), join(root, 'tooling/scripts', f));
  for (const f of ['package.json', 'README.md']) cpSync(join(repo, dir, f), join(root, dir, f));
  return { root, pkg: join(root, dir) };
}

const pack = (cwd: string) => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
};

describe('prepack guard', () => {
  it('refuses to pack @distkit/kernel unbuilt, naming it, what is missing and what to run', () => {
    const { pkg } = layout('packages/kernel');
    const r = pack(pkg);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('@distkit/kernel: refusing to pack an unbuilt package: dist/index.cjs, dist/index.d.cts, dist/index.d.ts, dist/index.js are missing');
    expect(r.out).toContain('Run `npm run build` at the repository root first.');
  });

  it('still refuses a half build, naming only what is left', () => {
    const { pkg } = layout('packages/kernel');
    for (const f of ['dist/index.js', 'dist/index.cjs']) write(pkg, f, 'export {};\n');
    const r = pack(pkg);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('@distkit/kernel: refusing to pack an unbuilt package: dist/index.d.cts, dist/index.d.ts are missing');
  });

  it('covers the bin of @distkit/daemon too', () => {
    const { pkg } = layout('apps/daemon');
    const r = pack(pkg);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/@distkit\/daemon: refusing to pack an unbuilt package: .*bin\/distkitd\.js/);
  });

  it('lets a built package pack, with its build in the tarball', () => {
    const { pkg } = layout('packages/kernel');
    for (const f of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) write(pkg, f, 'export {};\n');
    const r = pack(pkg);
    expect(r.status, r.out).toBe(0);
    const files = (JSON.parse(r.stdout.slice(r.stdout.search(/^\[/m)))[0].files as { path: string }[]).map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'package.json']));
  });
});

describe('repository checks', () => {
  function twoPackages(root: string, prepack: string | undefined): void {
    write(root, 'tooling/scripts/require-build.mjs', '');
    write(root, 'LICENSE', 'MIT License\n');
    for (const p of ['a', 'b']) {
      const scripts = p === 'b' && prepack === undefined ? {} : { prepack: p === 'a' ? 'node ../../tooling/scripts/require-build.mjs' : prepack };
      write(root, `packages/${p}/package.json`, JSON.stringify({ name: `@t/${p}`, version: '1.0.0', scripts }));
      write(root, `packages/${p}/LICENSE`, 'MIT License\n');
    }
    write(root, 'packages/secret/package.json', JSON.stringify({ name: '@t/secret', private: true }));
  }

  it('this repository: every published package has the guard and the LICENSE', () => {
    expect(packGuardProblems(repo)).toEqual([]);
    expect(licenseProblems(repo)).toEqual([]);
  });

  it('fails a published package without the guard, or with another prepack, and passes private ones', () => {
    const missing = workspace();
    twoPackages(missing, undefined);
    expect(packGuardProblems(missing)).toEqual(['@t/b: scripts.prepack must be "node ../../tooling/scripts/require-build.mjs" (got null), so it cannot be packed unbuilt']);
    const other = workspace();
    twoPackages(other, 'tsup');
    expect(packGuardProblems(other)).toEqual(['@t/b: scripts.prepack must be "node ../../tooling/scripts/require-build.mjs" (got "tsup"), so it cannot be packed unbuilt']);
  });

  it('fails a published package whose LICENSE is missing or differs from the root one', () => {
    const root = workspace();
    twoPackages(root, 'node ../../tooling/scripts/require-build.mjs');
    expect(licenseProblems(root)).toEqual([]);
    write(root, 'packages/a/LICENSE', 'MIT License, abridged\n');
    rmSync(join(root, 'packages/b/LICENSE'));
    expect(licenseProblems(root)).toEqual(['@t/a: LICENSE differs from the repository\'s LICENSE', "@t/b: no LICENSE file (copy the repository's LICENSE)"]);
  });
});
