// Every published package carries the repository's LICENSE, byte for byte: npm puts a
// package's own LICENSE file in its tarball (and JSR in its upload), never the root's, and the
// MIT licence asks for its text to travel with the code.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publishable, report } from './workspace.mjs';

export function licenseProblems(root) {
  const text = readFileSync(join(root, 'LICENSE'), 'utf8');
  return publishable(root).flatMap((m) => {
    const path = join(m.dir, 'LICENSE');
    if (!existsSync(path)) return [`${m.name}: no LICENSE file (copy the repository's LICENSE)`];
    return readFileSync(path, 'utf8') === text ? [] : [`${m.name}: LICENSE differs from the repository's LICENSE`];
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  report('every published package carries the LICENSE', licenseProblems(process.argv[2] ?? process.cwd()));
}
