// What a user of the registry sees of one published package, checked on the registry's own
// answer (the packument) and the tarball it serves, not on our manifests: the dist-tag, the
// fields resolvers and editors read (engines, exports, types, license, bin), the internal
// pins, the integrity, and a file list with the build, the docs and the licence, and nothing
// that should stay in the repository (tests, benchmarks, scripts, configs).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { entryPoints } from '../scripts/entry-points.mjs';

/** Top-level entries a published package may contain. */
const SHIPPABLE = new Set(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist', 'src', 'bin', 'contrib']);
/** Files that must never ship, wherever they are. */
const NEVER = [
  [/\.test\.[cm]?[jt]sx?$/, 'a test'],
  [/\.test-support\.[cm]?[jt]s$/, 'test support'],
  [/\.bench\.[cm]?[jt]s$/, 'a benchmark'],
  [/\.tmp\./, 'a temporary file'],
  [/(^|\/)(tsconfig[\w.-]*\.json|tsup\.config\.[cm]?[jt]s|vitest\.config\.[cm]?[jt]s|deno\.json|\.tsbuildinfo)$/, 'build configuration'],
  [/(^|\/)(node_modules|\.turbo|coverage|bench|scripts)\//, 'a repository-only folder'],
];

/** The file list of a .tgz (paths inside its top folder, which npm always names `package/`). */
export function tarballFiles(data) {
  const dir = mkdtempSync(join(tmpdir(), 'distkit-tgz-'));
  try {
    writeFileSync(join(dir, 'p.tgz'), data);
    const r = spawnSync('tar', ['-tzf', join(dir, 'p.tgz')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tar -tzf: ${r.stderr.trim()}`);
    return r.stdout.split('\n').filter((l) => l && !l.endsWith('/')).map((l) => l.replace(/^[^/]+\//, '')).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const normalBin = (bin, name) => {
  const map = typeof bin === 'string' ? { [name.split('/').pop()]: bin } : (bin ?? {});
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v.replace(/^\.\//, '')]));
};

/**
 * Problems with package `m` (a workspace member of the released copy: its package.json is what
 * was published) as `registry` serves it; `shipped` is the set of name@version the rehearsal
 * published (an internal pin must point at one of them). Resolves to { problems, row }.
 */
export async function packumentProblems(registry, m, shipped) {
  const { name, version } = m.pkg;
  const problems = [];
  const say = (p) => problems.push(`${name}@${version}: ${p}`);
  const doc = await registry.packument(name);
  if (!doc) return { problems: [`${name}: not on the registry (404)`], row: null };
  const tags = doc['dist-tags'] ?? {};
  if (tags.latest !== version) say(`dist-tags.latest is ${tags.latest}, not the version just released`);
  const v = doc.versions?.[version];
  if (!v) return { problems: [...problems, `${name}@${version}: not in the packument's versions (${Object.keys(doc.versions ?? {}).join(', ')})`], row: null };

  if (!v.engines?.node) say('no engines.node: npm cannot warn users of an unsupported Node.js');
  else if (!isDeepStrictEqual(v.engines, m.pkg.engines)) say(`engines ${JSON.stringify(v.engines)} differ from package.json's ${JSON.stringify(m.pkg.engines)}`);
  if (!v.exports) say('no exports map');
  else if (!isDeepStrictEqual(v.exports, m.pkg.exports)) say('exports differ from package.json');
  if (!v.types) say('no types field');
  if (v.license !== m.pkg.license || !v.license) say(`license is ${JSON.stringify(v.license)}, package.json says ${JSON.stringify(m.pkg.license)}`);
  if (m.pkg.bin && !isDeepStrictEqual(normalBin(v.bin, name), normalBin(m.pkg.bin, name))) say(`bin ${JSON.stringify(v.bin)} differs from package.json's ${JSON.stringify(m.pkg.bin)}`);
  for (const [dep, range] of Object.entries(v.dependencies ?? {})) {
    if (!dep.startsWith('@distkit/')) continue;
    if (!/^\d+\.\d+\.\d+$/.test(range)) say(`depends on ${dep}@${range}: internal dependencies are pinned exactly`);
    else if (!shipped.has(`${dep}@${range}`)) say(`depends on ${dep}@${range}, which this rehearsal did not publish`);
  }

  const data = await registry.tarball(v.dist.tarball);
  const integrity = `sha512-${createHash('sha512').update(data).digest('base64')}`;
  if (integrity !== v.dist.integrity) say(`the tarball served does not match dist.integrity`);
  const files = tarballFiles(data);
  const has = new Set(files);
  for (const f of ['package.json', 'README.md', 'LICENSE', ...entryPoints(v)]) if (!has.has(f)) say(`the tarball lacks ${f}`);
  for (const f of files) {
    const top = f.split('/')[0];
    if (!SHIPPABLE.has(top)) say(`the tarball ships ${f}, which is not part of a package (allowed at the top: ${[...SHIPPABLE].join(', ')})`);
    for (const [re, what] of NEVER) if (re.test(f)) say(`the tarball ships ${f} (${what})`);
  }
  const row = [name, Object.entries(tags).map(([t, x]) => `${t}: ${x}`).join(', '), Object.keys(doc.versions).join(' '), v.engines?.node ?? '-', v.license ?? '-', `${files.length} files, ${(data.length / 1024).toFixed(1)} kB`];
  return { problems, row };
}
