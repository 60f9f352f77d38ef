// `npm run release:rehearse` (the last part of `npm test`): two real releases, published to a
// real npm registry on loopback and installed from it the way users install distkit.
//
//  1. a registry: Verdaccio, storage in a temp folder, no uplink, seeded with the exact
//     third-party versions of package-lock.json (local-registry.mjs, seed-registry.mjs);
//  2. a throw-away copy of the repository as `git add -A` would commit it, made a git repository
//     (changesets tags releases); the developer's checkout is never touched;
//  3. release N: the real root scripts `npm run release:version` and `npm run release:publish`,
//     pointed at the registry by configuration only (npm_config_registry, a userconfig with the
//     publishing token; DISTKIT_JSR_PUBLISH=dry-run, since JSR has no local stand-in: JSR's
//     checks run at the new versions, nothing is uploaded);
//  4. a fresh project outside the repository installs @distkit/kernel as its README says and runs
//     the README's example as written there: ESM, CommonJS, and a strict type-check as .mts;
//  5. `npm i -g @distkit/daemon` into a temp prefix; two distkitd processes link;
//  6. Deno runs the same example from npm:@distkit/kernel@N through the registry
//     (NPM_CONFIG_REGISTRY), with the permissions the README states;
//  7. release N+1: a patch changeset to @distkit/handshake alone; the versions must be what the
//     policy says (expected-release.mjs), then published (DISTKIT_JSR_PUBLISH=skip: only the
//     versions differ from N's dry run, and it would cost 15-25 s);
//  8. the fresh project upgrades with `npm update`, the global daemon with `npm update -g`, and
//     both still run;
//  9. every package as the registry serves it: dist-tags, engines, exports, types, license,
//     bin, pins, tarball contents (packument-audit.mjs).
//
// Each step prints its commands and times; a failure names the step, the package and the
// command. `-- --keep` keeps the temp folder (registry storage, the copy, the projects).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { userNpmEnv } from '../scripts/npm-env.mjs';
import { members, publishable } from '../scripts/workspace.mjs';
import { linkTwoDaemons } from './daemon-pair.mjs';
import { dependencyOrder } from './dependency-order.mjs';
import { expectedRelease } from './expected-release.mjs';
import { installVerdaccio, startRegistry } from './local-registry.mjs';
import { fixedGroups } from './lockstep.mjs';
import { packumentProblems } from './packument-audit.mjs';
import { readmeExample } from './readme-example.mjs';
import { gitIn, publishRelease, versionRelease } from './release-steps.mjs';
import { seedRegistry } from './seed-registry.mjs';
import { CheckFailed, createReport, run } from './step-report.mjs';
import { copyRepository } from './throwaway-copy.mjs';

const repo = resolve(import.meta.dirname, '../..');
if (!existsSync(join(repo, 'node_modules', '.bin', 'changeset'))) {
  console.error('release rehearsal: run `npm ci` at the repository root first (it uses the workspace tools: changeset, turbo, tsc, deno)');
  process.exit(1);
}
const keep = process.argv.includes('--keep');
const bin = join(repo, 'node_modules', '.bin');
const work = mkdtempSync(join(tmpdir(), 'distkit-rehearsal-'));
const copy = join(work, 'repo');
const app = join(work, 'app');
const denoApp = join(work, 'deno-app');
const prefix = join(work, 'global');
const report = createReport();
const log = report.log;
const KERNEL = '@distkit/kernel';
const DAEMON = '@distkit/daemon';

const git = gitIn(copy);

