import { describe, expect, it } from 'vitest';
import { IntervalWindow, phi, thresholdY } from './index.ts';

describe('phi', () => {
  it('is -log10(1/2) at the mean and grows with silence', () => {
    expect(phi(1000, 1000, 100)).toBeCloseTo(Math.log10(2), 6);
    let last = 0;
    for (let t = 0; t <= 3000; t += 50) {
      const v = phi(t, 1000, 100);
      expect(v).toBeGreaterThanOrEqual(last);
      last = v;
    }
  });

  it('matches the normal tail within the logistic approximation (Akka: P(y > 1) ≈ 0.1587)', () => {
    // -log10(0.158655) = 0.7995; the approximation is within 1e-3 of the CDF.
    expect(Math.abs(phi(1100, 1000, 100) - 0.7995)).toBeLessThan(0.01);
  });

  it.each([1, 3, 8, 12])('thresholdY(%s) is where phi reaches the threshold', (threshold) => {
    const y = thresholdY(threshold);
    expect(phi(1000 + y * 100, 1000, 100)).toBeCloseTo(threshold, 6);
  });
});

describe('IntervalWindow', () => {
  it('gives the exact mean and standard deviation while the window is not full', () => {
    const w = new IntervalWindow(1000);
    const xs = Array.from({ length: 500 }, (_, i) => 900 + ((i * 37) % 200));
    for (const x of xs) w.add(x);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(w.count).toBe(500);
    expect(w.mean()).toBeCloseTo(mean, 6);
    expect(w.stdDev()).toBeCloseTo(sd, 6);
  });

  it('forgets old samples: after a change of rhythm only the recent one counts', () => {
    const w = new IntervalWindow(100);
    for (let i = 0; i < 1000; i++) w.add(5000);
    for (let i = 0; i < 200; i++) w.add(1000);
    expect(w.mean()).toBe(1000);
    expect(w.stdDev()).toBe(0);
    expect(w.count).toBeGreaterThanOrEqual(100 - 2 * Math.ceil(100 / 16));
    expect(w.count).toBeLessThanOrEqual(100);
  });
});
