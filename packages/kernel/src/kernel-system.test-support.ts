// The distkit side of the differential test: each node a distkit kernel in its own process
// (kernel-process.test-support.ts, run by tsx from source), driven like an `erl` node.
//
// How the nodes find and trust each other, chosen to match what the OTP nodes of the test have:
// - addresses: every node is given every other node's address up front (`peers`), as an OTP node
//   can reach any node of the host through epmd; nobody is dialled at start (connectAtStart:
//   false), as an OTP node without sync_nodes_optional links to nobody until it needs to.
// - trust: keys are pinned (strict trust store with every member, `publicKey` on each peer, so
//   links use Noise IK), and a random cluster secret per system plays the cookie. TOFU would
//   work too, but pinning leaves no first-use window that could make a row depend on ordering.
// - heartbeats every 250 ms (default 5 s), so whatever heartbeats make the kernel do (verdicts,
//   lifting a bar on a restarted peer...) happens inside a scenario's window every time, instead
//   of depending on where in the 5 s period a step falls.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateIdentity, type KeyPair } from '@distkit/handshake';
import {
  LineProcess, freePort, type ControlledNode, type NodeLists, type NodeSpec, type SendResult, type System,
} from './controlled-node.test-support.ts';
import type { KernelProcessConfig } from './kernel-process.test-support.ts';
import { createRelay, type Relay } from './relay.test-support.ts';

const ENTRY = fileURLToPath(new URL('./kernel-process.test-support.ts', import.meta.url));
// tsx resolves @distkit/* to each package's src/ through this tsconfig's `paths`, so the child
// runs the current sources (no build needed, never a stale dist/).
const TSCONFIG = fileURLToPath(new URL('../test-fixtures/source-paths.tsconfig.json', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const HEARTBEAT_INTERVAL_MS = 250;
/** distkit events with no OTP counterpart that the table shows next to a row. */
const NOTED = new Set(['partition', 'decision', 'restarted']);

export interface KernelSystemOptions {
  readonly names: readonly string[];
  readonly tickTimeMs: number;
  /** Route links and heartbeats through a relay the test controls (for stall/heal). */
  readonly relay?: boolean;
}

interface Member {
  readonly name: string;
  readonly identity: KeyPair;
  readonly port: number;
  incarnation: number;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export async function createKernelSystem(options: KernelSystemOptions): Promise<System> {
  const members = new Map<string, Member>();
  for (const name of options.names) members.set(name, { name, identity: generateIdentity(), port: await freePort({ udp: true }), incarnation: 0 });
  const relay: Relay | null = options.relay ? await createRelay([...options.names]) : null;
  for (const m of members.values()) relay?.setTarget(m.name, { host: '127.0.0.1', port: m.port }, { host: '127.0.0.1', port: m.port });
  const cluster = `otp-diff-${randomBytes(4).toString('hex')}`;
  const secret = b64(randomBytes(32));
  const running = new Set<LineProcess>();
  const started: LineProcess[] = [];
  let closed = false;

  async function start(name: string, spec: NodeSpec = {}): Promise<ControlledNode> {
    if (closed) throw new Error('system closed');
    const m = members.get(name);
    if (!m) throw new Error(`${name} is not one of ${options.names.join(', ')}`);
    m.incarnation++; // a restart is a new incarnation, as the daemon persists it
    const config: KernelProcessConfig = {
      name,
      cluster,
      publicKey: b64(m.identity.publicKey),
      privateKey: b64(m.identity.privateKey),
      clusterSecret: secret,
      incarnation: m.incarnation,
      port: m.port,
      autoConnect: spec.mode ?? 'always',
      hidden: spec.hidden ?? false,
      tickTimeMs: options.tickTimeMs,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      peers: [...members.values()].filter((p) => p !== m).map((p) => {
        const route = relay?.route(name, p.name);
        return {
          name: p.name,
          port: route?.address.port ?? p.port,
          heartbeatPort: route?.heartbeat.port ?? p.port,
          publicKey: b64(p.identity.publicKey),
        };
      }),
    };
    const proc = new LineProcess(
      `distkit ${name}#${m.incarnation}`,
      process.execPath,
      ['--import', TSX, ENTRY],
      { env: { ...(process.env as Record<string, string>), TSX_TSCONFIG_PATH: TSCONFIG, NO_COLOR: '1' } },
      (id, cmd, args) => JSON.stringify({ id, cmd, args }),
      (node) => node,
    );
    running.add(proc);
    started.push(proc);
    void proc.exited.then(() => running.delete(proc));
    proc.write(JSON.stringify(config));
    await proc.until('ready', () => proc.lines.find((l) => l['event'] === 'ready'), 30_000);
    return kernelNode(name, proc);
  }

  return {
    kind: 'distkit',
    version: 'distkit kernel (source)',
    start,
    stall(a, b) {
      if (!relay) throw new Error('stall needs a system created with relay: true');
      relay.stall(a, b);
    },
    heal() {
      relay?.heal();
    },
    notes() {
      const out: string[] = [];
      for (const p of started) {
        for (const l of p.lines) {
          if (l['event'] !== 'kernel' || !NOTED.has(String(l['type']))) continue;
          const note = `${p.label.replace('distkit ', '')}: ${String(l['type'])} ${String(l['node'])}${l['decision'] ? ` ${String(l['decision'])}` : ''}`;
          if (!out.includes(note)) out.push(note);
        }
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...running].map((p) => p.kill()));
      await relay?.close();
    },
  };
}

function kernelNode(name: string, proc: LineProcess): ControlledNode {
  return {
    name,
    events: proc.events,
    connect: async (to) => (await proc.request<unknown>('connect', to)) === true,
    disconnect: async (to) => (await proc.request<unknown>('disconnect', to)) === true,
    send: async (to, timeoutMs) => proc.request<{ result: SendResult; detail?: string }>('send', to, timeoutMs),
    nodes: async () => proc.request<NodeLists>('nodes'),
    waitEvent: (what, match, ms) => proc.waitEvent(what, match, ms),
    signal: (s) => proc.signal(s),
    stop: async () => {
      await proc.request('stop');
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 10_000))]);
      await proc.kill();
    },
  };
}
