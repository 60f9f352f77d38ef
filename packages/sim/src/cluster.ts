// A small heartbeat loop for experiments, standing in for the kernel (which does not exist yet):
// N nodes on a SimNetwork, each with a @distkit/detector, sending wire-encoded heartbeats and
// probe messages over the simulated datagram channel. Links (the kernel's sessions) are modelled,
// not simulated: all nodes are linked at start, and a link across a partition goes down when the
// partition has lasted `linkTimeout` (Erlang's net_ticktime role). Links are never re-made (the
// `once` policy), which is exactly when hidden partitions must be found by heartbeats.
import { createDetector, viewSummary, type Detector, type DetectorConfig, type DetectorEvent, type Member, type ProbeAnswer, type ProbeRequest } from '@distkit/detector';
import { decodeHeartbeat, encodeHeartbeat, type Heartbeat, type ViewSummary } from '@distkit/wire';
import type { Address, DatagramSocket, SimNetwork, SimTransport } from './network.ts';

export interface ClusterOptions {
  readonly network: SimNetwork;
  /** Number of nodes (named n0, n1, ...) or their names. */
  readonly nodes: number | readonly string[];
  readonly detector: DetectorConfig;
  /** How long a partition must last before the links across it go down, ms. Default 4 × interval. */
  readonly linkTimeout?: number;
  /** Name of the referee node, if any. */
  readonly referee?: string;
  /** Called for every detector event, at the virtual time it is emitted. */
  readonly onEvent?: (node: string, event: DetectorEvent) => void;
  /** Called for every accepted heartbeat (experiments measure the plain silence rule with it). */
  readonly onHeartbeat?: (node: number, from: number, at: number) => void;
}

export interface SimCluster {
  readonly names: readonly string[];
  detector(name: string): Detector;
  /** This node's current view of the cluster (what its heartbeats carry). */
  view(name: string): ViewSummary;
  /** Partitions the network (see SimNetwork.partition); links across it drop after `linkTimeout`. */
  partition(groups: readonly (readonly string[])[], options?: { readonly healAt?: number }): void;
  /** Crashes a node's host (silently: no resets); peers must notice by themselves. */
  crash(name: string): void;
}

const PORT = 7946;
/** First byte of the simulator's own probe datagrams: 0xc1 is never used by msgpack, so it cannot start a wire message. */
const PROBE = 0xc1;

interface SimNode {
  readonly name: string;
  readonly index: number;
  readonly member: Member;
  readonly transport: SimTransport;
  readonly detector: Detector;
  socket: DatagramSocket | null;
  seq: number;
  view: ViewSummary;
  linked: Set<number>;
  armedAt: number;
  timer: { cancel(): void } | null;
}

