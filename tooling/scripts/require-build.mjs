// `prepack` of every published package: `npm pack` and `npm publish` (and so `changeset
// publish`) refuse a package whose build is missing, instead of shipping a tarball without
// `dist/` and no warning. Runs in the package's folder (npm runs lifecycle scripts there).
//   "prepack": "node ../../tooling/scripts/require-build.mjs"
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingEntryPoints } from './entry-points.mjs';

const dir = process.cwd();
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const missing = missingEntryPoints(dir, pkg);
if (missing.length > 0) {
  console.error(
    `${pkg.name}: refusing to pack an unbuilt package: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing.\n` +
      'Run `npm run build` at the repository root first.',
  );
  process.exit(1);
}
