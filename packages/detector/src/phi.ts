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

/** How many blocks the sample window is cut into (at most; the last block is the one being filled). */
const BLOCKS = 16;

/**
 * Mean and variance of the last ~`maxSamples` heartbeat intervals. Akka keeps every sample of its
 * window (1000 doubles = 8 KB a peer); this keeps per-block sums instead, at most 16 blocks × 3 doubles =
 * 384 bytes whatever the window, and drops a whole block at a time: once full, the window holds
 * between maxSamples − 2·blockSize and maxSamples samples, blockSize = ceil(maxSamples / 16).
 */
export class IntervalWindow {
  private readonly blocks: Float64Array;
  private readonly blockSize: number;
  private current = 0;
  private n = 0;
  private sum = 0;
  private sumSq = 0;

  constructor(maxSamples: number) {
    this.blockSize = Math.max(1, Math.ceil(maxSamples / BLOCKS));
    this.blocks = new Float64Array(Math.max(2, Math.floor(maxSamples / this.blockSize)) * 3);
  }

  get count(): number {
    return this.n;
  }

  add(interval: number): void {
    const b = this.blocks;
    let i = this.current * 3;
    if (b[i]! >= this.blockSize) {
      // The current block is full: move on, evicting the oldest block, and recompute the totals
      // from the blocks so that rounding errors of add-then-subtract never accumulate.
      this.current = (this.current + 1) % (b.length / 3);
      i = this.current * 3;
      b[i] = 0;
      b[i + 1] = 0;
      b[i + 2] = 0;
      let n = 0;
      let sum = 0;
      let sumSq = 0;
      for (let j = 0; j < b.length; j += 3) {
        n += b[j]!;
        sum += b[j + 1]!;
        sumSq += b[j + 2]!;
      }
      this.n = n;
      this.sum = sum;
      this.sumSq = sumSq;
    }
    b[i]! += 1;
    b[i + 1]! += interval;
    b[i + 2]! += interval * interval;
    this.n += 1;
    this.sum += interval;
    this.sumSq += interval * interval;
  }

  mean(): number {
    return this.n === 0 ? 0 : this.sum / this.n;
  }

  stdDev(): number {
    if (this.n === 0) return 0;
    const m = this.sum / this.n;
    return Math.sqrt(Math.max(0, this.sumSq / this.n - m * m));
  }
}
