import type { ViewSummary } from '@distkit/wire';
import { resolveConfig, type DetectorConfig, type ResolvedDetectorConfig } from './config.ts';
import { DetectorError } from './errors.ts';
import { IntervalWindows, phi, thresholdY } from './phi.ts';
import { decide, type Decision, type StrategyName } from './resolve.ts';
import { compareIds, toHex } from './view.ts';

/** A peer, named as the kernel names it (the node name bound to its key by the trust store). */
export type PeerKey = string;

/**
 * What this node believes about a peer, from link state × heartbeats × incarnation:
 * - `unknown`: nothing heard, never linked.
 * - `alive`: heartbeats arriving, never linked (e.g. a `never` peer nobody connected to yet).
 * - `up`: link up and heartbeats not (confirmed) silent.
 * - `down`: heartbeats silent and nobody else hears it either (or link down and nothing heard since).
 * - `partitioned`: link down, heartbeats arriving since, same incarnation: alive but cut off from us.
 * - `restarted`: link down, heartbeats arriving since with a higher incarnation.
 * - `degraded`: link up, but we have not heard its heartbeats for `maxSilence` while others do.
 * - `disconnected`: the link was closed on purpose (by either side, or the peer left); heartbeats
 *   heard since mean nothing, so there is no partition for this pair until a new link or a restart.
 */
export type Verdict = 'unknown' | 'alive' | 'up' | 'down' | 'partitioned' | 'restarted' | 'degraded' | 'disconnected';
/** Every verdict, in the order above. */
export const VERDICTS: readonly Verdict[] = Object.freeze(['unknown', 'alive', 'up', 'down', 'partitioned', 'restarted', 'degraded', 'disconnected'] as const);

/** The parts of an authenticated, decoded heartbeat (@distkit/wire `Heartbeat`) the detector reads. */
export interface HeartbeatInput {
  readonly incarnation: number;
  readonly seq: number;
  readonly view: ViewSummary;
}

/**
 * "Do you still hear `target`? The last I heard from it was (incarnation, seq)": sent by the kernel
 * to another node over the authenticated datagram channel. `id` is this detector's round number;
 * the answer must echo it. (-1, -1): the asker never heard it.
 */
export interface ProbeRequest {
  readonly type: 'probe';
  readonly id: number;
  readonly target: PeerKey;
  readonly incarnation: number;
  readonly seq: number;
}

/**
 * The answer: `alive` when the answering node has heard `target` send something newer than the
 * asker's (incarnation, seq), recently enough that it does not suspect it itself.
 */
export interface ProbeAnswer {
  readonly type: 'probe-answer';
  readonly id: number;
  readonly target: PeerKey;
  readonly alive: boolean;
}

/** A probe request to send now, to node `to`. */
export interface OutgoingProbe {
  readonly to: PeerKey;
  readonly request: ProbeRequest;
}

/** Why a verdict changed, and what was known at that moment. */
export interface Evidence {
  readonly cause: 'heartbeat' | 'link-up' | 'link-down' | 'probes-confirmed' | 'no-helpers' | 'max-silence';
  readonly link: 'up' | 'down' | 'never';
  readonly linkReason: string | null;
  /** Incarnation the link's handshake reported (null: never linked). */
  readonly linkIncarnation: number | null;
  /** Latest heartbeat incarnation and sequence (null: none heard). */
  readonly heartbeat: { readonly incarnation: number; readonly seq: number } | null;
  /** ms since the last heartbeat (null: none heard). */
  readonly silence: number | null;
  /** phi at that moment (null: none heard). */
  readonly phi: number | null;
  /** The last probe round about this peer: nodes asked, "not heard" answers, "heard" answers. */
  readonly probes: { readonly asked: number; readonly confirmed: number; readonly refuted: number } | null;
}

export type DetectorEvent =
  | { readonly type: 'verdict'; readonly at: number; readonly peer: PeerKey; readonly from: Verdict; readonly to: Verdict; readonly evidence: Evidence }
  | {
    readonly type: 'partition';
    readonly at: number;
    readonly peer: PeerKey;
    /** `<my view hash>/<their view hash>`, hex: the same partition seen from another peer has the same key. */
    readonly partition: string;
    readonly mine: ViewSummary | null;
    readonly theirs: ViewSummary;
  }
  | {
    readonly type: 'decision';
    readonly at: number;
    readonly peer: PeerKey;
    readonly partition: string;
    readonly mine: ViewSummary;
    readonly theirs: ViewSummary;
    readonly strategy: StrategyName;
    readonly decision: Decision;
  };

