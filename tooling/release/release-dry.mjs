// `npm run release:dry`: the whole release, rehearsed on a throw-away copy of the repository,
// publishing nothing. The copy holds what `git add -A` would commit (tracked files plus new
// untracked ones, so a changeset you just wrote counts) and borrows node_modules through
// symlinks. In the copy: `npm run release:version` (changeset version, deno.json versions synced,
// lock file updated), the fixed groups checked for lockstep, a build, the tarball installs of
// `npm test` on the new versions, `npm publish --dry-run` per package, `deno publish --dry-run`
// per package; then a table of what would ship and one of the CHANGELOG.md files changesets wrote.
//   npm run release:dry [-- --keep]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { exportsSyncProblems } from '../scripts/check-exports-sync.mjs';
import { tarballProblems } from '../scripts/check-tarballs.mjs';
import { userNpmEnv } from '../scripts/npm-env.mjs';
import { members, publishable } from '../scripts/workspace.mjs';
import { dependencyOrder } from './dependency-order.mjs';
import { jsrPublish } from './jsr-publish.mjs';
import { fixedGroups, lockstepProblems, versions } from './lockstep.mjs';
import { copyRepository, linkNodeModules } from './throwaway-copy.mjs';

const repo = resolve(import.meta.dirname, '../..');
const keep = process.argv.includes('--keep');
const failures = [];
const step = (title) => console.log(`\n── ${title}`);

function run(cmd, args, cwd, env = userNpmEnv()) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  return { ok: r.status === 0, stdout: r.stdout ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}`, status: r.status ?? r.signal };
}

function must(what, r) {
  if (r.ok) return r;
  console.error(r.out.trim());
  throw new Error(`${what} failed (exit ${r.status})`);
}

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r, j) => {
    const line = r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
    return j === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

const t0 = performance.now();
const copy = mkdtempSync(join(tmpdir(), 'distkit-release-'));
try {
  step(`copy of ${repo} -> ${copy}`);
  console.log(`${copyRepository(repo, copy)} files (tracked + untracked, not ignored)`);
  const pending = existsSync(join(copy, '.changeset'))
    ? readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md')
    : [];
  console.log(`${pending.length} pending changeset(s): ${pending.join(', ') || '(none)'}`);
  const before = versions(copy);

  step('npm run release:version (changeset version, sync deno.json versions, update package-lock.json)');
  // Runs before node_modules exists in the copy: `npm install --package-lock-only` then has no
  // tree to touch, so it can never write through the symlinks into the real node_modules.
  const bin = join(repo, 'node_modules', '.bin');
  const version = must(
    'npm run release:version',
    run('npm', ['run', '--silent', 'release:version'], copy, userNpmEnv({ PATH: `${bin}:${process.env.PATH}`, npm_config_prefer_offline: 'true' })),
  );
  console.log(version.out.trim());

  step('lockstep of the fixed groups (.changeset/config.json)');
  const after = versions(copy);
  const lockstep = lockstepProblems(copy, before);
  for (const group of fixedGroups(copy)) {
    const vs = group.map((n) => `${n}@${before.get(n)}->${after.get(n)}`);
    console.log(`fixed [${vs.join(', ')}]`);
  }
  if (lockstep.length > 0) failures.push(...lockstep);
  console.log(lockstep.length === 0 ? '✓ every fixed group moved in lockstep' : lockstep.map((p) => `✗ ${p}`).join('\n'));
  const sync = exportsSyncProblems(copy);
  if (sync.length > 0) failures.push(...sync);
  console.log(sync.length === 0 ? '✓ package.json and deno.json agree (names, versions, entry points)' : sync.map((p) => `✗ ${p}`).join('\n'));

  step('build (turbo, in the copy)');
  linkNodeModules(repo, copy);
  must('build', run(join(copy, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--output-logs=errors-only'], copy));
  console.log('✓ built');

  step('the tarballs of the new versions, each installed on its own (as in npm test)');
  const installs = await tarballProblems(copy, { tools: copy });
  failures.push(...installs);
  if (installs.length > 0) console.log(installs.map((p) => `✗ ${p}`).join('\n'));

  step('npm publish --dry-run, per package');
  const ship = dependencyOrder(publishable(copy));
  const npm = new Map();
  for (const m of ship) {
    const r = run('npm', ['publish', '--dry-run', '--json', '--loglevel=error'], m.dir);
    let info = null;
    try {
      const parsed = JSON.parse(r.stdout.slice(r.stdout.search(/^\{/m)));
      info = parsed[m.name] ?? parsed;
    } catch {}
    if (!r.ok || !info?.filename) {
      failures.push(`${m.name}: npm publish --dry-run failed (exit ${r.status})`);
      console.log(`✗ ${m.name}\n${r.out.trim()}`);
      continue;
    }
    npm.set(m.name, info);
    console.log(`✓ ${info.id}: ${info.filename}, ${(info.size / 1024).toFixed(1)} kB, ${info.files.length} files`);
  }

  step('deno publish --dry-run, per package');
  const jsr = new Map(jsrPublish(copy, ['--dry-run', '--allow-dirty']).map((r) => [r.name, r]));
  for (const m of ship) if (!jsr.get(m.name)?.ok) failures.push(`${m.name}: deno publish --dry-run failed`);

  step('what would ship');
  const groupOf = new Map(fixedGroups(copy).flatMap((g, i) => g.map((n) => [n, `fixed #${i + 1}`])));
  const rows = [['package', 'now', 'would ship', 'npm tarball', 'jsr', 'policy']];
  for (const m of dependencyOrder(members(copy))) {
    const was = before.get(m.name);
    const is = after.get(m.name);
    const shipped = m.pkg.private !== true;
    const n = npm.get(m.name);
    const j = jsr.get(m.name);
    rows.push([
      m.name,
      was,
      shipped ? (is === was ? `${is} (unchanged)` : is) : `${is} (private, not published)`,
      n ? `${(n.size / 1024).toFixed(1)} kB, ${n.files.length} files` : '-',
      j?.ok ? `${j.files} files` : '-',
      groupOf.get(m.name) ?? 'independent',
    ]);
  }
  console.log(table(rows));

  const logs = members(copy).filter((m) => existsSync(join(m.dir, 'CHANGELOG.md')));
  if (logs.length > 0) {
    // The first fixed-group package in the config's order (the wire format, usually) carries the
    // protocol's own entries rather than only "Updated dependencies".
    const first = fixedGroups(copy).flat().map((n) => logs.find((m) => m.name === n)).find(Boolean);
    const shown = first ?? logs[0];
    step(`CHANGELOG.md written by changesets: ${logs.map((m) => relative(copy, join(m.dir, 'CHANGELOG.md'))).join(', ')}`);
    console.log(`${relative(copy, join(shown.dir, 'CHANGELOG.md'))}:\n`);
    console.log(readFileSync(join(shown.dir, 'CHANGELOG.md'), 'utf8').trim());
  }
} catch (err) {
  failures.push(err.message);
} finally {
  if (keep) console.log(`\n(copy kept at ${copy})`);
  else rmSync(copy, { recursive: true, force: true });
}

const took = ((performance.now() - t0) / 1000).toFixed(1);
if (failures.length > 0) {
  console.error(`\n✗ release dry run failed (${took} s):\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exitCode = 1;
} else {
  console.log(`\n✓ release dry run complete in ${took} s; nothing was published`);
}
