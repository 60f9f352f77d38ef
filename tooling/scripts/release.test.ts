// The release machinery on throw-away workspaces: the versioning policy (wire, handshake and
// kernel move in lockstep) run through the real `changeset version` on copies of this
// repository's package manifests and changesets config, the deno.json version sync that must
// follow it, and the JSR dry-run check failing when a package could not be published to JSR.
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workspace as scratch, write } from './scratch.test-support.ts';
// @ts-expect-error plain .mjs scripts without declarations
import { exportsSyncProblems } from './check-exports-sync.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { denoPublishProblems } from './check-deno-publish.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { members } from './workspace.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { syncDenoVersions } from '../release/sync-deno-versions.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { lockstepProblems, versions } from '../release/lockstep.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { dependencyOrder } from '../release/dependency-order.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { expectedRelease } from '../release/expected-release.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { fixedGroups } from '../release/lockstep.mjs';

const repo = resolve(import.meta.dirname, '../..');
const PROTOCOL = ['@distkit/wire', '@distkit/handshake', '@distkit/kernel'];
const workspace = (): string => scratch('distkit-release-test-');
const json = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8'));

type Member = { dir: string; name: string; pkg: { version: string }; deno: { version: string; exports: unknown } | null };

/** This repository's manifests and changesets config, without any source: enough for changesets. */
function manifestsOnly(): string {
  const root = workspace();
  write(root, 'package.json', JSON.stringify({ name: 'x', private: true, workspaces: ['packages/*', 'apps/*'] }));
  cpSync(join(repo, '.changeset/config.json'), join(root, '.changeset/config.json'));
  for (const m of members(repo) as Member[]) {
    const rel = m.dir.slice(repo.length + 1);
    cpSync(join(m.dir, 'package.json'), join(root, rel, 'package.json'));
    if (m.deno) {
      cpSync(join(m.dir, 'deno.json'), join(root, rel, 'deno.json'));
      const targets = typeof m.deno.exports === 'string' ? [m.deno.exports] : Object.values((m.deno.exports ?? {}) as object);
      for (const t of targets as string[]) write(root, join(rel, t), 'export {};\n');
    }
  }
  return root;
}

function changesetVersion(root: string, bumps: Record<string, string>): void {
  const front = Object.entries(bumps).map(([n, b]) => `"${n}": ${b}`).join('\n');
  write(root, '.changeset/test-change.md', `---\n${front}\n---\n\nA change for the test.\n`);
  execFileSync(join(repo, 'node_modules/.bin/changeset'), ['version'], { cwd: root, stdio: 'pipe' });
}

describe('versioning policy: the protocol-coupled packages move in lockstep', () => {
  it.each([
    ['@distkit/handshake', 'patch'],
    ['@distkit/kernel', 'minor'],
  ])('a %s %s change releases wire, handshake and kernel together, at one version', (pkg, bump) => {
    const root = manifestsOnly();
    const before = versions(root) as Map<string, string>;
    changesetVersion(root, { [pkg]: bump });
    const after = versions(root) as Map<string, string>;
    const shipped = PROTOCOL.map((n) => after.get(n));
    expect(new Set(shipped).size).toBe(1);
    for (const n of PROTOCOL) expect(after.get(n)).not.toBe(before.get(n));
    expect(lockstepProblems(root, before)).toEqual([]);
    // Each of them gets a CHANGELOG.md entry for the shared version.
    for (const m of (members(root) as Member[]).filter((x) => PROTOCOL.includes(x.name))) {
      expect(readFileSync(join(m.dir, 'CHANGELOG.md'), 'utf8')).toContain(`## ${shipped[0]}`);
    }
    // changesets leaves deno.json behind; the sync brings JSR to the same versions.
    expect(exportsSyncProblems(root).join('\n')).toContain('but deno.json');
    const synced = syncDenoVersions(root) as { name: string; to: string }[];
    expect(synced.map((c) => c.name)).toEqual(expect.arrayContaining(PROTOCOL));
    expect(exportsSyncProblems(root)).toEqual([]);
  });

  it('the lockstep check catches a group released half-way or at split versions', () => {
    const root = manifestsOnly();
    const before = versions(root) as Map<string, string>;
    const kernel = join(root, 'packages/kernel/package.json');
    write(root, 'packages/kernel/package.json', JSON.stringify({ ...json(kernel), version: '9.9.9' }));
    const problems = (lockstepProblems(root, before) as string[]).join('\n');
    expect(problems).toContain('out of lockstep');
    expect(problems).toContain('released half-way: @distkit/kernel bumped');
  });
});

