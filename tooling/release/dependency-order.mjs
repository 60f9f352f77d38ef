// How the workspace's packages depend on each other, for everything that must respect it: a
// tarball install needs the tarballs of a package's workspace dependencies, and JSR refuses a
// package whose jsr: dependencies are not published yet, so publishing goes dependencies first.

/** Dependency fields a consumer's install follows (devDependencies never reach a consumer). */
const SHIPPED = ['dependencies', 'optionalDependencies', 'peerDependencies'];

/** Names of workspace members that `member` depends on when installed. */
export function workspaceDeps(member, byName) {
  const names = new Set(SHIPPED.flatMap((field) => Object.keys(member.pkg[field] ?? {})));
  return [...names].filter((n) => byName.has(n)).sort();
}

/** Every workspace member `member` needs once installed, itself excluded. */
export function workspaceClosure(member, byName) {
  const seen = new Set();
  const visit = (m) => {
    for (const dep of workspaceDeps(m, byName)) {
      if (seen.has(dep) || dep === member.name) continue;
      seen.add(dep);
      visit(byName.get(dep));
    }
  };
  visit(member);
  return [...seen].sort();
}

/** `members` sorted so every package comes after its workspace dependencies; throws on a cycle. */
export function dependencyOrder(members) {
  const byName = new Map(members.map((m) => [m.name, m]));
  const done = new Set();
  const visiting = new Set();
  const order = [];
  const visit = (m, path) => {
    if (done.has(m.name)) return;
    if (visiting.has(m.name)) throw new Error(`dependency cycle: ${[...path, m.name].join(' -> ')}`);
    visiting.add(m.name);
    for (const dep of workspaceDeps(m, byName)) visit(byName.get(dep), [...path, m.name]);
    visiting.delete(m.name);
    done.add(m.name);
    order.push(m);
  };
  for (const m of [...members].sort((a, b) => a.name.localeCompare(b.name))) visit(m, []);
  return order;
}
