// Publishes the npm-published packages to JSR, one `deno publish` per package, dependencies
// first (JSR refuses a package whose jsr: imports are not on JSR yet). Package by package rather
// than one workspace-wide `deno publish`, because the Deno workspace also holds private members
// (the simulator) that a workspace-wide publish would upload. Versions already on JSR are
// skipped by deno itself, so a re-run after a partial failure is safe. Extra arguments go to
// every `deno publish` (`--dry-run`, `--allow-dirty`, ...). On GitHub Actions with
// `permissions: id-token: write` deno authenticates with OIDC and publishes with provenance.
//   node tooling/release/jsr-publish.mjs [--dry-run] [--allow-dirty] [--root <dir>]
// `npm run release:publish` ends with this script; DISTKIT_JSR_PUBLISH changes what it does
// without editing that script, for a rehearsal against a local npm registry (JSR has no local
// stand-in): `publish` (the default), `dry-run` (adds --dry-run --allow-dirty: JSR's checks at
// the new versions, nothing uploaded) or `skip`.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publishable } from '../scripts/workspace.mjs';
import { dependencyOrder } from './dependency-order.mjs';

/** Runs `deno publish ...args` in each package; stops at the first failure. */
export function jsrPublish(root, args, { tools = root, log = console.log } = {}) {
  const deno = join(tools, 'node_modules', '.bin', 'deno');
  const results = [];
  for (const m of dependencyOrder(publishable(root))) {
    const t0 = performance.now();
    const r = spawnSync(deno, ['publish', ...args], {
      cwd: m.dir,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const files = (out.match(/^\s+file:\/\//gm) ?? []).length;
    const ok = r.status === 0;
    results.push({ name: m.name, version: m.deno?.version, ok, files, out });
    log(`  ${ok ? '✓' : '✗'} deno publish ${args.join(' ')} ${m.name}@${m.deno?.version}: ${ok ? `${files} files` : 'FAILED'} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    if (!ok) {
      log(out.trim().split('\n').filter((l) => !/^\s+file:\/\//.test(l)).slice(-30).map((l) => `      ${l}`).join('\n'));
      break;
    }
  }
  return results;
}

/** The extra `deno publish` arguments DISTKIT_JSR_PUBLISH asks for, or null to skip JSR. */
export function jsrModeArgs(mode = 'publish') {
  if (mode === 'publish') return [];
  if (mode === 'dry-run') return ['--dry-run', '--allow-dirty'];
  if (mode === 'skip') return null;
  throw new Error(`DISTKIT_JSR_PUBLISH must be publish, dry-run or skip (got ${JSON.stringify(mode)})`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--root');
  const root = at >= 0 ? resolve(args.splice(at, 2)[1]) : process.cwd();
  const mode = process.env.DISTKIT_JSR_PUBLISH || 'publish';
  let extra;
  try {
    extra = jsrModeArgs(mode);
  } catch (err) {
    console.error(`jsr-publish: ${err.message}`);
    process.exit(78);
  }
  if (extra === null) {
    console.log('JSR: skipped (DISTKIT_JSR_PUBLISH=skip); nothing published to JSR');
  } else {
    if (mode !== 'publish') console.log(`JSR: ${mode} (DISTKIT_JSR_PUBLISH=${mode}); nothing is uploaded`);
    const results = jsrPublish(root, [...args, ...extra.filter((a) => !args.includes(a))]);
    if (results.some((r) => !r.ok)) process.exitCode = 1;
  }
}
