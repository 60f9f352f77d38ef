// Where the workspace's packages are, and which of them are published. Shared by every check.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The sans-I/O cores (DESIGN.md, rule 1). */
export const CORES = ['wire', 'handshake', 'policy', 'detector'];
/** Source folders held to the same rule: the four cores, and the kernel's node machine. */
export const SANS_IO_DIRS = [...CORES.map((c) => `packages/${c}/src`), 'packages/kernel/src/machine'];

/** Every workspace member under `root`: { dir, name, pkg, deno }. */
export function members(root) {
  return ['packages', 'apps'].flatMap((group) => {
    const base = join(root, group);
    if (!existsSync(base)) return [];
    return readdirSync(base)
      .map((d) => join(base, d))
      .filter((dir) => existsSync(join(dir, 'package.json')))
      .map((dir) => {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        const denoPath = join(dir, 'deno.json');
        const deno = existsSync(denoPath) ? JSON.parse(readFileSync(denoPath, 'utf8')) : null;
        return { dir, name: pkg.name, pkg, deno };
      });
  });
}

/** Members that ship to npm (and JSR). */
export function publishable(root) {
  return members(root).filter((m) => m.pkg.private !== true);
}

/** Prints problems and sets a failing exit code; returns whether all was well. */
export function report(title, problems) {
  if (problems.length === 0) {
    console.log(`✓ ${title}`);
    return true;
  }
  console.error(`✗ ${title}: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exitCode = 1;
  return false;
}
