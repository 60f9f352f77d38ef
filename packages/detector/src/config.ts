import { DetectorError } from './errors.ts';
import { STRATEGIES, type StrategyName } from './resolve.ts';

/** Everything the detector can be told; every key is optional in `createDetector` and `configure`. */
export interface DetectorConfig {
  /** Heartbeat interval, ms. Default 5000 (DESIGN.md: "every few seconds", the seed's rhythm). */
  readonly interval?: number;
  /** Heartbeat rounds are jittered by ±this fraction of the interval. Default 0.1. */
  readonly jitter?: number;
  /** Heartbeat targets per round: every known host (`'all'`, the seed's design) or k random ones. */
  readonly fanout?: 'all' | number;
  /** phi at which a silent peer becomes suspect. Default 8 (Akka's cluster failure detector; Cassandra's phi_convict_threshold is also 8). */
  readonly threshold?: number;
  /** Floor of the interval standard deviation, ms. Default 100 (Akka: min-std-deviation = 100 ms). */
  readonly minStdDev?: number;
  /**
   * Silence tolerated on top of the learned intervals, ms. Akka defaults to 3 s because a phi
   * verdict is final there; here a suspicion is checked with other nodes first, so the default is 0.
   */
  readonly acceptablePause?: number;
  /** Heartbeat intervals remembered per peer. Default 1000 (Akka: max-sample-size = 1000). */
  readonly maxSampleSize?: number;
  /** Hard silence limit, ms: beyond it a peer is silent whatever phi and other nodes say. Default 10 × interval. */
  readonly maxSilence?: number;
  /**
   * Silence after which a *linked* peer is suspected (probes asked) even when phi is still below
   * the threshold, ms. phi learns from few samples on a lossy path and can wait long; asking costs
   * only probes, and only the unanimous "not heard" of the nodes asked makes a peer `down`.
   * Default 2.5 × interval with fanout `all` (two heartbeats missed in a row); none with a fanout.
   */
  readonly suspectAfter?: number;
  /** Other nodes asked "do you still hear X?" before X is declared silent. Default 3 (memberlist: IndirectChecks = 3). */
  readonly probes?: number;
  /** How long a round of probes waits for answers before a new round, ms. Default 500 (memberlist: ProbeTimeout = 500 ms). */
  readonly probeTimeout?: number;
  /** How often suspicion, probe and decision deadlines are checked, ms. Default interval / 10. */
  readonly checkEvery?: number;
  /** Who restarts after a partition. Default `keep-majority`. */
  readonly strategy?: StrategyName;
  /** Quorum size for `static-quorum` (nodes, the deciding node included). */
  readonly quorum?: number;
  /** Both views must be unchanged this long before a decision, ms. Default 20000 (Akka SBR: stable-after = 20 s). */
  readonly stableAfter?: number;
}

/** The configuration in force: every key resolved. */
export interface ResolvedDetectorConfig {
  readonly interval: number;
  readonly jitter: number;
  readonly fanout: 'all' | number;
  readonly threshold: number;
  readonly minStdDev: number;
  readonly acceptablePause: number;
  readonly maxSampleSize: number;
  readonly maxSilence: number;
  readonly suspectAfter: number;
  readonly probes: number;
  readonly probeTimeout: number;
  readonly checkEvery: number;
  readonly strategy: StrategyName;
  readonly quorum: number | null;
  readonly stableAfter: number;
}

const KEYS: ReadonlySet<string> = new Set([
  'interval', 'jitter', 'fanout', 'threshold', 'minStdDev', 'acceptablePause', 'maxSampleSize', 'maxSilence',
  'suspectAfter', 'probes', 'probeTimeout', 'checkEvery', 'strategy', 'quorum', 'stableAfter',
]);

function bad(key: string, why: string, value: unknown): never {
  throw new DetectorError('INVALID_CONFIG', key, `${key} ${why} (got ${typeof value === 'string' ? JSON.stringify(value) : String(value)})`);
}

function positive(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(key, 'must be a finite number > 0', v);
  return v;
}

function nonNegative(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad(key, 'must be a finite number >= 0', v);
  return v;
}

function integer(key: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) bad(key, `must be an integer >= ${min}`, v);
  return v;
}

/**
 * Validates `changes` over `base` (or the defaults) and returns the complete configuration.
 * Throws `DetectorError('INVALID_CONFIG')` naming the first offending key.
 */
export function resolveConfig(changes: DetectorConfig, base?: ResolvedDetectorConfig): ResolvedDetectorConfig {
  if (changes === null || typeof changes !== 'object') bad('config', 'must be an object', changes);
  for (const key of Object.keys(changes)) if (!KEYS.has(key)) bad(key, 'is not a detector configuration key', key);
  const c = changes as Record<string, unknown>;
  const has = (k: string) => c[k] !== undefined;
  const interval = has('interval') ? positive('interval', c['interval']) : base?.interval ?? 5000;
  const jitter = has('jitter') ? nonNegative('jitter', c['jitter']) : base?.jitter ?? 0.1;
  if (jitter >= 1) bad('jitter', 'must be < 1 (a fraction of the interval)', jitter);
  let fanout: 'all' | number = base?.fanout ?? 'all';
  if (has('fanout')) fanout = c['fanout'] === 'all' ? 'all' : integer('fanout', c['fanout'], 1);
  const strategy = (has('strategy') ? c['strategy'] : base?.strategy ?? 'keep-majority') as StrategyName;
  if (!STRATEGIES.includes(strategy)) bad('strategy', `must be one of ${STRATEGIES.join(', ')}`, strategy);
  const quorum = has('quorum') ? integer('quorum', c['quorum'], 1) : base?.quorum ?? null;
  if (strategy === 'static-quorum' && quorum === null) bad('quorum', 'is required by strategy static-quorum', quorum);
  // Keys whose defaults derive from the interval follow it unless set explicitly now or before.
  const derived = (k: 'maxSilence' | 'checkEvery', factor: number) =>
    has(k) ? positive(k, c[k]) : base && !has('interval') ? base[k] : interval * factor;
  const config: ResolvedDetectorConfig = {
    interval,
    jitter,
    fanout,
    threshold: has('threshold') ? positive('threshold', c['threshold']) : base?.threshold ?? 8,
    minStdDev: has('minStdDev') ? positive('minStdDev', c['minStdDev']) : base?.minStdDev ?? 100,
    acceptablePause: has('acceptablePause') ? nonNegative('acceptablePause', c['acceptablePause']) : base?.acceptablePause ?? 0,
    maxSampleSize: has('maxSampleSize') ? integer('maxSampleSize', c['maxSampleSize'], 2) : base?.maxSampleSize ?? 1000,
    maxSilence: derived('maxSilence', 10),
    suspectAfter: has('suspectAfter') ? positive('suspectAfter', c['suspectAfter'])
      : base && !has('interval') && !has('fanout') ? base.suspectAfter
      : fanout === 'all' ? interval * 2.5 : Number.POSITIVE_INFINITY,
    probes: has('probes') ? integer('probes', c['probes'], 0) : base?.probes ?? 3,
    probeTimeout: has('probeTimeout') ? positive('probeTimeout', c['probeTimeout']) : base?.probeTimeout ?? 500,
    checkEvery: derived('checkEvery', 0.1),
    strategy,
    quorum,
    stableAfter: has('stableAfter') ? nonNegative('stableAfter', c['stableAfter']) : base?.stableAfter ?? 20_000,
  };
  return config;
}
