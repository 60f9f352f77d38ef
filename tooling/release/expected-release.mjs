// What a release must contain, worked out from the versioning policy in docs/releasing.md
// rather than from changesets (which is what is being checked): the packages a changeset names
// get its bump; a `fixed` group moves as one, to one version; a package whose shipped
// dependency on a workspace package moved gets at least a patch (the pins are exact, and
// `updateInternalDependencies: "patch"`); everything else stays where it was.
import { workspaceDeps } from './dependency-order.mjs';

const RANK = { patch: 1, minor: 2, major: 3 };

/** `version` raised by `bump` (semver; pre-1.0 a minor is the breaking position, as changesets does). */
export function bumpVersion(version, bump) {
  const [major, minor, patch] = version.split('-')[0].split('.').map(Number);
  if (bump === 'major') return `${major + 1}.0.0`;
  if (bump === 'minor') return `${major}.${minor + 1}.0`;
  if (bump === 'patch') return `${major}.${minor}.${patch + 1}`;
  throw new Error(`unknown bump ${bump}`);
}

/**
 * name -> version after a release of `bumps` ({ name: 'patch' | 'minor' | 'major' }) for the
 * workspace `members` (workspace.mjs) under the `fixed` groups.
 */
export function expectedRelease(members, fixed, bumps) {
  const byName = new Map(members.map((m) => [m.name, m]));
  const bump = new Map(Object.entries(bumps));
  const raise = (name, b) => {
    if ((RANK[b] ?? 0) <= (RANK[bump.get(name)] ?? 0)) return false;
    bump.set(name, b);
    return true;
  };
  for (let moved = true; moved; ) {
    moved = false;
    for (const group of fixed) {
      const top = group.map((n) => bump.get(n)).reduce((a, b) => ((RANK[b] ?? 0) > (RANK[a] ?? 0) ? b : a), undefined);
      if (top) for (const n of group) moved = raise(n, top) || moved;
    }
    for (const m of members) if (workspaceDeps(m, byName).some((d) => bump.has(d))) moved = raise(m.name, 'patch') || moved;
  }
  const next = new Map(members.map((m) => [m.name, m.pkg.version]));
  for (const [name, b] of bump) if (byName.has(name)) next.set(name, bumpVersion(byName.get(name).pkg.version, b));
  for (const group of fixed) {
    const present = group.filter((n) => bump.has(n) && byName.has(n));
    if (present.length === 0) continue;
    // One version for the group: the highest of its members' new versions.
    const highest = present.map((n) => next.get(n)).sort(compareVersions).at(-1);
    for (const n of present) next.set(n, highest);
  }
  return next;
}

/** Orders x.y.z versions (a prerelease sorts before its release). */
export function compareVersions(a, b) {
  const parse = (v) => {
    const [core, pre] = v.split('-', 2);
    return { parts: core.split('.').map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.parts[i] !== y.parts[i]) return x.parts[i] - y.parts[i];
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}
