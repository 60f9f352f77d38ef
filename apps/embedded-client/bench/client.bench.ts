// Cold start to an authenticated link (bench/results/client.json): the client process is started
// N times per runtime against one running distkitd (strict trust, the client's key authorized,
// the daemon's key pinned: Noise IK), and timed from spawn to its `nodeup` line, and to its exit
// with --once (link, remote node list, graceful stop). Anchors from the same run: spawn-to-exit of
// `node -e ''` and `deno eval ''`. Also one Deno run with an empty DENO_DIR (nothing cached).
// Run: npm run build && npm run bench -w @distkit/embedded-client (DISTKIT_BENCH_RUNS, default 10).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, writeResults, type Result } from '../../../tooling/bench/report.ts';

const RUNS = Number(process.env['DISTKIT_BENCH_RUNS'] ?? 10);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DENO = join(ROOT, 'node_modules/.bin/deno');
const DISTKITD = join(ROOT, 'apps/daemon/bin/distkitd.js');
const BUILT = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const SOURCE = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const PERMISSIONS = ['--allow-net', '--allow-read', '--allow-write', '--allow-env', '--allow-sys'];
const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };

/** Spawns and resolves the ms from spawn to the first stdout line matching `mark` (if any) and to exit. */
function time(cmd: string, args: string[], mark?: RegExp, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ mark: number; exit: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let marked = Number.NaN;
    let out = '';
    let err = '';
    const child = spawn(cmd, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (mark && Number.isNaN(marked) && mark.test(out)) marked = performance.now() - t0;
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    // A run that hangs fails the bench with what it printed, instead of stalling it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const exit = performance.now() - t0;
      if (code !== 0 || (mark && Number.isNaN(marked))) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}\n${err}`));
      else resolve({ mark: marked, exit });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'distkit-client-bench-'));
const stateDir = join(dir, 'daemon');
const clientDir = join(dir, 'client');
const key = spawnSync(process.execPath, [BUILT, '--show-key', '--state-dir', clientDir], { env, encoding: 'utf8' });
spawnSync(process.execPath, [DISTKITD, 'trust', 'add', 'bench@client', key.stdout.trim(), '--state-dir', stateDir, '--no-reload'], { env });
const daemon = spawn(process.execPath, [DISTKITD, 'run', '--state-dir', stateDir, '--name', 'daemon@bench', '--listen', '127.0.0.1:0',
  '--control', '127.0.0.1:0', '--trust-mode', 'strict', '--log-format', 'json', '--log-level', 'info'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const listen = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    daemon.stdout.on('data', (c: Buffer) => {
      buffer += c.toString();
      const ready = buffer.split('\n').find((l) => l.includes('"msg":"ready"'));
      if (ready) {
        daemon.stdout.removeAllListeners('data').resume();
        resolve((JSON.parse(ready) as { listen: string }).listen);
      }
    });
    daemon.on('exit', (code) => reject(new Error(`distkitd exited ${code} before ready`)));
  });
  const clientArgs = ['--json', '--once', '--state-dir', clientDir, '--name', 'bench@client', '--daemon', `daemon@bench=${listen}`,
    '--daemon-key', `@${join(stateDir, 'identity.pub')}`];
  const NODEUP = /"type":"nodeup"/;
  const runtimes = {
    'node (built)': () => time(process.execPath, [BUILT, ...clientArgs], NODEUP),
    'deno run (source)': () => time(DENO, ['run', ...PERMISSIONS, SOURCE, ...clientArgs], NODEUP),
    'node + tsx (source)': () => time(process.execPath, ['--import', 'tsx', SOURCE, ...clientArgs], NODEUP),
  };
  const anchors = {
    "node -e ''": () => time(process.execPath, ['-e', '']),
    "deno eval ''": () => time(DENO, ['eval', '']),
  };
  const results: Result[] = [];
  const medians: Record<string, { mark: number; exit: number }> = {};
  for (const [name, run] of Object.entries({ ...anchors, ...runtimes })) {
    await run(); // warm-up: file cache, Deno's transpile cache
    const samples = [];
    for (let i = 0; i < RUNS; i++) samples.push(await run());
    medians[name] = { mark: median(samples.map((s) => s.mark)), exit: median(samples.map((s) => s.exit)) };
    if (name in runtimes) {
      results.push({ name: `${name}: spawn -> nodeup (median of ${RUNS})`, value: medians[name].mark, unit: 'ms' });
      results.push({ name: `${name}: spawn -> nodeup (max of ${RUNS})`, value: Math.max(...samples.map((s) => s.mark)), unit: 'ms' });
      results.push({ name: `${name}: spawn -> exit with --once (median)`, value: medians[name].exit, unit: 'ms' });
    } else {
      results.push({ name: `anchor ${name}: spawn -> exit (median of ${RUNS})`, value: medians[name].exit, unit: 'ms' });
    }
  }
  // Nothing cached: Deno type-strips and caches every module of the client, kernel and cores first.
  const fresh = join(dir, 'deno-dir');
  const cold = await time(DENO, ['run', ...PERMISSIONS, SOURCE, ...clientArgs], NODEUP, { DENO_DIR: fresh });
  results.push({ name: 'deno run (source), empty DENO_DIR: spawn -> nodeup (1 run)', value: cold.mark, unit: 'ms' });
  const ratio = (a: number, b: number) => Math.round((a / b) * 10) / 10;
  results.push({ name: "node client nodeup / node -e ''", value: ratio(medians['node (built)']!.mark, medians["node -e ''"]!.exit), unit: 'x' });
  results.push({ name: "deno client nodeup / deno eval ''", value: ratio(medians['deno run (source)']!.mark, medians["deno eval ''"]!.exit), unit: 'x' });
  // The issue names no target for this figure.
  writeResults('client', results, []);
} finally {
  daemon.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
