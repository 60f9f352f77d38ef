// distkitd benchmarks (bench/results/daemon.json), each against an anchor measured in the same run:
//  - start-to-ready: spawn `distkitd run` until its `ready` log line, vs spawn-to-exit of `node -e ''`;
//  - idle RSS after ready, vs an idle bare node process;
//  - CPU share of the daemon while 200 peers (real kernels in this process, the load generator)
//    are linked to it and exchange heartbeats at the default 5 s interval, vs the same daemon idle.
// Run: npm run bench -w @distkit/daemon (needs `npm run build`: it runs bin/distkitd.js on dist/).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTrustEntry, generateIdentity, TrustStore } from '@distkit/handshake';
import { createNode, type DistkitNode } from '@distkit/kernel';
import { median, writeResults, type Result } from '../../../tooling/bench/report.ts';
import { callControl } from '../src/control-client.ts';
import { writeIdentity } from '../src/state.ts';

const BIN = fileURLToPath(new URL('../bin/distkitd.js', import.meta.url));
const PEERS = Number(process.env['DISTKIT_BENCH_PEERS'] ?? 200);
const WINDOW_MS = Number(process.env['DISTKIT_BENCH_WINDOW_MS'] ?? 20_000);
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s.

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith('DISTKIT_')) delete e[k];
  return { ...e, DISTKIT_LOG_FORMAT: 'json', DISTKIT_LOG_LEVEL: 'warn' };
}

interface Started {
  child: ChildProcess;
  ms: number;
  ready: { control: string; listen: string; name: string; publicKey: string };
}

