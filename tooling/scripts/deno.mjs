// Runs the Deno half of `npm test` with the Deno binary that the `deno` npm package ships
// (nothing is downloaded): `deno check` of every package's entry point, then `deno test` over the
// portable tests: every `*.test.ts` of the packages below except `*.node.test.ts` (Node-only).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { members } from './workspace.mjs';

const root = process.cwd();
const deno = join(root, 'node_modules', '.bin', 'deno');
/** Packages whose tests must also pass under Deno. */
const PORTABLE = ['wire', 'handshake', 'policy', 'detector', 'sim', 'kernel'];

function run(args) {
  console.log(`$ deno ${args.join(' ')}`);
  const r = spawnSync(deno, args, { stdio: 'inherit', env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });
  if (r.status !== 0) {
    console.error(`deno ${args[0]} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

function tests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return tests(p);
    return e.endsWith('.test.ts') && !e.endsWith('.node.test.ts') ? [p] : [];
  });
}

const mode = process.argv[2] ?? 'test';
const entries = members(root)
  .filter((m) => m.deno && existsSync(join(m.dir, 'src/index.ts')))
  .map((m) => join(m.dir, 'src/index.ts'));
run(['check', '--quiet', ...entries]);
if (mode === 'test') {
  const files = PORTABLE.flatMap((p) => tests(join(root, 'packages', p, 'src')));
  run(['test', '--quiet', '--allow-read', '--allow-env', '--allow-net', '--allow-sys', ...files]);
}
