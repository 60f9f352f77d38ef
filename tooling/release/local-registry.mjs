// A real npm registry on loopback for release rehearsals: Verdaccio, its storage in a temp
// folder, no uplink (a package it was not given is a 404, so nothing is fetched from elsewhere
// and nothing already on npmjs.org can mix in), anyone may read, a user created on start may
// publish.
//
// Verdaccio is a large tree (327 packages, ~60 MB) that no one but the rehearsal needs, so it is
// not a devDependency: tooling/release/registry/ has its own package.json and lock file (6.8.0,
// the last release that supports Node 20; it needs node-fetch pinned to 2.7.0 because
// verdaccio-audit asks for the `cjs` dist-tag, which npm no longer has), installed with
// `npm ci` on first use into node_modules/.cache/distkit-rehearsal-registry/<hash of the lock>,
// so `npm ci` at the root stays as it was and a changed lock file installs afresh.
//
// By hand: `node tooling/release/local-registry.mjs` starts one and prints the configuration
// that points npm and Deno at it (docs/releasing.md).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { userNpmEnv } from '../scripts/npm-env.mjs';

const SOURCE = join(import.meta.dirname, 'registry');

/**
 * Installs Verdaccio from tooling/release/registry's lock file into the cache folder of the
 * repository at `repo`, unless that exact lock file is installed there already. Concurrent
 * callers each install into their own folder and the first rename wins.
 */
export function installVerdaccio(repo) {
  const manifest = readFileSync(join(SOURCE, 'package.json'));
  const lock = readFileSync(join(SOURCE, 'package-lock.json'));
  const key = createHash('sha256').update(manifest).update(lock).digest('hex').slice(0, 16);
  const base = join(repo, 'node_modules', '.cache', 'distkit-rehearsal-registry');
  const dir = join(base, key);
  if (existsSync(join(dir, 'node_modules', 'verdaccio', 'package.json'))) return { dir, installed: false };
  mkdirSync(base, { recursive: true });
  for (const old of readdirSync(base)) if (!old.includes('.tmp-') && old !== key) rmSync(join(base, old), { recursive: true, force: true });
  const temp = `${dir}.tmp-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  copyFileSync(join(SOURCE, 'package.json'), join(temp, 'package.json'));
  copyFileSync(join(SOURCE, 'package-lock.json'), join(temp, 'package-lock.json'));
  // Verdaccio's tree has no install scripts; --ignore-scripts keeps it that way.
  const args = ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
  const r = spawnSync('npm', args, { cwd: temp, env: userNpmEnv(), encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(temp, { recursive: true, force: true });
    throw new Error(`installing Verdaccio failed: \`npm ${args.join(' ')}\` in a copy of tooling/release/registry (exit ${r.status ?? r.signal}):\n${`${r.stdout}${r.stderr}`.trim()}`);
  }
  try {
    renameSync(temp, dir);
  } catch {
    rmSync(temp, { recursive: true, force: true }); // another process installed it meanwhile
  }
  return { dir, installed: true };
}

function config(work) {
  // YAML, but every value is JSON (a subset of YAML), so no quoting question arises.
  const q = JSON.stringify;
  return [
    `storage: ${q(join(work, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${q(join(work, 'htpasswd'))}`,
    'uplinks: {}',
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    unpublish: $authenticated',
    'web:',
    '  enable: false',
    'max_body_size: 200mb',
    'log:',
    '  type: file',
    `  path: ${q(join(work, 'verdaccio.log'))}`,
    '  level: http',
    '',
  ].join('\n');
}

const USER = 'rehearsal';

/**
 * Starts a registry whose files live in `work` (created if missing), with Verdaccio from
 * `installDir` (installVerdaccio). Resolves once it serves and a publishing user exists.
 * Returns { url, npmrc, env, packument(name), tarball(url), log(), stop() }: `env` points npm
 * (`npm_config_registry`, a userconfig holding the user's token) and Deno
 * (`NPM_CONFIG_REGISTRY`) at it, and keeps them off any proxy.
 */
export async function startRegistry({ work, installDir, timeoutMs = 60_000 }) {
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'config.yaml'), config(work));
  const child = spawn(process.execPath, [join(SOURCE, 'serve.mjs'), installDir, join(work, 'config.yaml')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const logTail = () => {
    const path = join(work, 'verdaccio.log');
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    return `${err}${text}`.trim().split('\n').slice(-30).join('\n');
  };
  const ready = await Promise.race([
    new Promise((resolve) => {
      child.stdout.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line));
      });
    }),
    exited.then((code) => new Error(`Verdaccio exited (${code}) before it served:\n${logTail()}`)),
    new Promise((resolve) => setTimeout(() => resolve(new Error(`Verdaccio did not serve within ${timeoutMs} ms:\n${logTail()}`)), timeoutMs).unref()),
  ]);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  if (ready instanceof Error) {
    await stop();
    throw ready;
  }
  const { url } = ready;
  try {
    const password = randomBytes(18).toString('base64url');
    const res = await fetch(`${url}-/user/org.couchdb.user:${USER}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _id: `org.couchdb.user:${USER}`, name: USER, password, type: 'user', roles: [], date: new Date().toISOString() }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || typeof body.token !== 'string') throw new Error(`creating the publishing user failed: HTTP ${res.status} ${JSON.stringify(body)}`);
    const npmrc = join(work, 'npmrc');
    const { host } = new URL(url);
    writeFileSync(npmrc, `registry=${url}\n//${host}/:_authToken=${body.token}\n`, { mode: 0o600 });
    const env = {
      npm_config_registry: url,
      NPM_CONFIG_REGISTRY: url, // Deno's name for it (npm reads either)
      npm_config_userconfig: npmrc,
      // Loopback never goes through a proxy, whatever the environment says.
      npm_config_noproxy: '127.0.0.1,localhost',
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    };
    return {
      url,
      npmrc,
      env,
      token: body.token,
      /** The packument (every version's manifest, dist-tags), or null if the registry has no such package. */
      async packument(name) {
        const r = await fetch(`${url}${name.replace('/', '%2f')}`, { headers: { accept: 'application/json' } });
        if (r.status === 404) return null;
        if (!r.ok) throw new Error(`GET ${name} from the registry: HTTP ${r.status}`);
        return r.json();
      },
      async tarball(tarballUrl) {
        const r = await fetch(tarballUrl);
        if (!r.ok) throw new Error(`GET ${tarballUrl}: HTTP ${r.status}`);
        return Buffer.from(await r.arrayBuffer());
      },
      log: logTail,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  // By hand: a registry seeded like the rehearsal's, until Ctrl-C.
  const { seedRegistry } = await import('./seed-registry.mjs');
  const repo = resolve(import.meta.dirname, '../..');
  const work = process.argv[2] ? resolve(process.argv[2]) : mkdtempSync(join(tmpdir(), 'distkit-registry-'));
  const { dir } = installVerdaccio(repo);
  const registry = await startRegistry({ work, installDir: dir });
  const seeded = await seedRegistry(registry, { repo });
  console.log(`Verdaccio at ${registry.url} (storage in ${work}), no uplink; ${seeded.length} third-party packages from package-lock.json seeded.`);
  console.log('Point npm and Deno at it, in another shell:\n');
  for (const [k, v] of Object.entries(registry.env)) console.log(`  export ${k}=${v}`);
  console.log('\nCtrl-C stops it.');
  const quit = async () => {
    await registry.stop();
    process.exit(0);
  };
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
}
