// The experiments of the detector issue, as functions of their parameters: scripts/run.ts runs the
// full sizes and writes bench/results/sim-<scenario>.json; the tests run small versions.
import type { DetectorConfig, DetectorEvent, Decision, StrategyName } from '@distkit/detector';
import { createCluster } from './cluster.ts';
import { createSimNetwork, type DelaySpec } from './network.ts';
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

export interface PartitionHealOptions {
  readonly n: number;
  readonly seed: number;
  readonly strategy: StrategyName;
  /** Default 5000 ms (the issue's). */
  readonly interval?: number;
  /** How long the split lasts. Default 60 000 ms. */
  readonly duration?: number;
  readonly delay?: DelaySpec;
  readonly loss?: number;
  readonly stableAfter?: number;
}

export interface PartitionHealResult {
  readonly seed: number;
  readonly sides: readonly [number, number];
  /** Per node: ms from the heal to its first `partition` event (Infinity: none before the end). */
  readonly healToPartition: readonly number[];
  /** Decision of each side (null: a node of that side decided nothing; 'mixed': its nodes disagreed). */
  readonly decisions: readonly [Decision | null | 'mixed', Decision | null | 'mixed'];
  /** Both sides decided, each side unanimously, and the outcome is what the strategy prescribes for these two views. */
  readonly agreed: boolean;
  /** Exactly one side restarts. */
  readonly exactlyOne: boolean;
  /** What the strategy prescribes here: for static-quorum, both restart when neither side holds a quorum. */
  readonly expected: 'one' | 'both';
}

/** Experiment 1: split a linked cluster in two for `duration`, heal, and watch both sides find the partition and decide. */
export async function partitionHeal(o: PartitionHealOptions): Promise<PartitionHealResult> {
  const interval = o.interval ?? 5000;
  const duration = o.duration ?? 60_000;
  const stableAfter = o.stableAfter ?? 20_000;
  const network = createSimNetwork({ seed: o.seed, delay: o.delay ?? { min: 1, max: 5 }, loss: o.loss ?? 0, copyDatagrams: false });
  const random = createRandom(o.seed, 'scenario');
  const quorum = Math.floor(o.n / 2) + 1;
  const config: DetectorConfig = { interval, stableAfter, strategy: o.strategy, ...(o.strategy === 'static-quorum' ? { quorum } : {}) };
  const names = Array.from({ length: o.n }, (_, i) => `n${i}`);
  const order = shuffled(names, random);
  const cut = 1 + Math.floor(random() * (o.n - 1));
  const sides = [order.slice(0, cut), order.slice(cut)] as const;
  const sideOf = new Map<string, 0 | 1>();
  for (const n of sides[0]) sideOf.set(n, 0);
  for (const n of sides[1]) sideOf.set(n, 1);
  // The split starts after phi has learned the rhythm (six intervals), at a random phase.
  const splitAt = 6 * interval + random() * interval;
  const healAt = splitAt + duration;
  const firstPartition = new Map<string, number>();
  const decisions = new Map<string, Decision>();
  const cluster = await createCluster({
    network, nodes: names, detector: config,
    onEvent(node, e: DetectorEvent) {
      if (e.type === 'partition' && e.at >= healAt && !firstPartition.has(node)) firstPartition.set(node, e.at - healAt);
      if (e.type === 'decision' && e.at >= healAt && !decisions.has(node)) decisions.set(node, e.decision);
    },
  });
  network.at(splitAt, () => cluster.partition([sides[0], sides[1]], { healAt }));
  network.runSync(healAt + stableAfter + 4 * interval);

  const sideDecision = (side: readonly string[]): Decision | null | 'mixed' => {
    const ds = new Set(side.map((n) => decisions.get(n) ?? null));
    return ds.size !== 1 ? 'mixed' : [...ds][0]!;
  };
  const d = [sideDecision(sides[0]), sideDecision(sides[1])] as const;
  const neitherQuorum = o.strategy === 'static-quorum' && sides[0].length < quorum && sides[1].length < quorum;
  const expected = o.strategy === 'down-all' || neitherQuorum ? 'both' : 'one';
  const restarts = d.filter((x) => x === 'restart').length;
  const decided = d.every((x) => x === 'stay' || x === 'restart');
  return {
    seed: o.seed,
    sides: [sides[0].length, sides[1].length],
    healToPartition: names.map((n) => firstPartition.get(n) ?? Number.POSITIVE_INFINITY),
    decisions: d,
    agreed: decided && (expected === 'both' ? restarts === 2 : restarts === 1),
    exactlyOne: decided && restarts === 1,
    expected,
  };
}

export interface CrashOptions {
  readonly n: number;
  readonly seed: number;
  /** Default 1000 ms (the issue's). */
  readonly interval?: number;
  readonly loss?: number;
  readonly delay?: DelaySpec;
  readonly detector?: DetectorConfig;
}

