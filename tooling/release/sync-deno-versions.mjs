// `changeset version` bumps package.json files only; JSR reads deno.json. Run right after it (the
// root `release:version` script does) so both registries get the same version:
//   node tooling/release/sync-deno-versions.mjs [root]
// tooling/scripts/check-exports-sync.mjs fails on any drift this leaves behind.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { members } from '../scripts/workspace.mjs';

/** Copies each member's package.json version into its deno.json; returns what changed. */
export function syncDenoVersions(root) {
  const changed = [];
  for (const { dir, name, pkg, deno } of members(root)) {
    if (!deno || deno.version === pkg.version) continue;
    const path = join(dir, 'deno.json');
    // Re-serialise rather than patch text: the deno.json files are plain 2-space JSON.
    const text = readFileSync(path, 'utf8');
    const next = { ...JSON.parse(text), version: pkg.version };
    writeFileSync(path, `${JSON.stringify(next, null, 2)}${text.endsWith('\n') ? '\n' : ''}`);
    changed.push({ name, from: deno.version, to: pkg.version });
  }
  return changed;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const changed = syncDenoVersions(process.argv[2] ?? process.cwd());
  for (const c of changed) console.log(`deno.json ${c.name}: ${c.from} -> ${c.to}`);
  if (changed.length === 0) console.log('deno.json versions already match package.json');
}
