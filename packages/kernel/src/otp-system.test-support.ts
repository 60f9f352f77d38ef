// The OTP side of the differential test: real `erl -name X@127.0.0.1` nodes on loopback, each
// running the dk_ctl controller (test-fixtures/otp/dk_ctl.erl, compiled with erlc at test time),
// with their own epmd. Nothing listens beyond 127.0.0.1 and nothing collides with a system epmd:
// - epmd is started by us, on a port of its own (-port / ERL_EPMD_PORT), bound to 127.0.0.1;
//   nodes get `-start_epmd false`, so no erl ever starts an epmd of its own behind our back;
// - distribution listens on 127.0.0.1 only (inet_dist_use_interface), on one port per node
//   (inet_dist_listen_min = max);
// - a random cookie per system, so two runs (or two scenarios) can never link by mistake;
// - every node and the epmd are killed in close(), also when the scenario failed; a node whose
//   stdin closes halts by itself, so an erl cannot outlive a test process that died.
// Each node runs with one scheduler and no busy-waiting (+S 1 +sbwt none ...) so that a dozen
// of them stay light on a shared two-core machine; nothing in the distribution layer depends on it.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  LineProcess, freePort, trackProcess, type ControlledNode, type NodeLists, type NodeSpec, type SendResult, type System,
} from './controlled-node.test-support.ts';
import { createRelay, type Relay } from './relay.test-support.ts';

const FIXTURES = fileURLToPath(new URL('../test-fixtures/otp/', import.meta.url));
const SOURCES = ['dk_ctl.erl', 'dk_epmd.erl'];
const HOST = '127.0.0.1';

/** Whether erl, erlc and epmd are on PATH (CI installs Debian's erlang-base; see .ci/run). */
export function otpInstalled(): boolean {
  return ['erl', 'erlc', 'epmd'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
}

let compiled: Promise<string> | null = null;

/** The controller's .beam files, compiled once per test process into a temporary folder. */
function compileControllers(): Promise<string> {
  compiled ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkit-otp-beam-'));
    await promisify(execFile)('erlc', ['-o', dir, ...SOURCES.map((s) => join(FIXTURES, s))]);
    return dir;
  })();
  return compiled;
}

const full = (name: string): string => `${name}@${HOST}`;
const short = (node: string): string => node.split('@')[0]!;
/** An Erlang term for a command: `{Id, Command, Args...}.`; strings become quoted atoms (node names). */
const term = (id: number, command: string, args: readonly unknown[]): string =>
  `{${[String(id), command, ...args.map((a) => (typeof a === 'number' ? String(a) : `'${String(a)}'`))].join(', ')}}.`;

async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Our own epmd on a free port of 127.0.0.1, under a small shell that stops it when its stdin
 * closes: stop() closes it, and so does the OS if the test process dies, so no epmd is left behind.
 * The shell exits when epmd does (a port taken after all: we try another).
 */
const EPMD_GUARD = 'exec 3<&0; epmd -port "$1" -address 127.0.0.1 & e=$!; echo $e; (read _ <&3; kill $e) & wait $e';

async function startEpmd(): Promise<{ port: number; stop(): Promise<void> }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn('sh', ['-c', EPMD_GUARD, 'epmd-guard', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    trackProcess(child.pid);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.once('data', (c: Buffer) => trackProcess(Number.parseInt(c.toString(), 10))); // epmd's own pid
    let gone = false;
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    void exited.then(() => (gone = true));
    const stop = async () => {
      child.stdin.end();
      await exited;
    };
    const deadline = Date.now() + 10_000;
    while (!gone && Date.now() < deadline) {
      if (await reachable(port)) return { port, stop };
      await new Promise((r) => setTimeout(r, 20));
    }
    await stop();
    if (attempt >= 3) throw new Error(`epmd did not start on 127.0.0.1:${port}: ${stderr}`);
  }
}

export interface OtpSystemOptions {
  /** Every node name the scenario will use (short: `a`, `b`). */
  readonly names: readonly string[];
  /** OTP's net_ticktime, in ms (whole seconds: OTP takes seconds). */
  readonly tickTimeMs: number;
  /** Route all distribution traffic through a TCP relay the test controls (for stall/heal). */
  readonly relay?: boolean;
}