/** Spawns distkitd run and resolves at its `ready` line (logged at info, so the level is info here). */
function startDaemon(state: string, extra: string[] = []): Promise<Started> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, 'run', '--state-dir', state, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0', '--log-level', 'info', ...extra], {
      env: env(),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let buffer = '';
    child.stdout?.on('data', (c: Buffer) => {
      buffer += c.toString();
      for (const line of buffer.split('\n')) {
        if (line.includes('"msg":"ready"')) {
          const ready = JSON.parse(line) as Started['ready'];
          child.stdout?.removeAllListeners('data');
          child.stdout?.resume();
          resolve({ child, ms: performance.now() - t0, ready });
          return;
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`distkitd exited ${code} before ready`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

function bareNodeMs(): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    spawn(process.execPath, ['-e', ''], { stdio: 'ignore' }).on('exit', () => resolve(performance.now() - t0));
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN) / 1024;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
}

async function cpuShare(pid: number, ms: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(ms);
  return (100 * (cpuSeconds(pid) - c0)) / ((performance.now() - t0) / 1000);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const results: Result[] = [];
  const root = mkdtempSync(join(tmpdir(), 'distkitd-bench-'));

  // 1. Start to ready (identity already there: the restart path), vs bare node.
  const state = join(root, 'start');
  await stop((await startDaemon(state)).child); // first start generates the identity
  const starts: number[] = [];
  const bares: number[] = [];
  for (let i = 0; i < 5; i++) {
    bares.push(await bareNodeMs());
    const s = await startDaemon(state);
    starts.push(s.ms);
    await stop(s.child);
  }
  const start = median(starts);
  const bare = median(bares);
  results.push({ name: 'start to ready (median of 5)', value: start, unit: 'ms' });
  results.push({ name: "anchor: node -e '' spawn to exit", value: bare, unit: 'ms' });
  results.push({ name: 'start to ready / bare node', value: start / bare, unit: 'x' });

  // 2. Idle RSS, vs an idle bare node.
  const idle = await startDaemon(join(root, 'idle'));
  const anchor = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1e9)'], { stdio: 'ignore' });
  await sleep(3000);
  const rss = rssMiB(idle.child.pid ?? 0);
  const rssBare = rssMiB(anchor.pid ?? 0);
  anchor.kill();
  results.push({ name: 'idle RSS after ready', value: rss, unit: 'MiB' });
  results.push({ name: 'anchor: idle bare node RSS', value: rssBare, unit: 'MiB' });
  const idleCpu = await cpuShare(idle.child.pid ?? 0, 5_000);
  results.push({ name: 'CPU share, idle daemon (no peers)', value: idleCpu, unit: '% of a core' });
  await stop(idle.child);

  // 3. CPU share with PEERS peers, configured on both sides (each knows where the other's
  //    heartbeats go), linked, exchanging heartbeats at the default interval. The peers listen
  //    first (port 0), then the daemon starts with all of them in its config and dials them.
  const loadedState = join(root, 'loaded');
  mkdirSync(loadedState, { recursive: true, mode: 0o700 });
  const daemonIdentity = generateIdentity();
  await writeIdentity(join(loadedState, 'identity.key'), join(loadedState, 'identity.pub'), daemonIdentity);
  const daemonTrust = formatTrustEntry({ name: 'bench-daemon', key: daemonIdentity.publicKey, options: {} });
  const nodes: DistkitNode[] = [];
  for (let i = 0; i < PEERS; i++) {
    const node = createNode({
      name: `peer-${i}`,
      cluster: 'distkit',
      identity: generateIdentity(),
      incarnation: 1,
      listen: { host: '127.0.0.1', port: 0 },
      trust: { store: new TrustStore({ mode: 'strict', authorizedNodes: daemonTrust }) },
      autoConnect: 'always',
    });
    await node.start();
    nodes.push(node);
  }
  writeFileSync(
    join(loadedState, 'distkitd.toml'),
    `name = "bench-daemon"\nauto_connect = "always"\n${nodes.map((n) => `[[peers]]\nname = "${n.name}"\naddress = "127.0.0.1:${n.address.port}"\n`).join('')}`,
  );
  const t0 = performance.now();
  const loaded = await startDaemon(loadedState, ['--config', join(loadedState, 'distkitd.toml')]);
  const [host, port] = loaded.ready.listen.split(':') as [string, string];
  for (const node of nodes) node.addPeer({ name: 'bench-daemon', address: { host, port: Number(port) } });
  const linked = async (): Promise<number> => nodes.filter((n) => n.nodes().length > 0).length;
  while ((await linked()) < PEERS && performance.now() - t0 < 60_000) await sleep(500);
  const links = await linked();
  await sleep(6000); // one heartbeat round in both directions after the last link
  const target = { url: loaded.ready.control, token: readFileSync(join(root, 'loaded', 'control.token'), 'utf8').trim() };
  type Stats = { stats: { heartbeatsReceived: number; heartbeatsSent: number } };
  const s0 = (await callControl(target, 'GET', '/v1/status')) as Stats;
  const share = await cpuShare(loaded.child.pid ?? 0, WINDOW_MS);
  const s1 = (await callControl(target, 'GET', '/v1/status')) as Stats;
  const loadedRss = rssMiB(loaded.child.pid ?? 0);
  results.push({ name: `peers linked to the daemon (of ${PEERS})`, value: links, unit: 'links' });
  results.push({ name: `CPU share, ${PEERS} peers, 5 s heartbeats (${WINDOW_MS / 1000} s window)`, value: share, unit: '% of a core' });
  results.push({ name: 'CPU share loaded / idle', value: share / Math.max(idleCpu, 0.01), unit: 'x' });
  results.push({ name: 'heartbeats received by the daemon', value: ((s1.stats.heartbeatsReceived - s0.stats.heartbeatsReceived) * 1000) / WINDOW_MS, unit: '/s' });
  results.push({ name: 'heartbeats sent by the daemon', value: ((s1.stats.heartbeatsSent - s0.stats.heartbeatsSent) * 1000) / WINDOW_MS, unit: '/s' });
  results.push({ name: `RSS with ${PEERS} links`, value: loadedRss, unit: 'MiB' });
  await Promise.all(nodes.map((n) => n.stop()));
  await stop(loaded.child);

  // The issue names these figures but no numeric targets.
  writeResults('daemon', results, []);
}

await main();
