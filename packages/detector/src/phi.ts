// Phi-accrual failure detection (Hayashibara, Défago, Yared, Katayama: "The φ Accrual Failure
// Detector", SRDS 2004), with the logistic approximation of the normal CDF that Akka uses
// (akka.remote.PhiAccrualFailureDetector). phi = -log10(P(a heartbeat arrives later than now)).

/** Coefficients of Akka's logistic approximation of the normal CDF. */
const A = 1.5976;
const B = 0.070566;

/**
 * phi for `elapsed` ms of silence, given the mean and standard deviation of past intervals
 * (mean already includes the acceptable pause, stdDev already floored at the minimum).
 */
export function phi(elapsed: number, mean: number, stdDev: number): number {
  const y = (elapsed - mean) / stdDev;
  const e = Math.exp(-y * (A + B * y * y));
  // Two forms of the same value, each exact on its own side of the mean (Akka's split).
  return elapsed > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}

/**
 * The standardised silence y at which phi reaches `threshold`: the real root of
 * B·y³ + A·y + ln(p / (1 − p)) = 0 with p = 10^−threshold (Cardano; one real root since A, B > 0).
 * The detector computes a peer's suspicion time once per heartbeat instead of phi on every tick.
 */
export function thresholdY(threshold: number): number {
  const p = 10 ** -threshold;
  const lnE = Math.log(p) - Math.log1p(-p);
  const pp = A / B;
  const q = lnE / B;
  const d = Math.sqrt((q * q) / 4 + (pp * pp * pp) / 27);
  return Math.cbrt(-q / 2 + d) + Math.cbrt(-q / 2 - d);
}

/** How many blocks a sample window is cut into (at most; the last block is the one being filled). */
const BLOCKS = 16;
/** Per window: current block index, count, sum, sum of squares; then (count, sum, sumSq) per block. */
const HEADER = 4;

/**
 * Mean and variance of the last ~`maxSamples` heartbeat intervals of many peers, all in one
 * Float64Array. Akka keeps every sample of its window (1000 doubles = 8 KB a peer); this keeps
 * per-block sums instead, at most 16 blocks × 3 doubles + 4 = 416 bytes a peer whatever the window,
 * and drops a whole block at a time: once full, a window holds between maxSamples − 2·blockSize
 * and maxSamples samples, blockSize = ceil(maxSamples / 16). One array for all peers keeps a
 * heartbeat's bookkeeping to one or two cache lines, which is what matters with thousands of peers.
 */
export class IntervalWindows {
  private store: Float64Array;
  private readonly blockSize: number;
  private readonly blocks: number;
  private readonly stride: number;
  private slots = 0;
  private readonly free: number[] = [];

  constructor(maxSamples: number, capacity = 8) {
    this.blockSize = Math.max(1, Math.ceil(maxSamples / BLOCKS));
    this.blocks = Math.max(2, Math.floor(maxSamples / this.blockSize));
    this.stride = HEADER + 3 * this.blocks;
    this.store = new Float64Array(capacity * this.stride);
  }

  /** A fresh, empty window; returns its slot. */
  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) {
      this.store.fill(0, reused, reused + this.stride);
      return reused;
    }
    const slot = this.slots++ * this.stride;
    if (slot + this.stride > this.store.length) {
      const grown = new Float64Array(this.store.length * 2);
      grown.set(this.store);
      this.store = grown;
    }
    return slot;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  count(slot: number): number {
    return this.store[slot + 1]!;
  }

  add(slot: number, interval: number): void {
    const s = this.store;
    let b = slot + HEADER + 3 * s[slot]!;
    if (s[b]! >= this.blockSize) {
      // The current block is full: move on, evicting the oldest block, and recompute the totals
      // from the blocks so that rounding errors of add-then-subtract never accumulate.
      const next = (s[slot]! + 1) % this.blocks;
      s[slot] = next;
      b = slot + HEADER + 3 * next;
      s[b] = 0;
      s[b + 1] = 0;
      s[b + 2] = 0;
      let n = 0;
      let sum = 0;
      let sumSq = 0;
      for (let j = slot + HEADER; j < slot + this.stride; j += 3) {
        n += s[j]!;
        sum += s[j + 1]!;
        sumSq += s[j + 2]!;
      }
      s[slot + 1] = n;
      s[slot + 2] = sum;
      s[slot + 3] = sumSq;
    }
    s[b]! += 1;
    s[b + 1]! += interval;
    s[b + 2]! += interval * interval;
    s[slot + 1]! += 1;
    s[slot + 2]! += interval;
    s[slot + 3]! += interval * interval;
  }

  mean(slot: number): number {
    const n = this.store[slot + 1]!;
    return n === 0 ? 0 : this.store[slot + 2]! / n;
  }

  stdDev(slot: number): number {
    const s = this.store;
    const n = s[slot + 1]!;
    if (n === 0) return 0;
    const m = s[slot + 2]! / n;
    return Math.sqrt(Math.max(0, s[slot + 3]! / n - m * m));
  }

  /** Bytes held per window. */
  get bytesPerWindow(): number {
    return this.stride * 8;
  }
}
