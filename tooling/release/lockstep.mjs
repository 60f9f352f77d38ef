// The versioning policy in .changeset/config.json: packages in a `fixed` group always carry the
// same version and are released together (wire, handshake and kernel share the wire protocol, so
// a protocol change never ships half-way). These functions verify a `changeset version` result.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { members } from '../scripts/workspace.mjs';

/** The `fixed` groups of the changesets config at `root`. */
export function fixedGroups(root) {
  const config = JSON.parse(readFileSync(join(root, '.changeset', 'config.json'), 'utf8'));
  return config.fixed ?? [];
}

/** name -> package.json version for every workspace member. */
export function versions(root) {
  return new Map(members(root).map((m) => [m.name, m.pkg.version]));
}

/**
 * Problems with the fixed groups after versioning: members at different versions, or some
 * members bumped and others not. `before` is `versions(root)` taken before `changeset version`.
 */
export function lockstepProblems(root, before) {
  const after = versions(root);
  const problems = [];
  for (const group of fixedGroups(root)) {
    const present = group.filter((n) => after.has(n));
    const missing = group.filter((n) => !after.has(n));
    if (missing.length > 0) problems.push(`fixed group names packages that do not exist: ${missing.join(', ')}`);
    const distinct = new Set(present.map((n) => after.get(n)));
    if (distinct.size > 1) {
      problems.push(`fixed group out of lockstep: ${present.map((n) => `${n}@${after.get(n)}`).join(', ')}`);
    }
    const moved = present.filter((n) => before.get(n) !== after.get(n));
    if (moved.length > 0 && moved.length < present.length) {
      problems.push(`fixed group released half-way: ${moved.join(', ')} bumped, ${present.filter((n) => !moved.includes(n)).join(', ')} not`);
    }
  }
  return problems;
}
