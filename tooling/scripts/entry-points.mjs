// The files a package.json promises its users: `main`, `module`, `types`, every `bin` and every
// target in `exports`. A package whose build is missing lacks some of them; the prepack guard,
// the tarball check and the release rehearsal all ask this one list.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function targets(value) {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(targets);
}

/** Relative paths (without `./`) of every file `pkg` points at, sorted, without duplicates. */
export function entryPoints(pkg) {
  const bin = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
  const all = [pkg.main, pkg.module, pkg.types, pkg.typings, ...bin, ...targets(pkg.exports)]
    .filter((p) => typeof p === 'string' && !p.includes('*'))
    .map((p) => p.replace(/^\.\//, ''));
  return [...new Set(all)].sort();
}

/** The entry points of the package in `dir` that do not exist there. */
export function missingEntryPoints(dir, pkg) {
  return entryPoints(pkg).filter((p) => !existsSync(join(dir, p)));
}