export async function createOtpSystem(options: OtpSystemOptions): Promise<System> {
  if (options.tickTimeMs % 1000 !== 0) throw new Error('OTP takes net_ticktime in whole seconds');
  const beams = await compileControllers();
  const home = await mkdtemp(join(tmpdir(), 'distkit-otp-home-')); // no ~/.erlang.cookie touched
  const cookie = randomBytes(16).toString('hex');
  const epmd = await startEpmd();
  let relay: Relay | null = null;
  try {
    if (options.relay) relay = await createRelay([...options.names]);
  } catch (err) {
    await epmd.stop();
    throw err;
  }
  const running = new Set<LineProcess>();
  let version = '';
  let closed = false;

  const env = {
    ...(process.env as Record<string, string>),
    HOME: home,
    ERL_EPMD_PORT: String(epmd.port),
    ERL_EPMD_ADDRESS: HOST,
  };

  async function start(name: string, spec: NodeSpec = {}): Promise<ControlledNode> {
    if (closed) throw new Error('system closed');
    const distPort = await freePort();
    const args = [
      '-name', full(name),
      '-setcookie', cookie,
      '-noshell',
      '-start_epmd', 'false',
      '-pa', beams,
      '+S', '1', '+sbwt', 'none', '+sbwtdcpu', 'none', '+sbwtdio', 'none',
      '-kernel', 'inet_dist_use_interface', '{127,0,0,1}',
      '-kernel', 'inet_dist_listen_min', String(distPort), 'inet_dist_listen_max', String(distPort),
      '-kernel', 'net_ticktime', String(options.tickTimeMs / 1000),
      // OTP 25 has no `always` value: leaving dist_auto_connect unset is what `always` means.
      ...(spec.mode && spec.mode !== 'always' ? ['-kernel', 'dist_auto_connect', spec.mode] : []),
      ...(spec.hidden ? ['-hidden'] : []),
      ...(relay ? ['-epmd_module', 'dk_epmd'] : []),
      '-eval', 'dk_ctl:main()',
    ];
    const proc = new LineProcess(`erl ${full(name)}`, 'erl', args, { env, cwd: home }, term, short);
    running.add(proc);
    void proc.exited.then(() => running.delete(proc));
    const ready = await proc.until('ready', () => proc.lines.find((l) => l['event'] === 'ready'), 30_000);
    version = `OTP ${String(ready['otp'])}`;
    if (relay) {
      relay.setTarget(name, { host: HOST, port: distPort }, { host: HOST, port: distPort });
      for (const other of options.names) {
        if (other !== name) await proc.request('route', full(other), relay.route(name, other).address.port);
      }
    }
    return otpNode(name, proc);
  }

  return {
    kind: 'otp',
    get version() {
      return version;
    },
    start,
    stall(a, b) {
      if (!relay) throw new Error('stall needs a system created with relay: true');
      relay.stall(a, b);
    },
    heal() {
      relay?.heal();
    },
    notes: () => [],
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...running].map((p) => p.kill()));
      await relay?.close();
      await epmd.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

function otpNode(name: string, proc: LineProcess): ControlledNode {
  return {
    name,
    events: proc.events,
    connect: async (to) => (await proc.request<unknown>('connect', full(to))) === true,
    disconnect: async (to) => (await proc.request<unknown>('disconnect', full(to))) === true,
    send: async (to, timeoutMs) => ({ result: await proc.request<SendResult>('send', full(to), timeoutMs) }),
    nodes: async () => {
      const r = await proc.request<Record<keyof NodeLists, string[]>>('nodes');
      return { visible: r.visible.map(short), hidden: r.hidden.map(short), connected: r.connected.map(short) };
    },
    waitEvent: (what, match, ms) => proc.waitEvent(what, match, ms),
    signal: (s) => proc.signal(s),
    stop: async () => {
      await proc.request('stop');
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 10_000))]);
      await proc.kill();
    },
  };
}
