// `npm run check`: every repository rule that is not a unit test.
import { exportsSyncProblems } from './check-exports-sync.mjs';
import { publishProblems } from './check-publish.mjs';
import { sansIoProblems } from './check-sans-io.mjs';
import { report } from './workspace.mjs';

const root = process.cwd();
report('cores are sans-I/O', sansIoProblems(root));
report('package.json and deno.json agree', exportsSyncProblems(root));
report('publint and attw --pack', publishProblems(root));
