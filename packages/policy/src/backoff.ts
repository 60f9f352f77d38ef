import type { BackoffConfig } from './config.ts';

/**
 * The redial delay after `failures` consecutive failures: "full jitter", uniform in
 * [0, min(cap, base * factor^failures)] (AWS Architecture Blog, "Exponential Backoff and Jitter",
 * Brooker 2015). Full jitter spreads a herd of nodes that lost the same peer at the same moment.
 * `random` must return [0, 1); anything else is clamped, so the result is always in [0, cap].
 */
export function backoffDelay(failures: number, backoff: BackoffConfig, random: () => number): number {
  const bound = Math.min(backoff.cap, backoff.base * backoff.factor ** Math.max(0, failures));
  let r = random();
  if (!(r >= 0)) r = 0; // NaN and negatives
  else if (r > 1) r = 1;
  return Math.min(backoff.cap, r * bound);
}
