// The experiments, as functions of their parameters, on real kernels (kernel-cluster.ts):
// scripts/run.ts runs the full sizes and writes bench/results/sim-<scenario>.json; the tests run
// small versions. Every run is deterministic in its seed.
import type { StrategyName } from '@distkit/detector';
import type { KernelEvent, NodeOptions } from '@distkit/kernel';
import { createKernelCluster, type KernelCluster } from './kernel-cluster.ts';
import { createSimNetwork, type DelaySpec, type SimNetwork } from './network.ts';
import { createRandom } from './random.ts';

/** The p-quantile (0..1) of `xs`, nearest-rank. NaN for an empty list. */
export function quantile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i}`);

/** Every node linked to every other (the mesh is whole). */
export function whole(cluster: KernelCluster): boolean {
  const n = cluster.names.length;
  return cluster.names.every((name) => cluster.node(name).nodes().length === n - 1);
}

/** Common knobs; interval 1 s unless an experiment says otherwise. */
export interface ClusterShape {
  readonly interval?: number;
  readonly delay?: DelaySpec;
  readonly loss?: number;
  /**
   * Erlang's net_ticktime for the kernels. Default 15 intervals: a cut link dies within the
   * 30-interval splits, and idle links tick every 3.75 intervals (each tick is a sealed frame).
   */
  readonly tickTime?: number;
  /** The detector's stableAfter. Default 10 intervals. */
  readonly stableAfter?: number;
}

function nodeOptions(o: ClusterShape, strategy: StrategyName, n: number, extra: Partial<NodeOptions> = {}): Partial<NodeOptions> {
  const interval = o.interval ?? 1000;
  return {
    autoConnect: 'once',
    heartbeatIntervalMs: interval,
    tickTimeMs: o.tickTime ?? 15 * interval,
    setupTimeMs: 2 * interval,
    strategy,
    ...(strategy === 'static-quorum' ? { quorum: Math.floor(n / 2) + 1 } : {}),
    ...(strategy === 'keep-referee' ? { referee: 'n0' } : {}),
    detector: { stableAfter: o.stableAfter ?? 10 * interval },
    ...extra,
  };
}

async function linked(network: SimNetwork, cluster: KernelCluster, by: number): Promise<void> {
  await cluster.start();
  await network.run(by);
  if (!whole(cluster)) throw new Error(`the mesh is not whole at ${by} ms (${cluster.names.map((n) => cluster.node(n).nodes().length).join(',')})`);
}

export interface PartitionHealOptions extends ClusterShape {
  readonly n: number;
  readonly seed: number;
  readonly strategy: StrategyName;
  /** How long the split lasts. Default 30 intervals. */
  readonly duration?: number;
}

export interface PartitionHealResult {
  readonly seed: number;
  readonly sides: readonly [number, number];
  /** Per node: ms from the heal to its first `partition` event (Infinity: none before the end). */
  readonly healToPartition: readonly number[];
  /** Decision of each side (null: a node of that side decided nothing; 'mixed': its nodes disagreed). */
  readonly decisions: readonly ['stay' | 'restart' | null | 'mixed', 'stay' | 'restart' | null | 'mixed'];
  /** The outcome is what the strategy prescribes: one side restarts ('both' for down-all, neither for manual). */
  readonly agreed: boolean;
  readonly expected: 'one' | 'both' | 'none';
}

/** Splits a linked cluster of real kernels in two for `duration`, heals, and watches both sides find the partition and decide. */
export async function partitionHeal(o: PartitionHealOptions): Promise<PartitionHealResult> {
  const interval = o.interval ?? 1000;
  const duration = o.duration ?? 30 * interval;
  const network = createSimNetwork({ seed: o.seed, delay: o.delay ?? { min: 1, max: 5 }, loss: o.loss ?? 0, copyDatagrams: false });
  const random = createRandom(o.seed, 'scenario');
  const all = names(o.n);
  const order = shuffled(all, random);
  const cut = 1 + Math.floor(random() * (o.n - 1));
  const sides = [order.slice(0, cut), order.slice(cut)] as const;
  // The split starts after phi has learned the rhythm (ten intervals), at a random phase.
  const splitAt = 10 * interval + random() * interval;
  const healAt = splitAt + duration;
  const firstPartition = new Map<string, number>();
  const decisions = new Map<string, 'stay' | 'restart'>();
  const cluster = createKernelCluster({
    network, nodes: all, seed: o.seed, node: nodeOptions(o, o.strategy, o.n),
    onEvent(node, e: KernelEvent) {
      if (e.type === 'partition' && e.at >= healAt && !firstPartition.has(node)) firstPartition.set(node, e.at - healAt);
      if (e.type === 'decision' && e.at >= healAt && !decisions.has(node)) decisions.set(node, e.decision);
    },
  });
  await linked(network, cluster, splitAt - 1);
  network.partition([sides[0], sides[1]], { healAt });
  await network.run(healAt + (o.stableAfter ?? 10 * interval) + 10 * interval);
  await cluster.stop();

  const sideDecision = (side: readonly string[]) => {
    const ds = new Set(side.map((n) => decisions.get(n) ?? null));
    return ds.size !== 1 ? 'mixed' as const : [...ds][0]!;
  };
  const d = [sideDecision(sides[0]), sideDecision(sides[1])] as const;
  const quorum = Math.floor(o.n / 2) + 1;
  const neitherQuorum = o.strategy === 'static-quorum' && sides[0].length < quorum && sides[1].length < quorum;
  const expected = o.strategy === 'manual' ? 'none' : o.strategy === 'down-all' || neitherQuorum ? 'both' : 'one';
  const restarts = d.filter((x) => x === 'restart').length;
  const decided = d.every((x) => x === 'stay' || x === 'restart');
  const agreed = expected === 'none' ? restarts === 0 : decided && restarts === (expected === 'both' ? 2 : 1);
  return {
    seed: o.seed,
    sides: [sides[0].length, sides[1].length],
    healToPartition: all.map((n) => firstPartition.get(n) ?? Number.POSITIVE_INFINITY),
    decisions: d,
    agreed,
    expected,
  };
}

export interface CrashOptions extends ClusterShape {
  readonly n: number;
  readonly seed: number;
}

export interface CrashResult {
  readonly seed: number;
  /** Per surviving node: ms from the crash to its `down` verdict about the crashed node (Infinity: never). */
  readonly detection: readonly number[];
  /** Time until every other node says down. */
  readonly all: number;
}

/** One host of a linked cluster dies silently (no resets): how long until every other kernel says `down`? */
export async function crash(o: CrashOptions): Promise<CrashResult> {
  const interval = o.interval ?? 1000;
  const network = createSimNetwork({ seed: o.seed, delay: o.delay ?? { min: 1, max: 5 }, loss: o.loss ?? 0, copyDatagrams: false });
  const random = createRandom(o.seed, 'scenario');
  const all = names(o.n);
  const victim = all[Math.floor(random() * o.n)]!;
  const crashAt = 20 * interval + random() * interval;
  const downAt = new Map<string, number>();
  // A long tick time: the link outlives the detection, which must come from the heartbeats.
  const cluster = createKernelCluster({
    network, nodes: all, seed: o.seed, node: nodeOptions({ tickTime: 60_000, ...o }, 'keep-majority', o.n),
    onEvent(node, e) {
      if (e.type === 'verdict' && e.node === victim && e.verdict === 'down' && e.at >= crashAt && !downAt.has(node)) downAt.set(node, e.at - crashAt);
    },
  });
  await linked(network, cluster, crashAt - 1);
  cluster.crash(victim);
  await network.run(crashAt + 15 * interval);
  await cluster.stop();
  const detection = all.filter((n) => n !== victim).map((n) => downAt.get(n) ?? Number.POSITIVE_INFINITY);
  return { seed: o.seed, detection, all: Math.max(...detection) };
}

export interface FalseAlarmOptions extends ClusterShape {
  readonly n: number;
  readonly seed: number;
  /** Simulated time, ms. */
  readonly duration: number;
  readonly loss: number;
  /** One-way delay: 1 ms plus up to this much uniform jitter, ms. */
  readonly jitter: number;
  /** Silence (ms) after which a plain per-pair rule would declare a peer down (the anchor). */
  readonly plainSilence: number;
  /** Called after every simulated hour. */
  readonly progress?: (simulatedMs: number) => void;
}

export interface FalseAlarmResult {
  readonly pairIntervals: number;
  readonly down: number;
  readonly partitioned: number;
  readonly decision: number;
  readonly degraded: number;
  /** Links that went down (nobody failed: each one is a false alarm too). */
  readonly nodedown: number;
  /** What a plain "silent for plainSilence" rule per pair would have raised in the same run. */
  readonly plain: number;
  readonly heartbeats: number;
}

/** Nobody fails, the network is lossy and jittery; count the alarms anyway. */
export async function falseAlarms(o: FalseAlarmOptions): Promise<FalseAlarmResult> {
  const interval = o.interval ?? 1000;
  const n = o.n;
  const index = new Map(names(n).map((name, i) => [name, i]));
  const last = new Float64Array(n * n);
  let plain = 0;
  let heartbeats = 0;
  const warm = 10 * interval;
  const network = createSimNetwork({
    seed: o.seed, delay: { min: 1, max: 1 + o.jitter }, loss: o.loss, copyDatagrams: false,
    // The anchor sees every datagram the kernels exchange (heartbeats and probes alike).
    onDatagram(from, to, at) {
      heartbeats++;
      const k = index.get(to)! * n + index.get(from)!;
      if (at > warm && at - last[k]! > o.plainSilence) plain++;
      last[k] = at;
    },
  });
  const counts = { down: 0, partitioned: 0, decision: 0, degraded: 0, nodedown: 0 };
  let counting = true;
  // Erlang's default net_ticktime: the links ride out the loss as they would in production.
  const cluster = createKernelCluster({
    network, nodes: n, seed: o.seed, node: nodeOptions({ tickTime: 60_000, ...o }, 'keep-majority', n),
    onEvent(_node, e) {
      if (e.at < warm || !counting) return;
      if (e.type === 'decision') counts.decision++;
      else if (e.type === 'nodedown') counts.nodedown++;
      else if (e.type === 'verdict' && (e.verdict === 'down' || e.verdict === 'partitioned' || e.verdict === 'degraded')) counts[e.verdict]++;
    },
  });
  await linked(network, cluster, warm);
  for (let t = Math.min(o.duration, 3_600_000); ; t = Math.min(o.duration, t + 3_600_000)) {
    await network.run(t);
    o.progress?.(t);
    if (t >= o.duration) break;
  }
  counting = false; // the links closed by the stop below are no alarm
  await cluster.stop();
  // Pairs silent at the very end count too.
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && o.duration - last[i * n + j]! > o.plainSilence) plain++;
  return { pairIntervals: n * (n - 1) * (o.duration / interval), ...counts, plain, heartbeats };
}

export interface OverlapOptions extends ClusterShape {
  readonly seed: number;
  /** Three groups; the first and the last lose their paths to each other, the middle keeps both. */
  readonly groups: readonly [number, number, number];
  /** How long the cut lasts. Default 30 intervals (longer than the tick time: the cut links die). */
  readonly duration?: number;
}

export interface OverlapResult {
  readonly seed: number;
  /** ms from the heal until the mesh was whole again (Infinity: not within 3 × stableAfter). */
  readonly wholeAfter: number;
  /** Restarts per node, over the whole run. */
  readonly restarts: readonly number[];
  /** Nodes that restarted, by group. */
  readonly restartedByGroup: readonly [number, number, number];
}

/**
 * An overlapping partition: groups A, B, C; A–B and B–C keep their paths, A–C lose theirs for a
 * while, then the cut heals. The cluster must end whole, nobody restarting twice.
 */
export async function overlappingPartition(o: OverlapOptions): Promise<OverlapResult> {
  const interval = o.interval ?? 1000;
  const stableAfter = o.stableAfter ?? 10 * interval;
  const duration = o.duration ?? 30 * interval;
  const n = o.groups[0] + o.groups[1] + o.groups[2];
  const network = createSimNetwork({ seed: o.seed, delay: o.delay ?? { min: 1, max: 5 }, loss: o.loss ?? 0, copyDatagrams: false });
  const random = createRandom(o.seed, 'scenario');
  const order = shuffled(names(n), random);
  const groups = [order.slice(0, o.groups[0]), order.slice(o.groups[0], o.groups[0] + o.groups[1]), order.slice(o.groups[0] + o.groups[1])] as const;
  const cluster = createKernelCluster({
    network, nodes: names(n), seed: o.seed, node: nodeOptions(o, 'keep-majority', n), restartOnDecision: { delayMs: interval },
  });
  const cutAt = 10 * interval + random() * interval;
  const healAt = cutAt + duration;
  await linked(network, cluster, cutAt - 1);
  for (const a of groups[0]) for (const c of groups[2]) network.cut(a, c);
  await network.run(healAt);
  for (const a of groups[0]) for (const c of groups[2]) network.mend(a, c);
  let wholeAfter = Number.POSITIVE_INFINITY;
  for (let t = healAt + interval; t <= healAt + 3 * stableAfter; t += interval / 4) {
    await network.run(t);
    if (whole(cluster)) {
      wholeAfter = t - healAt;
      break;
    }
  }
  await cluster.stop();
  const restarts = cluster.names.map((name) => cluster.restarts(name));
  const by = (g: readonly string[]) => g.filter((name) => cluster.restarts(name) > 0).length;
  return { seed: o.seed, wholeAfter, restarts, restartedByGroup: [by(groups[0]), by(groups[1]), by(groups[2])] };
}

export interface FlappingOptions extends ClusterShape {
  readonly n: number;
  readonly seed: number;
  /** Cut and heal one pair's path every `period` ms for `duration` ms. Defaults: 2 s, 60 s. */
  readonly period?: number;
  readonly duration?: number;
}

export interface FlappingResult {
  readonly seed: number;
  /** ms from the end of the flapping until the mesh was whole (Infinity: not within stableAfter + 3 intervals). */
  readonly wholeAfter: number;
  readonly maxRestarts: number;
}

/** One pair's path is cut and healed every `period` for `duration`: nobody restarts twice, and the cluster is whole soon after. */
export async function flapping(o: FlappingOptions): Promise<FlappingResult> {
  const interval = o.interval ?? 1000;
  const stableAfter = o.stableAfter ?? 10 * interval;
  const period = o.period ?? 2000;
  const duration = o.duration ?? 60_000;
  const network = createSimNetwork({ seed: o.seed, delay: o.delay ?? { min: 1, max: 5 }, loss: o.loss ?? 0, copyDatagrams: false });
  const random = createRandom(o.seed, 'scenario');
  const [a, b] = shuffled(names(o.n), random) as [string, string];
  // A tick time of two intervals: each 2 s cut kills the pair's link (the hard case: links drop
  // and views change with every cut), unlike the default 15 s, which every cut would ride out.
  const cluster = createKernelCluster({
    network, nodes: o.n, seed: o.seed, node: nodeOptions({ tickTime: 2 * interval, ...o }, 'keep-majority', o.n), restartOnDecision: { delayMs: interval },
  });
  const startAt = 10 * interval + random() * interval;
  await linked(network, cluster, startAt - 1);
  const endAt = startAt + duration;
  let cutNow = false;
  for (let t = startAt; t < endAt; t += period) {
    await network.run(t);
    if (cutNow) network.mend(a, b);
    else network.cut(a, b);
    cutNow = !cutNow;
  }
  await network.run(endAt);
  if (cutNow) network.mend(a, b);
  let wholeAfter = Number.POSITIVE_INFINITY;
  for (let t = endAt + interval / 4; t <= endAt + stableAfter + 3 * interval; t += interval / 4) {
    await network.run(t);
    if (whole(cluster)) {
      wholeAfter = t - endAt;
      break;
    }
  }
  await cluster.stop();
  return { seed: o.seed, wholeAfter, maxRestarts: Math.max(...cluster.names.map((name) => cluster.restarts(name))) };
}

export interface ScaleOptions {
  readonly n: number;
  readonly seed: number;
  /** Simulated time after the mesh is whole, ms. */
  readonly duration: number;
  readonly interval?: number;
}

export interface ScaleResult {
  readonly simulatedMs: number;
  /** Wall-clock ms the steady part took (after the mesh formed). */
  readonly wallMs: number;
  /** Wall-clock ms to form the mesh (N(N-1)/2 handshakes). */
  readonly setupWallMs: number;
  /** CPU ms of this process in the steady part (0 without a `cpu` clock): on a shared machine, wall time counts others' work too. */
  readonly cpuMs: number;
  readonly datagrams: number;
  readonly events: number;
  /**
   * Handshakes while the mesh formed, summed over every node (each completed one counts at both
   * ends): `ok` / 2 against the N(N-1)/2 pairs shows how many pairs linked twice; `refused`
   * counts the simultaneous dials one side turned away.
   */
  readonly handshakes: { readonly ok: number; readonly refused: number; readonly failed: number; readonly timeout: number };
}

/** N kernels, full mesh; the caller measures memory. `cpu`: a CPU-time clock, ms (process.cpuUsage). */
export async function scale(o: ScaleOptions, clock: () => number, cpu: () => number = () => 0): Promise<ScaleResult & { cluster: KernelCluster }> {
  const interval = o.interval ?? 5000;
  const network = createSimNetwork({ seed: o.seed, delay: { min: 1, max: 5 }, copyDatagrams: false });
  const cluster = createKernelCluster({
    network, nodes: o.n, seed: o.seed,
    node: { autoConnect: 'once', heartbeatIntervalMs: interval, setupTimeMs: 60_000, maxQueuedEvents: 1000 },
  });
  const t0 = clock();
  await linked(network, cluster, 10 * interval);
  const t1 = clock();
  const handshakes = { ok: 0, refused: 0, failed: 0, timeout: 0 };
  for (const name of cluster.names) {
    const h = cluster.node(name).stats().handshakes;
    handshakes.ok += h.ok;
    handshakes.refused += h.refused;
    handshakes.failed += h.failed;
    handshakes.timeout += h.timeout;
  }
  const before = network.stats();
  const c1 = cpu();
  await network.run(10 * interval + o.duration);
  const c2 = cpu();
  const after = network.stats();
  const t2 = clock();
  return {
    simulatedMs: o.duration, wallMs: t2 - t1, setupWallMs: t1 - t0, cpuMs: c2 - c1, handshakes,
    datagrams: after.datagramsDelivered - before.datagramsDelivered, events: after.events - before.events, cluster,
  };
}