export interface TickOutput {
  /** Events since the last tick, in order. */
  readonly events: DetectorEvent[];
  /** Peers to send a heartbeat to now (empty between rounds). Do not mutate. */
  readonly targets: readonly PeerKey[];
  /** Probe requests to send now. */
  readonly probes: OutgoingProbe[];
}

export interface PeerStatus {
  readonly peer: PeerKey;
  readonly verdict: Verdict;
  readonly link: 'up' | 'down' | 'never';
  readonly suspected: boolean;
  readonly phi: number | null;
  readonly lastHeard: number | null;
  /**
   * Share of the peer's heartbeat rounds that did not arrive, over its last 100 rounds
   * (or fewer, from 10, after a start); null before that, or with a `fanout`
   * (then a peer is not sent every round, and gaps are not losses).
   */
  readonly loss: number | null;
  readonly heartbeat: { readonly incarnation: number; readonly seq: number } | null;
  readonly view: ViewSummary | null;
}

export interface DetectorStats {
  readonly heartbeats: number;
  /** Heartbeats dropped because their (incarnation, seq) was not newer than one already seen. */
  readonly stale: number;
  readonly probesSent: number;
  readonly probesAnswered: number;
  readonly answersReceived: number;
  /** Answers that did not match a round in progress (late, duplicated, or from a node not asked). */
  readonly answersIgnored: number;
}

export interface Detector {
  readonly config: ResolvedDetectorConfig;
  /** Changes configuration keys; validated like `createDetector`'s. Takes effect at the next input. */
  configure(changes: DetectorConfig): void;
  /** Adds a known host (a heartbeat target). Inputs about an unknown peer add it too. */
  addPeer(peer: PeerKey): void;
  /** Forgets a peer: no more heartbeats to it, no more events about it. */
  removePeer(peer: PeerKey): void;
  /** This node's own view summary (see `viewSummary`), whenever its member set changes. */
  setView(view: ViewSummary, at: number): void;
  /** An authenticated heartbeat from `from`. Returns false when it was stale (replayed or reordered) and ignored. */
  heartbeat(from: PeerKey, hb: HeartbeatInput, at: number): boolean;
  /** A session with `peer` is established; `incarnation` is the one its handshake carried. */
  linkUp(peer: PeerKey, incarnation: number, at: number): void;
  /**
   * The session with `peer` ended. `deliberate`: it was closed on purpose (a disconnect, a stop, a
   * leave, told in its closing frame): the verdict is `disconnected`, never `partitioned`, until a
   * new link or a restart.
   */
  linkDown(peer: PeerKey, reason: string, at: number, deliberate?: boolean): void;
  /** Another node asks whether we hear `request.target`; send the returned answer back to `from`. */
  probeRequest(from: PeerKey, request: ProbeRequest, at: number): ProbeAnswer;
  /** An answer to one of our probe requests. */
  probeAnswer(from: PeerKey, answer: ProbeAnswer, at: number): void;
  /** Advances time: fires due deadlines and returns events, heartbeat targets and probes. */
  tick(now: number): TickOutput;
  /** When `tick` next has work (ms, same clock as `at`); -Infinity before the first tick. */
  nextWakeup(): number;
  verdict(peer: PeerKey): Verdict;
  /** What is known about `peer` at time `now` (phi is computed for `now`). */
  status(peer: PeerKey, now: number): PeerStatus | null;
  peers(): PeerKey[];
  stats(): DetectorStats;
}

export interface DetectorDeps {
  /** Uniform in [0, 1): jitter of heartbeat rounds and choice of probe helpers and fanout targets. */
  readonly random: () => number;
}

const NONE_ASKED: PeerKey[] = [];
/**
 * Helpers asked beyond `probes`, as spares: on a lossy path (5% each way) a round of exactly 3
 * fails one time in four for a lost probe or answer and costs a probe timeout; with 2 spares, 3
 * answers out of 5 arrive in time 99 rounds in 100 (measured: `npm run sim -- crash`, N=50).
 */
const SPARE_HELPERS = 2;
/** Heartbeat rounds per loss figure, and the fewest a first figure needs. */
const LOSS_WINDOW = 100;
const LOSS_MIN_ROUNDS = 10;