/** The example's output, as the README promises it. */
function expectExampleOutput(out, what) {
  const problems = [];
  // Node quotes strings with ', Deno with ".
  if (!/alpha says \{ hello: (['"])from alpha\1/.test(out)) problems.push(`${what}: the message did not arrive (no "alpha says { hello: 'from alpha'" in the output)`);
  if (!/alpha sees \[ (['"])beta\1 \]/.test(out)) problems.push(`${what}: alpha does not list beta (no "alpha sees [ 'beta' ]" in the output)`);
  if (problems.length > 0) throw new CheckFailed(problems, { command: what, output: out });
}

/** name -> version of each @distkit package installed in `project`'s node_modules. */
function installedDistkit(project) {
  const scope = join(project, 'node_modules', '@distkit');
  if (!existsSync(scope)) return new Map();
  return new Map(readdirSync(scope).map((d) => [`@distkit/${d}`, JSON.parse(readFileSync(join(scope, d, 'package.json'), 'utf8')).version]));
}

function expectInstalled(project, expected, after) {
  const got = installedDistkit(project);
  const problems = [...expected].filter(([n, v]) => got.get(n) !== v).map(([n, v]) => `${n}: ${after} installed ${got.get(n) ?? 'nothing'}, expected ${v}`);
  if (problems.length > 0) throw new CheckFailed(problems, { command: after });
  return got;
}

let registry;
let env; // every command after the seeding: the registry for everything, a cache of its own
let failed = false;
try {
  const readme = readmeExample(readFileSync(join(repo, 'packages/kernel/README.md'), 'utf8'));

  await report.step('registry: Verdaccio on 127.0.0.1, storage in a temp folder, no uplink', async () => {
    const t0 = performance.now();
    const { dir, installed } = installVerdaccio(repo);
    log(`  Verdaccio ${installed ? `installed with npm ci from tooling/release/registry (${((performance.now() - t0) / 1000).toFixed(1)} s)` : 'from the cache'}: ${dir}`);
    registry = await startRegistry({ work: join(work, 'registry'), installDir: dir });
    const seeded = await seedRegistry(registry, { repo });
    log(`  ${registry.url}: seeded ${seeded.length} third-party package versions from package-lock.json (npm pack, integrity checked)`);
    env = userNpmEnv({
      ...registry.env,
      npm_config_cache: join(work, 'npm-cache'),
      npm_config_provenance: 'false', // a local registry takes no provenance; the real release has it
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      TURBO_TELEMETRY_DISABLED: '1',
      DO_NOT_TRACK: '1',
      DENO_DIR: join(work, 'deno-dir'),
      DENO_NO_UPDATE_CHECK: '1',
    });
    // No uplink: a package it was not given is a 404, not a fetch from npmjs.org.
    if ((await registry.packument('left-pad')) !== null) throw new CheckFailed(['the registry served left-pad, which it was never given: it has an uplink']);
  });

  const shipping = () => dependencyOrder(publishable(copy));

  await report.step('throw-away copy of the repository, as a git repository', async () => {
    mkdirSync(copy);
    log(`  ${copyRepository(repo, copy)} files (tracked + untracked, not ignored) -> ${copy}`);
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'rehearsal: the working tree');
    const pending = readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    log(`  ${pending.length} pending changeset(s)`);
  });

  /** `npm run release:version` + `npm run release:publish` in the copy; the registry must then have every version. */
  const release = async (jsr) => {
    const r = await versionRelease({ repo, copy, env, log });
    await publishRelease({ copy, registry, env, jsr, log });
    return r;
  };

  const shown = (r) =>
    shipping()
      .map((m) => `${m.name}@${r.after.get(m.name)}${r.before.get(m.name) === r.after.get(m.name) ? ' (unchanged)' : ''}`)
      .join(', ');

  const first = await report.step('release N: npm run release:version, npm run release:publish (the registry by configuration; JSR: dry run)', async () => {
    const r = await release('dry-run');
    log(`  published: ${shown(r)}`);
    return r;
  });
  const n = first.after;
  const kernelN = n.get(KERNEL);

  await report.step(`a fresh project: \`${readme.npmInstall.join(' ')}\`, the README example as .mjs, .cjs and strict .mts`, async () => {
    mkdirSync(app);
    await run('npm', ['init', '-y'], { cwd: app, env, pkg: KERNEL });
    await run(readme.npmInstall[0], readme.npmInstall.slice(1), { cwd: app, env, pkg: KERNEL });
    const got = expectInstalled(app, new Map(readme.npmInstall.filter((a) => a.startsWith('@distkit/')).map((p) => [p, n.get(p)])), readme.npmInstall.join(' '));
    log(`  installed from the registry: ${[...got].map(([k, v]) => `${k}@${v}`).join(', ')}`);
    writeFileSync(join(app, 'example.mjs'), readme.esm);
    writeFileSync(join(app, 'example.cjs'), readme.cjs);
    writeFileSync(join(app, 'example.mts'), readme.esm);
    expectExampleOutput((await run('node', ['example.mjs'], { cwd: app, env, pkg: KERNEL, timeoutMs: 30_000 })).out, 'node example.mjs');
    expectExampleOutput((await run('node', ['example.cjs'], { cwd: app, env, pkg: KERNEL, timeoutMs: 30_000 })).out, 'node example.cjs');
    // The published declarations, as a strict TypeScript user compiles against them (tsc and
    // @types/node from this repository: the project itself installs only what the README says).
    const tsc = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022', '--typeRoots', join(repo, 'node_modules/@types'), '--types', 'node', 'example.mts'];
    await run(join(bin, 'tsc'), tsc, { cwd: app, env, pkg: KERNEL, show: `tsc ${tsc.slice(0, 10).join(' ')} ... example.mts` });
  });

  await report.step(`npm i -g ${DAEMON} into a temp prefix; two distkitd processes link`, async () => {
    const genv = { ...env, npm_config_prefix: prefix };
    await run('npm', ['i', '-g', DAEMON], { cwd: work, env: genv, pkg: DAEMON });
    const v = (await run(join(prefix, 'bin', 'distkitd'), ['--version'], { cwd: work, env, pkg: DAEMON })).stdout.trim();
    if (v !== `distkitd ${n.get(DAEMON)}`) throw new CheckFailed([`${DAEMON}: distkitd --version printed "${v}", expected "distkitd ${n.get(DAEMON)}"`]);
    await linkTwoDaemons({ prefix, work: join(work, 'daemons'), env, log });
  });

  await report.step(`Deno: the README example from npm:${KERNEL}@${kernelN} through the registry (NPM_CONFIG_REGISTRY)`, async () => {
    mkdirSync(denoApp);
    // Deno holds back npm versions published less than 24 h ago (its minimum dependency age).
    // Everything on this registry is minutes old (ours, and the seeded packages, dated by their
    // seeding), so this project turns that off; right after a real release, users meet the rule
    // (docs/releasing.md, section 7).
    writeFileSync(join(denoApp, 'deno.json'), `${JSON.stringify({ minimumDependencyAge: 0 }, null, 2)}\n`);
    const deno = join(bin, 'deno');
    const add = readme.denoAdd.slice(2).map((spec) => `${spec}@${n.get(spec.replace(/^npm:/, ''))}`);
    await run(deno, ['add', ...add], { cwd: denoApp, env, pkg: KERNEL, show: `deno add ${add.join(' ')}` });
    writeFileSync(join(denoApp, 'example.mjs'), readme.esm);
    const out = (await run(deno, ['run', ...readme.denoPermissions, 'example.mjs'], { cwd: denoApp, env, pkg: KERNEL, timeoutMs: 60_000, show: `deno run ${readme.denoPermissions.join(' ')} example.mjs` })).out;
    expectExampleOutput(out, `deno run ${readme.denoPermissions.join(' ')} example.mjs`);
  });

  const second = await report.step('release N+1: a patch changeset to @distkit/handshake alone (JSR: skipped)', async () => {
    writeFileSync(join(copy, '.changeset', 'rehearsal-handshake-patch.md'), '---\n"@distkit/handshake": patch\n---\n\nRehearsal: a handshake fix.\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'rehearsal: a handshake patch');
    const expected = expectedRelease(members(copy), fixedGroups(copy), { '@distkit/handshake': 'patch' });
    // JSR was dry-run at N already; N+1 changes only versions there, so skip it to save time.
    const r = await release('skip');
    const wrong = [...expected].filter(([name, v]) => r.after.get(name) !== v).map(([name, v]) => `${name}: released ${r.before.get(name)} -> ${r.after.get(name)}, the policy says ${v}`);
    if (wrong.length > 0) throw new CheckFailed(wrong, { command: 'npm run release:version' });
    log(`  published: ${shown(r)}`);
    log('  (as the policy says: the fixed group together; each package whose pinned workspace dependency moved, a patch)');
    return r;
  });
  const n1 = second.after;

  await report.step('the fresh project upgrades: npm update, and npm update -g for the daemon; both still run', async () => {
    await run('npm', ['update'], { cwd: app, env, pkg: KERNEL });
    const want = new Map([...installedDistkit(app).keys()].map((name) => [name, n1.get(name)]));
    const got = expectInstalled(app, want, 'npm update');
    log(`  now: ${[...got].map(([k, v]) => `${k}@${v}`).join(', ')}`);
    expectExampleOutput((await run('node', ['example.mjs'], { cwd: app, env, pkg: KERNEL, timeoutMs: 30_000 })).out, 'node example.mjs (after npm update)');
    expectExampleOutput((await run('node', ['example.cjs'], { cwd: app, env, pkg: KERNEL, timeoutMs: 30_000 })).out, 'node example.cjs (after npm update)');
    await run('npm', ['update', '-g', DAEMON], { cwd: work, env: { ...env, npm_config_prefix: prefix }, pkg: DAEMON });
    const v = (await run(join(prefix, 'bin', 'distkitd'), ['--version'], { cwd: work, env, pkg: DAEMON })).stdout.trim();
    if (v !== `distkitd ${n1.get(DAEMON)}`) throw new CheckFailed([`${DAEMON}: after npm update -g, distkitd --version printed "${v}", expected "distkitd ${n1.get(DAEMON)}"`]);
    log(`  ${v}`);
  });

  await report.step('what the registry shows: dist-tags, engines, exports, types, license, pins, tarball files', async () => {
    const shipped = new Set(shipping().flatMap((m) => [`${m.name}@${n.get(m.name)}`, `${m.name}@${n1.get(m.name)}`]));
    const rows = [['package', 'dist-tags', 'versions', 'engines.node', 'license', 'latest tarball']];
    const problems = [];
    for (const m of shipping()) {
      const r = await packumentProblems(registry, m, shipped);
      problems.push(...r.problems);
      if (r.row) rows.push(r.row);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
    for (const r of rows) log(`  ${r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()}`);
    for (const m of members(copy).filter((x) => x.pkg.private === true)) {
      if (await registry.packument(m.name)) problems.push(`${m.name} is private but is on the registry`);
    }
    if (problems.length > 0) throw new CheckFailed(problems);
  });
} catch (err) {
  failed = true;
  console.error(`\n${report.describe(err)}`);
  if (registry) console.error(`registry log (end):\n${registry.log().split('\n').slice(-15).join('\n')}`);
} finally {
  await registry?.stop();
  if (keep) log(`\n(kept ${work})`);
  else rmSync(work, { recursive: true, force: true });
}

log(`\n${report.summary()}`);
if (failed) process.exitCode = 1;
else log('✓ release rehearsal: published twice to a local registry, installed, upgraded and run on Node and Deno');
