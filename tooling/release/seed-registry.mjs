// The third-party packages our published packages need (msgpackr, @noble/*, pino, ...), put
// into the rehearsal registry before anything of ours, so that installs from it (npm and Deno
// alike, pointed at it for everything) never leave loopback: the registry has no uplink.
// Exactly the versions package-lock.json resolved, taken by `npm pack <name>@<version>` from
// npm's cache (where `npm ci` left them) or the npm registry, so the bytes match the lock
// file's integrity, then published the way `npm publish` does it (one PUT of the packument
// with the tarball attached), which also keeps each package's own `publishConfig` (a registry,
// provenance) out of the way.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userNpmEnv } from '../scripts/npm-env.mjs';
import { compareVersions } from './expected-release.mjs';

/**
 * `{ name, version, integrity }` of every package in `repo`'s package-lock.json that an
 * install of the workspace's packages can need: not dev-only, not a workspace member.
 */
export function thirdPartyPackages(repo) {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
  const found = new Map();
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path.includes('node_modules/') || entry.link || entry.dev || entry.devOptional) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (name.startsWith('@distkit/')) continue;
    found.set(`${name}@${entry.version}`, { name, version: entry.version, integrity: entry.integrity });
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version));
}

function exec(cmd, args, options) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => resolve({ code: -1, stdout, out: `${stdout}${stderr}${err.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? signal, stdout, out: `${stdout}${stderr}` }));
  });
}

/** The package.json at the top of a tarball (its one top-level folder is usually `package/`). */
export function tarballManifest(tgz) {
  const r = spawnSync('tar', ['-xzOf', tgz, '--wildcards', '--no-wildcards-match-slash', '*/package.json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar could not read package.json from ${tgz}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

/** Publishes one tarball to `registry` as `npm publish` (libnpmpublish) would send it. */
export async function putTarball(registry, tgz, { tag = 'latest' } = {}) {
  const manifest = tarballManifest(tgz);
  const { name, version } = manifest;
  const data = readFileSync(tgz);
  const file = `${name}-${version}.tgz`;
  const bin = typeof manifest.bin === 'string' ? { [name.split('/').pop()]: manifest.bin } : manifest.bin;
  const body = {
    _id: name,
    name,
    description: manifest.description,
    'dist-tags': { [tag]: version },
    versions: {
      [version]: {
        ...manifest,
        ...(bin && { bin }),
        _id: `${name}@${version}`,
        dist: {
          integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
          shasum: createHash('sha1').update(data).digest('hex'),
          tarball: new URL(`${name}/-/${file}`, registry.url).href,
        },
      },
    },
    _attachments: { [file]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length } },
  };
  const res = await fetch(`${registry.url}${name.replace('/', '%2f')}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${registry.token}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`publishing ${name}@${version} to the rehearsal registry: HTTP ${res.status} ${await res.text()}`);
  return { name, version };
}

/**
 * Seeds `registry` (startRegistry) with thirdPartyPackages(repo); returns what it published.
 * Versions of one package go in ascending order, so `latest` ends on the highest.
 */
export async function seedRegistry(registry, { repo }) {
  const wanted = thirdPartyPackages(repo);
  const work = mkdtempSync(join(tmpdir(), 'distkit-seed-'));
  try {
    const specs = wanted.map((p) => `${p.name}@${p.version}`);
    // The user's npm configuration (registry, cache, CA), not the rehearsal's.
    const packed = await exec('npm', ['pack', '--json', '--prefer-offline', '--loglevel=error', '--pack-destination', work, ...specs], { cwd: work, env: userNpmEnv() });
    let list;
    try {
      list = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m)));
    } catch {
      throw new Error(`\`npm pack ${specs.length} third-party packages\` failed (exit ${packed.code}):\n${packed.out.trim().split('\n').slice(-20).join('\n')}`);
    }
    const byId = new Map(list.map((t) => [t.id, t]));
    const groups = new Map();
    for (const p of wanted) {
      const t = byId.get(`${p.name}@${p.version}`);
      if (!t) throw new Error(`npm pack did not return ${p.name}@${p.version}`);
      if (p.integrity && t.integrity !== p.integrity) {
        throw new Error(`${p.name}@${p.version}: npm pack gave integrity ${t.integrity}, package-lock.json says ${p.integrity}`);
      }
      if (!groups.has(p.name)) groups.set(p.name, []);
      groups.get(p.name).push(join(work, t.filename));
    }
    const done = [];
    const queue = [...groups.values()];
    const worker = async () => {
      for (let files = queue.shift(); files; files = queue.shift()) for (const f of files) done.push(await putTarball(registry, f));
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return done;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
