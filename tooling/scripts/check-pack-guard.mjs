// Every published package runs the build guard before it is packed (tooling/scripts/require-build.mjs),
// so a new package cannot be added without it and `npm pack` in an unbuilt clone fails loudly.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publishable, report } from './workspace.mjs';

const GUARD = join('tooling', 'scripts', 'require-build.mjs');

/** The `prepack` script a package in `dir` of the workspace at `root` must have. */
export function packGuardScript(root, dir) {
  return `node ${relative(dir, join(root, GUARD)).split('\\').join('/')}`;
}

export function packGuardProblems(root) {
  if (!existsSync(join(root, GUARD))) return [`${GUARD} is missing`];
  return publishable(root)
    .filter((m) => m.pkg.scripts?.prepack !== packGuardScript(root, m.dir))
    .map((m) => `${m.name}: scripts.prepack must be "${packGuardScript(root, m.dir)}" (got ${JSON.stringify(m.pkg.scripts?.prepack ?? null)}), so it cannot be packed unbuilt`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  report('every published package refuses to pack unbuilt', packGuardProblems(process.argv[2] ?? process.cwd()));
}