describe("the release rehearsal's reading of the policy (expected-release.mjs)", () => {
  // Two independent workings of one policy must agree on this repository: the rehearsal checks
  // what changesets released against expectedRelease, so a drift between them is caught here,
  // not by a red rehearsal.
  it.each([
    [{ '@distkit/handshake': 'patch' }],
    [{ '@distkit/kernel': 'minor' }],
    [{ '@distkit/detector': 'minor' }],
    [{ '@distkit/policy': 'patch', '@distkit/daemon': 'minor' }],
  ])('agrees with changeset version for %j', (bumps) => {
    const root = manifestsOnly();
    const expected = expectedRelease(members(root), fixedGroups(root), bumps) as Map<string, string>;
    changesetVersion(root, bumps);
    expect(Object.fromEntries(versions(root) as Map<string, string>)).toEqual(Object.fromEntries(expected));
  });

  it('moves a fixed group together, patches dependents, leaves the rest, ignores devDependencies', () => {
    const m = (name: string, deps: Record<string, string> = {}, dev: Record<string, string> = {}) => ({ name, pkg: { name, version: '0.3.0', dependencies: deps, devDependencies: dev } });
    const all = [m('w'), m('h', { w: '0.3.0' }), m('k', { w: '0.3.0', h: '0.3.0' }), m('p', { w: '0.3.0' }), m('alone'), m('tool', {}, { k: '0.3.0' }), m('app', { p: '0.3.0' })];
    const next = expectedRelease(all, [['w', 'h', 'k']], { h: 'patch' }) as Map<string, string>;
    expect(Object.fromEntries(next)).toEqual({ w: '0.3.1', h: '0.3.1', k: '0.3.1', p: '0.3.1', alone: '0.3.0', tool: '0.3.0', app: '0.3.1' });
    const minor = expectedRelease(all, [['w', 'h', 'k']], { k: 'minor', alone: 'patch' }) as Map<string, string>;
    expect(Object.fromEntries(minor)).toEqual({ w: '0.4.0', h: '0.4.0', k: '0.4.0', p: '0.3.1', alone: '0.3.1', tool: '0.3.0', app: '0.3.1' });
  });
});

describe('deno.json version sync', () => {
  it('copies package.json versions into deno.json, keeping every other field', () => {
    const root = workspace();
    write(root, 'packages/a/package.json', JSON.stringify({ name: '@t/a', version: '2.0.0', exports: { '.': {} } }));
    write(root, 'packages/a/deno.json', `${JSON.stringify({ name: '@t/a', version: '1.0.0', exports: { '.': './src/index.ts' }, publish: { exclude: ['dist/'] } }, null, 2)}\n`);
    write(root, 'packages/a/src/index.ts', 'export {};\n');
    write(root, 'packages/b/package.json', JSON.stringify({ name: '@t/b', version: '1.0.0', private: true }));
    expect(syncDenoVersions(root)).toEqual([{ name: '@t/a', from: '1.0.0', to: '2.0.0' }]);
    expect(json(join(root, 'packages/a/deno.json'))).toEqual({ name: '@t/a', version: '2.0.0', exports: { '.': './src/index.ts' }, publish: { exclude: ['dist/'] } });
    expect(existsSync(join(root, 'packages/b/deno.json'))).toBe(false);
    expect(exportsSyncProblems(root)).toEqual([]);
    expect(syncDenoVersions(root)).toEqual([]);
  });
});

describe('publish order', () => {
  it('puts every package after its workspace dependencies, and this repository has no cycle', () => {
    const order = (dependencyOrder(members(repo)) as Member[]).map((m) => m.name);
    const at = (n: string): number => order.indexOf(n);
    for (const m of members(repo) as (Member & { pkg: { dependencies?: Record<string, string> } })[]) {
      for (const dep of Object.keys(m.pkg.dependencies ?? {})) if (order.includes(dep)) expect(at(dep)).toBeLessThan(at(m.name));
    }
    const a = { name: 'a', pkg: { dependencies: { b: '1' } } };
    const b = { name: 'b', pkg: { dependencies: { a: '1' } } };
    expect(() => dependencyOrder([a, b])).toThrow('dependency cycle');
  });
});

describe('deno publish --dry-run check', () => {
  function jsrWorkspace(extra: (root: string) => void): string {
    const root = workspace();
    write(root, 'deno.json', JSON.stringify({ workspace: ['./packages/ok', './packages/other'] }));
    for (const p of ['ok', 'other']) {
      write(root, `packages/${p}/package.json`, JSON.stringify({ name: `@t/${p}`, version: '1.0.0' }));
      write(root, `packages/${p}/deno.json`, JSON.stringify({ name: `@t/${p}`, version: '1.0.0', license: 'MIT', exports: './mod.ts' }));
      write(root, `packages/${p}/mod.ts`, 'export function double(x: number): number {\n  return 2 * x;\n}\n');
    }
    extra(root);
    return root;
  }
  const check = (root: string): string[] => denoPublishProblems(root, { tools: repo, log: () => {} });

  it('passes a publishable workspace', () => {
    expect(check(jsrWorkspace(() => {}))).toEqual([]);
  });

  it('fails on a slow type in the public API', () => {
    const problems = check(jsrWorkspace((root) => write(root, 'packages/other/mod.ts', 'export function double(x: number) {\n  return 2 * x;\n}\n')));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('deno publish --dry-run failed');
    expect(problems[0]).toContain('missing-explicit-return-type');
  });

  it('fails when an npm package would not reach JSR, or would reach it at another version', () => {
    const problems = check(
      jsrWorkspace((root) => {
        write(root, 'packages/other/package.json', JSON.stringify({ name: '@t/other', version: '1.1.0' }));
        // A new package added to npm's workspaces but forgotten in the root deno.json.
        write(root, 'packages/new/package.json', JSON.stringify({ name: '@t/new', version: '1.0.0' }));
        write(root, 'packages/new/deno.json', JSON.stringify({ name: '@t/new', version: '1.0.0', license: 'MIT', exports: './mod.ts' }));
        write(root, 'packages/new/mod.ts', 'export const x = 1;\n');
      }),
    );
    expect(problems).toEqual([
      '@t/new: ships to npm but deno publish would not publish it to JSR (no deno.json in the deno workspace, or no name/exports in it)',
      '@t/other: JSR would get version 1.0.0, npm 1.1.0',
    ]);
  });
});