export interface CrashResult {
  readonly seed: number;
  /** Per surviving node: ms from the crash to its `down` verdict about the crashed node (Infinity: never). */
  readonly detection: readonly number[];
  /** Time until every other node says down. */
  readonly all: number;
}

/** Experiment 2: one node of a linked cluster crashes silently (no resets); how long until everyone says `down`? */
export async function crash(o: CrashOptions): Promise<CrashResult> {
  const interval = o.interval ?? 1000;
  const network = createSimNetwork({ seed: o.seed, delay: o.delay ?? { min: 1, max: 5 }, loss: o.loss ?? 0, copyDatagrams: false });
  const random = createRandom(o.seed, 'scenario');
  const names = Array.from({ length: o.n }, (_, i) => `n${i}`);
  const victim = names[Math.floor(random() * o.n)]!;
  const crashAt = 30 * interval + random() * interval;
  const downAt = new Map<string, number>();
  const cluster = await createCluster({
    network, nodes: names, detector: { interval, ...o.detector },
    onEvent(node, e) {
      if (e.type === 'verdict' && e.peer === victim && e.to === 'down' && e.at >= crashAt && !downAt.has(node)) downAt.set(node, e.at - crashAt);
    },
  });
  network.at(crashAt, () => cluster.crash(victim));
  network.runSync(crashAt + 15 * interval);
  const detection = names.filter((n) => n !== victim).map((n) => downAt.get(n) ?? Number.POSITIVE_INFINITY);
  return { seed: o.seed, detection, all: Math.max(...detection) };
}

export interface FalseAlarmOptions {
  readonly n: number;
  readonly seed: number;
  /** Simulated time, ms. */
  readonly duration: number;
  readonly interval?: number;
  readonly loss: number;
  /** One-way delay: 1 ms plus up to this much uniform jitter, ms. */
  readonly jitter: number;
  /** Silence (ms) after which the plain per-pair rule would declare a peer down (the anchor). */
  readonly plainSilence: number;
  readonly detector?: DetectorConfig;
  /** Called after every simulated hour. */
  readonly progress?: (simulatedMs: number) => void;
}

export interface FalseAlarmResult {
  readonly pairIntervals: number;
  readonly down: number;
  readonly partitioned: number;
  readonly decision: number;
  readonly degraded: number;
  /** What a plain "silent for plainSilence" rule per pair would have raised in the same run. */
  readonly plain: number;
  readonly heartbeats: number;
  readonly probes: number;
}

/** Experiment 3: nobody fails, the network is lossy and jittery; count the alarms anyway. */
export async function falseAlarms(o: FalseAlarmOptions): Promise<FalseAlarmResult> {
  const interval = o.interval ?? 1000;
  const network = createSimNetwork({ seed: o.seed, delay: { min: 1, max: 1 + o.jitter }, loss: o.loss, copyDatagrams: false });
  const counts = { down: 0, partitioned: 0, decision: 0, degraded: 0 };
  const n = o.n;
  const last = new Float64Array(n * n).fill(0);
  let plain = 0;
  let heartbeats = 0;
  const warm = 10 * interval;
  const cluster = await createCluster({
    network, nodes: n, detector: { interval, ...o.detector },
    onEvent(_node, e) {
      if (e.type === 'decision') counts.decision++;
      else if (e.type === 'verdict' && (e.to === 'down' || e.to === 'partitioned' || e.to === 'degraded')) counts[e.to]++;
    },
    onHeartbeat(node, from, at) {
      heartbeats++;
      const k = node * n + from;
      if (at > warm && at - last[k]! > o.plainSilence) plain++;
      last[k] = at;
    },
  });
  for (let t = Math.min(o.duration, 3_600_000); ; t = Math.min(o.duration, t + 3_600_000)) {
    network.runSync(t);
    o.progress?.(t);
    if (t >= o.duration) break;
  }
  // Pairs silent at the very end count too.
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && o.duration - last[i * n + j]! > o.plainSilence) plain++;
  let probes = 0;
  for (const name of cluster.names) probes += cluster.detector(name).stats().probesSent;
  return { pairIntervals: n * (n - 1) * (o.duration / interval), ...counts, plain, heartbeats, probes };
}

export interface ScaleOptions {
  readonly n: number;
  readonly seed: number;
  readonly duration: number;
  readonly interval?: number;
}

export interface ScaleResult {
  readonly simulatedMs: number;
  readonly heartbeats: number;
  readonly events: number;
}

/** Experiment 4's simulation half: N nodes all-to-all; the caller times it. */
export async function scale(o: ScaleOptions): Promise<ScaleResult> {
  const interval = o.interval ?? 5000;
  const network = createSimNetwork({ seed: o.seed, delay: { min: 1, max: 5 }, copyDatagrams: false });
  let heartbeats = 0;
  await createCluster({ network, nodes: o.n, detector: { interval }, onHeartbeat: () => void heartbeats++ });
  network.runSync(o.duration);
  return { simulatedMs: o.duration, heartbeats, events: network.stats().events };
}