// Fields in the order a heartbeat touches them: V8 lays them out in declaration order, and with
// a million peers in one process (the scale experiment) cache lines are the cost.
class Peer {
  readonly name: PeerKey;
  hbIncarnation = -1;
  hbSeq = -1;
  heard = false;
  lastArrival = Number.NEGATIVE_INFINITY;
  /** Slot of this peer's interval window (-1: none yet). */
  slot = -1;
  /** When phi reaches the threshold if nothing arrives (recomputed on each heartbeat). */
  deadline = Number.POSITIVE_INFINITY;
  /** Since when the silence limits are counted (last heartbeat, or link up if none since). */
  silenceFrom = Number.NEGATIVE_INFINITY;
  /** The peer's view hash as four 32-bit words, to compare without touching the old view object. */
  h0 = 0;
  h1 = 0;
  h2 = 0;
  h3 = 0;
  theirs: ViewSummary | null = null;
  theirsSince = 0;
  /**
   * When the path to this peer last faltered (a heartbeat gap of more than two intervals, or a
   * suspicion): a decision also waits for the path to be stable for stableAfter, so a link that
   * flaps is resolved once, after it stops, not at every cut.
   */
  pathUnstableAt = 0;
  suspected = false;
  silent = false;
  linked = false;
  verdict: Verdict = 'unknown';
  silentCause: Evidence['cause'] | null = null;
  everLinked = false;
  linkIncarnation = -1;
  linkChangedAt = Number.NEGATIVE_INFINITY;
  linkReason: string | null = null;
  /** The incarnation we knew when the link went down: a later heartbeat with more is a restart. */
  incarnationAtLinkDown = -1;
  /** The last link was closed on purpose. */
  deliberate = false;
  /** Loss window: the first sequence number in it (-1: none), heartbeats received in it, the last figure. */
  lossFrom = -1;
  lossGot = 0;
  loss = -1;
  round = -1;
  roundEnds = 0;
  /** Nodes asked in the current round that have not answered (shared empty array when none: memory per peer counts). */
  asked: PeerKey[] = NONE_ASKED;
  askedCount = 0;
  confirmed = 0;
  refuted = 0;
  /** "Not heard" answers that settle the current round (`probes`, or fewer when fewer were asked). */
  need = 0;

  constructor(name: PeerKey) {
    this.name = name;
  }
}

function checkTime(at: number, key: string): void {
  if (typeof at !== 'number' || Number.isNaN(at)) throw new DetectorError('INVALID_INPUT', key, `${key} must be a number (ms)`);
}

function checkPeer(peer: PeerKey, key: string): void {
  if (typeof peer !== 'string' || peer.length === 0) throw new DetectorError('INVALID_INPUT', key, `${key} must be a non-empty string`);
}

function checkCounter(v: number, key: string): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new DetectorError('INVALID_INPUT', key, `${key} must be an integer >= 0`);
}