/** Starts a cluster of detectors on `network`, fully linked, heartbeating from the current time. */
export async function createCluster(options: ClusterOptions): Promise<SimCluster> {
  const net = options.network;
  const names = typeof options.nodes === 'number' ? Array.from({ length: options.nodes }, (_, i) => `n${i}`) : [...options.nodes];
  const index = new Map(names.map((n, i) => [n, i]));
  const addresses: Address[] = names.map((host) => Object.freeze({ host, port: PORT }));
  const decoded = new WeakMap<Uint8Array, Heartbeat>();
  const nodes: SimNode[] = names.map((name, i) => {
    const transport = net.host(name);
    const id = Uint8Array.from({ length: 32 }, () => Math.floor(transport.random() * 256));
    // Start times spread over ~an hour so that "oldest" differs from "lowest id".
    const startedAt = Math.floor(transport.wallTime() - transport.random() * 3_600_000);
    const detector = createDetector(options.detector, { random: transport.random });
    return { name, index: i, member: { id, startedAt }, transport, detector, socket: null, seq: 0, view: null as unknown as ViewSummary, linked: new Set<number>(), armedAt: Number.POSITIVE_INFINITY, timer: null };
  });
  const interval = nodes[0]?.detector.config.interval ?? 5000;
  const linkTimeout = options.linkTimeout ?? 4 * interval;
  const referee = options.referee === undefined ? null : nodes[index.get(options.referee) ?? -1]?.member.id ?? null;

  function refreshView(n: SimNode): void {
    n.view = viewSummary({ self: n.member, peers: [...n.linked].map((j) => nodes[j]!.member), referee });
    n.detector.setView(n.view, net.now);
  }

  function arm(n: SimNode): void {
    const wake = Math.max(net.now, n.detector.nextWakeup());
    if (wake >= n.armedAt) return;
    n.timer?.cancel();
    n.armedAt = wake;
    n.timer = n.transport.setTimer(wake - net.now, () => {
      n.armedAt = Number.POSITIVE_INFINITY;
      n.timer = null;
      tick(n);
    });
  }

  /** [0xc1, kind, alive, id u32, target u16, incarnation i32, seq f64]: the fields a kernel message must carry. */
  function encodeProbe(kind: 0 | 1, id: number, target: number, alive: boolean, incarnation = -1, seq = -1): Uint8Array {
    const b = new Uint8Array(21);
    const dv = new DataView(b.buffer);
    b[0] = PROBE;
    b[1] = kind;
    b[2] = alive ? 1 : 0;
    dv.setUint32(3, id >>> 0);
    dv.setUint16(7, target);
    dv.setInt32(9, incarnation);
    dv.setFloat64(13, seq);
    return b;
  }

  function tick(n: SimNode): void {
    const now = net.now;
    const out = n.detector.tick(now);
    if (options.onEvent) for (const e of out.events) options.onEvent(n.name, e);
    if (out.targets.length > 0 && n.socket !== null) {
      const bytes = encodeHeartbeat({
        cluster: 'sim', from: { id: n.member.id, name: n.name }, incarnation: net.incarnation(n.name), seq: ++n.seq, sentAt: now, view: n.view,
      });
      for (const t of out.targets) n.socket.send(bytes, addresses[index.get(t)!]!);
    }
    for (const p of out.probes) {
      const r = p.request;
      n.socket?.send(encodeProbe(0, r.id, index.get(r.target)!, false, r.incarnation, r.seq), addresses[index.get(p.to)!]!);
    }
    arm(n);
  }

  function receive(n: SimNode, bytes: Uint8Array, from: Address): void {
    const now = net.now;
    const sender = index.get(from.host);
    if (sender === undefined) return;
    if (bytes[0] === PROBE) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const id = dv.getUint32(3);
      const target = names[dv.getUint16(7)]!;
      if (bytes[1] === 0) {
        const req: ProbeRequest = { type: 'probe', id, target, incarnation: dv.getInt32(9), seq: dv.getFloat64(13) };
        const ans = n.detector.probeRequest(from.host, req, now);
        n.socket?.send(encodeProbe(1, ans.id, dv.getUint16(7), ans.alive), from);
      } else {
        const ans: ProbeAnswer = { type: 'probe-answer', id, target, alive: bytes[2] === 1 };
        n.detector.probeAnswer(from.host, ans, now);
      }
    } else {
      // With copyDatagrams: false every receiver of a round gets the same buffer: decode it once.
      let hb = decoded.get(bytes);
      if (hb === undefined) {
        hb = decodeHeartbeat(bytes);
        decoded.set(bytes, hb);
      }
      // The sender's canonical name string (not the decoded copy): the detector's Map then matches
      // it by identity. Authentication (the kernel's job) is what ties hb.from to the address.
      if (hb.from.name !== names[sender]) return;
      if (n.detector.heartbeat(names[sender]!, hb, now) && options.onHeartbeat) options.onHeartbeat(n.index, sender, now);
    }
    if (n.detector.nextWakeup() < n.armedAt) arm(n);
  }

  for (const n of nodes) {
    n.socket = await n.transport.bind({ host: n.name, port: PORT }, (bytes, from) => receive(n, bytes, from));
    for (const m of nodes) if (m !== n) n.linked.add(m.index);
  }
  for (const n of nodes) {
    refreshView(n);
    for (const m of nodes) if (m !== n) n.detector.linkUp(m.name, net.incarnation(m.name), net.now);
    arm(n);
  }

  return {
    names,
    detector: (name) => nodes[index.get(name)!]!.detector,
    view: (name) => nodes[index.get(name)!]!.view,
    partition(groups, opts) {
      net.partition(groups, opts);
      const started = net.now;
      net.at(started + linkTimeout, () => {
        // Links whose ends still cannot reach each other time out now, on both ends.
        const changed = new Set<SimNode>();
        for (const n of nodes) {
          for (const j of [...n.linked]) {
            const m = nodes[j]!;
            if (net.reachable(n.name, m.name) || !net.isUp(m.name) || !net.isUp(n.name)) continue;
            n.linked.delete(j);
            if (net.isUp(n.name)) n.detector.linkDown(m.name, 'tick timeout', net.now);
            changed.add(n);
          }
        }
        for (const n of changed) {
          if (!net.isUp(n.name)) continue;
          refreshView(n);
          arm(n);
        }
      });
    },
    crash(name) {
      net.crash(name);
    },
  };

}
