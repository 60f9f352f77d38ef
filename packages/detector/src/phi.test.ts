import { describe, expect, it } from 'vitest';
import { IntervalWindows, phi, thresholdY } from './index.ts';

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

describe('IntervalWindows', () => {
  it('gives the exact mean and standard deviation while the window is not full, per slot', () => {
    const w = new IntervalWindows(1000, 1);
    const other = w.alloc();
    const slot = w.alloc();
    const xs = Array.from({ length: 500 }, (_, i) => 900 + ((i * 37) % 200));
    for (const x of xs) {
      w.add(slot, x);
      w.add(other, 42);
    }
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(w.count(slot)).toBe(500);
    expect(w.mean(slot)).toBeCloseTo(mean, 6);
    expect(w.stdDev(slot)).toBeCloseTo(sd, 6);
    expect(w.mean(other)).toBe(42);
  });

  it('forgets old samples: after a change of rhythm only the recent one counts', () => {
    const w = new IntervalWindows(100);
    const slot = w.alloc();
    for (let i = 0; i < 1000; i++) w.add(slot, 5000);
    for (let i = 0; i < 200; i++) w.add(slot, 1000);
    expect(w.mean(slot)).toBe(1000);
    expect(w.stdDev(slot)).toBe(0);
    expect(w.count(slot)).toBeGreaterThanOrEqual(100 - 2 * Math.ceil(100 / 16));
    expect(w.count(slot)).toBeLessThanOrEqual(100);
  });

  it('hands out a released slot again, emptied', () => {
    const w = new IntervalWindows(10);
    const a = w.alloc();
    w.add(a, 5);
    w.release(a);
    const b = w.alloc();
    expect(b).toBe(a);
    expect(w.count(b)).toBe(0);
    expect(w.bytesPerWindow).toBeLessThanOrEqual(416);
  });
});