function sameHash(a: ViewSummary | null, b: ViewSummary): boolean {
  return a !== null && (a === b || compareIds(a.hash, b.hash) === 0);
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Every field equal (the hash is compared by the caller): the views say the same thing. */
function sameView(a: ViewSummary, b: ViewSummary): boolean {
  return a.connected === b.connected && a.referee === b.referee && sameBytes(a.lowest, b.lowest)
    && (a.oldest === b.oldest || (a.oldest !== null && b.oldest !== null && a.oldest.startedAt === b.oldest.startedAt && sameBytes(a.oldest.id, b.oldest.id)));
}

const NO_TARGETS: readonly PeerKey[] = Object.freeze([]);

/**
 * A partition detector for one node. Sans-I/O: it never reads a clock or sends anything; the
 * kernel feeds it inputs with their time and acts on what `tick` returns.
 */
export function createDetector(config: DetectorConfig, deps: DetectorDeps): Detector {
  if (typeof deps?.random !== 'function') throw new DetectorError('INVALID_CONFIG', 'random', 'random must be a function returning [0, 1)');
  const random = deps.random;
  let cfg = resolveConfig(config ?? {});
  let y = thresholdY(cfg.threshold);
  let windows = new IntervalWindows(cfg.maxSampleSize);
  const peers = new Map<PeerKey, Peer>();
  let names: PeerKey[] | null = null;
  let events: DetectorEvent[] = [];
  let started = false;
  let nextRound = 0;
  let nextCheck = 0;
  let round = 0;
  let mine: ViewSummary | null = null;
  let mineSince = 0;
  /** Partition keys already decided (cleared when our own view changes). */
  const decided = new Set<string>();
  const counters = { heartbeats: 0, stale: 0, probesSent: 0, probesAnswered: 0, answersReceived: 0, answersIgnored: 0 };

  function peerFor(name: PeerKey): Peer {
    let p = peers.get(name);
    if (p === undefined) {
      checkPeer(name, 'peer');
      p = new Peer(name);
      peers.set(name, p);
      names = null;
    }
    return p;
  }

  function stdDevOf(p: Peer): number {
    // Before two intervals are known, assume the configured rhythm with a wide spread (Akka
    // bootstraps the same way from first-heartbeat-estimate, with std-dev = estimate / 4).
    return p.slot < 0 || windows.count(p.slot) < 2 ? cfg.interval / 4 : windows.stdDev(p.slot);
  }

  function meanOf(p: Peer): number {
    return p.slot < 0 || windows.count(p.slot) < 2 ? cfg.interval : windows.mean(p.slot);
  }

  function phiOf(p: Peer, now: number): number | null {
    if (!p.heard) return null;
    return phi(now - p.lastArrival, meanOf(p) + cfg.acceptablePause, Math.max(stdDevOf(p), cfg.minStdDev));
  }

  function refreshDeadline(p: Peer): void {
    p.deadline = p.silenceFrom + meanOf(p) + cfg.acceptablePause + y * Math.max(stdDevOf(p), cfg.minStdDev);
  }

  function computeVerdict(p: Peer): Verdict {
    if (p.linked) {
      if (!p.silent) return 'up';
      return p.silentCause === 'max-silence' ? 'degraded' : 'down';
    }
    if (p.silent) return 'down';
    const restarted = p.heard && p.lastArrival > p.linkChangedAt && p.hbIncarnation > p.incarnationAtLinkDown;
    if (p.deliberate && !restarted) return 'disconnected';
    if (p.heard && p.lastArrival > p.linkChangedAt) {
      if (!p.everLinked) return 'alive';
      return restarted ? 'restarted' : 'partitioned';
    }
    return p.everLinked ? 'down' : 'unknown';
  }

  function evidence(p: Peer, cause: Evidence['cause'], at: number): Evidence {
    return {
      cause,
      link: p.linked ? 'up' : p.everLinked ? 'down' : 'never',
      linkReason: p.linkReason,
      linkIncarnation: p.everLinked ? p.linkIncarnation : null,
      heartbeat: p.heard ? { incarnation: p.hbIncarnation, seq: p.hbSeq } : null,
      silence: p.heard ? at - p.lastArrival : null,
      phi: phiOf(p, at),
      probes: p.round >= 0 ? { asked: p.askedCount, confirmed: p.confirmed, refuted: p.refuted } : null,
    };
  }

  function partitionKey(theirs: ViewSummary): string {
    return `${mine === null ? '-' : toHex(mine.hash)}/${toHex(theirs.hash)}`;
  }

  function update(p: Peer, cause: Evidence['cause'], at: number): void {
    const to = computeVerdict(p);
    if (to === p.verdict) return;
    const from = p.verdict;
    p.verdict = to;
    events.push({ type: 'verdict', at, peer: p.name, from, to, evidence: evidence(p, cause, at) });
    if (to === 'partitioned' && p.theirs !== null) {
      events.push({ type: 'partition', at, peer: p.name, partition: partitionKey(p.theirs), mine, theirs: p.theirs });
    }
  }

  function endSuspicion(p: Peer): void {
    p.suspected = false;
    p.asked = NONE_ASKED;
  }

  function heartbeat(from: PeerKey, hb: HeartbeatInput, at: number): boolean {
    let p = peers.get(from);
    if (p === undefined) p = peerFor(from);
    const inc = hb.incarnation;
    const seq = hb.seq;
    if (inc < p.hbIncarnation || (inc === p.hbIncarnation && seq <= p.hbSeq)) {
      counters.stale++;
      return false;
    }
    if (!(inc >= 0 && seq >= 0)) {
      checkCounter(inc, 'heartbeat.incarnation');
      checkCounter(seq, 'heartbeat.seq');
    }
    checkTime(at, 'at');
    counters.heartbeats++;
    // An interval is a sample only within one incarnation: the gap across a restart says nothing
    // about the rhythm.
    if (p.heard && inc === p.hbIncarnation && at > p.lastArrival) {
      if (p.slot < 0) p.slot = windows.alloc();
      windows.add(p.slot, at - p.lastArrival);
    }
    if (p.heard && at - p.lastArrival > 2 * cfg.interval) p.pathUnstableAt = at;
    if (inc !== p.hbIncarnation || p.lossFrom < 0) {
      p.lossFrom = seq;
      p.lossGot = 0;
      p.loss = -1;
    }
    p.lossGot++;
    if (seq - p.lossFrom + 1 >= LOSS_WINDOW) {
      p.loss = 1 - p.lossGot / (seq - p.lossFrom + 1);
      p.lossFrom = seq + 1;
      p.lossGot = 0;
    }
    p.heard = true;
    p.hbIncarnation = inc;
    p.hbSeq = seq;
    p.lastArrival = at;
    p.silenceFrom = at;
    refreshDeadline(p);
    const view = hb.view;
    if (!(view?.hash instanceof Uint8Array) || view.hash.length !== 16) {
      throw new DetectorError('INVALID_INPUT', 'heartbeat.view', 'heartbeat.view must be a ViewSummary with a 16-byte hash');
    }
    const h = view.hash;
    const h0 = h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24);
    const h1 = h[4]! | (h[5]! << 8) | (h[6]! << 16) | (h[7]! << 24);
    const h2 = h[8]! | (h[9]! << 8) | (h[10]! << 16) | (h[11]! << 24);
    const h3 = h[12]! | (h[13]! << 8) | (h[14]! << 16) | (h[15]! << 24);
    if (p.theirs === null || h0 !== p.h0 || h1 !== p.h1 || h2 !== p.h2 || h3 !== p.h3) {
      p.theirsSince = at;
      p.h0 = h0;
      p.h1 = h1;
      p.h2 = h2;
      p.h3 = h3;
      p.theirs = view;
    } else if (!sameView(p.theirs, view)) {
      p.theirs = view;
    }
    // else: the view held is equal in every field; keeping it lets this heartbeat's copy die
    // young (a view kept per peer per interval is what the young generation promoted most).
    if (p.suspected) endSuspicion(p);
    if (p.silent) {
      p.silent = false;
      p.silentCause = null;
    }
    if (p.verdict !== 'up' || !p.linked) update(p, 'heartbeat', at);
    return true;
  }

  function linkUp(peer: PeerKey, incarnation: number, at: number): void {
    checkCounter(incarnation, 'incarnation');
    checkTime(at, 'at');
    const p = peerFor(peer);
    p.linked = true;
    p.deliberate = false;
    p.everLinked = true;
    p.linkIncarnation = incarnation;
    p.linkChangedAt = at;
    p.linkReason = null;
    // A fresh link is fresh evidence of life: silence is counted from here.
    p.silent = false;
    p.silentCause = null;
    if (p.suspected) endSuspicion(p);
    if (p.silenceFrom < at) {
      p.silenceFrom = at;
      refreshDeadline(p);
    }
    update(p, 'link-up', at);
  }

  function linkDown(peer: PeerKey, reason: string, at: number, deliberate = false): void {
    checkTime(at, 'at');
    const p = peerFor(peer);
    if (!p.linked) return;
    p.linked = false;
    p.deliberate = deliberate === true;
    p.everLinked = true;
    p.linkChangedAt = at;
    p.linkReason = String(reason);
    p.incarnationAtLinkDown = Math.max(p.linkIncarnation, p.hbIncarnation);
    update(p, 'link-down', at);
  }

  function setView(view: ViewSummary, at: number): void {
    checkTime(at, 'at');
    if (view === null || typeof view !== 'object' || !(view.hash instanceof Uint8Array)) {
      throw new DetectorError('INVALID_INPUT', 'view', 'view must be a ViewSummary (see viewSummary())');
    }
    if (!sameHash(mine, view)) {
      mineSince = at;
      decided.clear();
    }
    mine = view;
  }

  /** This node's own opinion, as given to others who ask. */
  function hears(p: Peer, now: number): boolean {
    return p.heard && !p.silent && !p.suspected && now < p.deadline && now - p.lastArrival < cfg.maxSilence;
  }

  const probesOut: OutgoingProbe[] = [];

  function startRound(p: Peer, now: number): void {
    // Reservoir sampling of k helpers among the peers we hear ourselves (each ask is useless
    // if the answer cannot reach us).
    const k = cfg.probes > 0 ? cfg.probes + SPARE_HELPERS : 0;
    const chosen: PeerKey[] = [];
    let seen = 0;
    if (k > 0) {
      for (const h of peers.values()) {
        if (h === p || !hears(h, now)) continue;
        seen++;
        if (chosen.length < k) chosen.push(h.name);
        else {
          const j = Math.floor(random() * seen);
          if (j < k) chosen[j] = h.name;
        }
      }
    }
    p.round = round++;
    p.roundEnds = now + cfg.probeTimeout;
    p.asked = chosen;
    p.askedCount = chosen.length;
    p.need = Math.min(cfg.probes, chosen.length);
    p.confirmed = 0;
    p.refuted = 0;
    for (const to of chosen) {
      probesOut.push({ to, request: { type: 'probe', id: p.round, target: p.name, incarnation: p.hbIncarnation, seq: p.hbSeq } });
      counters.probesSent++;
    }
  }

  function becomeSilent(p: Peer, cause: Evidence['cause'], now: number): void {
    p.silent = true;
    p.silentCause = cause;
    endSuspicion(p);
    update(p, cause, now);
  }

  function probeRequest(from: PeerKey, request: ProbeRequest, at: number): ProbeAnswer {
    checkTime(at, 'at');
    if (
      request === null || typeof request !== 'object' || typeof request.target !== 'string' || typeof request.id !== 'number' ||
      typeof request.incarnation !== 'number' || typeof request.seq !== 'number'
    ) {
      throw new DetectorError('INVALID_INPUT', 'request', 'request must be a ProbeRequest { type, id, target, incarnation, seq }');
    }
    counters.probesAnswered++;
    const p = peers.get(request.target);
    // Evidence of life must be newer than what the asker already has: if we only hold the same last
    // heartbeat, we know nothing it does not, and a crashed peer is confirmed at the asker's own
    // deadline rather than at the slowest helper's. Sequence numbers come from one counter per
    // sender, so they compare across receivers.
    const newer = p !== undefined && (p.hbIncarnation > request.incarnation || (p.hbIncarnation === request.incarnation && p.hbSeq > request.seq));
    const alive = newer && request.target !== from && hears(p, at);
    return { type: 'probe-answer', id: request.id, target: request.target, alive };
  }

  function probeAnswer(from: PeerKey, answer: ProbeAnswer, at: number): void {
    checkTime(at, 'at');
    counters.answersReceived++;
    const p = answer && typeof answer.target === 'string' ? peers.get(answer.target) : undefined;
    const i = p?.suspected && answer.id === p.round ? p.asked.indexOf(from) : -1;
    if (p === undefined || i < 0) {
      counters.answersIgnored++;
      return;
    }
    p.asked.splice(i, 1);
    if (answer.alive === true) p.refuted++;
    else p.confirmed++;
    // One "I hear it" is enough to keep it alive (SWIM's ping-req); `probes` nodes must say they
    // hear nothing, before any says it does, for us to conclude the silence is the peer's and not
    // our path's. (The spares asked only stand in for answers lost on the way.)
    if (p.refuted === 0 && p.confirmed >= p.need) becomeSilent(p, 'probes-confirmed', at);
  }

  function check(now: number): void {
    for (const p of peers.values()) {
      if (!p.silent && (p.heard || p.linked)) {
        if (now - p.silenceFrom >= cfg.maxSilence) {
          becomeSilent(p, 'max-silence', now);
        } else if (p.suspected ? now >= p.roundEnds : now >= p.deadline || (p.linked && now - p.silenceFrom >= cfg.suspectAfter)) {
          p.suspected = true;
          p.pathUnstableAt = now;
          startRound(p, now);
          // Nobody left to ask (a two-node cluster, or everyone else is silent too): phi decides
          // alone, unless the link is up: that is second evidence of life, so a lost datagram or
          // two never make a linked peer `down` (its silence ends as `degraded` at maxSilence, or
          // as `down` when the link itself dies).
          if (p.askedCount === 0 && !p.linked) becomeSilent(p, 'no-helpers', now);
        }
      }
      if (p.verdict === 'partitioned' && mine !== null && p.theirs !== null && !sameHash(mine, p.theirs)) {
        const key = partitionKey(p.theirs);
        if (!decided.has(key) && now >= Math.max(mineSince, p.theirsSince, p.pathUnstableAt) + cfg.stableAfter) {
          decided.add(key);
          events.push({
            type: 'decision', at: now, peer: p.name, partition: key, mine, theirs: p.theirs, strategy: cfg.strategy,
            decision: decide(mine, p.theirs, cfg.quorum === null ? { strategy: cfg.strategy } : { strategy: cfg.strategy, quorum: cfg.quorum }),
          });
        }
      }
    }
  }

  function allNames(): PeerKey[] {
    return (names ??= [...peers.keys()]);
  }

  function chooseTargets(): readonly PeerKey[] {
    const all = allNames();
    const k = cfg.fanout;
    if (k === 'all' || k >= all.length) return all;
    // Partial Fisher-Yates over a copy: k distinct random targets.
    const pool = all.slice();
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(random() * (pool.length - i));
      const t = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = t;
    }
    pool.length = k;
    return pool;
  }

  function tick(now: number): TickOutput {
    checkTime(now, 'now');
    let targets = NO_TARGETS;
    if (!started) {
      started = true;
      nextRound = now;
      nextCheck = now;
    }
    if (now >= nextCheck) {
      check(now);
      nextCheck = now + cfg.checkEvery;
    }
    if (now >= nextRound) {
      targets = chooseTargets();
      const spread = cfg.jitter * (2 * random() - 1);
      nextRound = now + cfg.interval * (1 + spread);
    }
    const out: TickOutput = { events, targets, probes: probesOut.splice(0) };
    events = [];
    return out;
  }

  return {
    get config() {
      return cfg;
    },
    configure(changes: DetectorConfig): void {
      const next = resolveConfig(changes, cfg);
      if (next.maxSampleSize !== cfg.maxSampleSize) {
        windows = new IntervalWindows(next.maxSampleSize);
        for (const p of peers.values()) p.slot = -1;
      }
      cfg = next;
      y = thresholdY(cfg.threshold);
      for (const p of peers.values()) refreshDeadline(p);
    },
    addPeer(peer: PeerKey): void {
      peerFor(peer);
    },
    removePeer(peer: PeerKey): void {
      const p = peers.get(peer);
      if (p === undefined) return;
      if (p.slot >= 0) windows.release(p.slot);
      peers.delete(peer);
      names = null;
    },
    setView,
    heartbeat,
    linkUp,
    linkDown,
    probeRequest,
    probeAnswer,
    tick,
    nextWakeup(): number {
      if (!started) return Number.NEGATIVE_INFINITY;
      return events.length > 0 || probesOut.length > 0 ? Number.NEGATIVE_INFINITY : Math.min(nextRound, nextCheck);
    },
    verdict(peer: PeerKey): Verdict {
      return peers.get(peer)?.verdict ?? 'unknown';
    },
    status(peer: PeerKey, now: number): PeerStatus | null {
      const lossOf = (q: Peer): number | null => {
        if (cfg.fanout !== 'all' || q.lossFrom < 0) return null;
        // A silence counts as it lasts (one interval of slack): a cut peer shows its loss now,
        // not when it is heard again.
        const silent = Math.max(0, Math.floor((now - q.lastArrival) / cfg.interval) - 1);
        const span = q.hbSeq - q.lossFrom + 1 + silent;
        if (span >= LOSS_MIN_ROUNDS && (q.loss < 0 || silent > 0)) return 1 - q.lossGot / span;
        return q.loss >= 0 ? q.loss : null;
      };
      const p = peers.get(peer);
      if (p === undefined) return null;
      return {
        peer,
        verdict: p.verdict,
        link: p.linked ? 'up' : p.everLinked ? 'down' : 'never',
        suspected: p.suspected,
        phi: phiOf(p, now),
        lastHeard: p.heard ? p.lastArrival : null,
        loss: lossOf(p),
        heartbeat: p.heard ? { incarnation: p.hbIncarnation, seq: p.hbSeq } : null,
        view: p.theirs,
      };
    },
    peers(): PeerKey[] {
      return [...allNames()];
    },
    stats(): DetectorStats {
      return { ...counters };
    },
  };
}
