// `npm run check`: every repository rule that is not a unit test.
import { denoPublishProblems } from './check-deno-publish.mjs';
import { exportsSyncProblems } from './check-exports-sync.mjs';
import { licenseProblems } from './check-license.mjs';
import { packGuardProblems } from './check-pack-guard.mjs';
import { publishProblems } from './check-publish.mjs';
import { sansIoProblems } from './check-sans-io.mjs';
import { tarballProblems } from './check-tarballs.mjs';
import { report } from './workspace.mjs';

const root = process.cwd();
report('cores are sans-I/O', sansIoProblems(root));
report('package.json and deno.json agree', exportsSyncProblems(root));
report('every published package refuses to pack unbuilt (prepack guard)', packGuardProblems(root));
report('every published package carries the LICENSE', licenseProblems(root));
report('publint and attw --pack', publishProblems(root));
report('deno publish --dry-run (JSR: no slow types, same versions as npm)', denoPublishProblems(root));
// Last: it needs the build (npm test builds first) and is the slowest check.
const t0 = performance.now();
const tarballs = await tarballProblems(root);
report(`npm pack -> fresh install -> import, require, types, one package at a time (${((performance.now() - t0) / 1000).toFixed(1)} s)`, tarballs);
