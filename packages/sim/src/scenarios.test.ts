// Small versions of the four experiments (the full ones: `npm run sim -- <scenario>`).
import { describe, expect, it } from 'vitest';
import { crash, falseAlarms, partitionHeal, quantile, scale } from './index.ts';

describe('partition-heal (small)', () => {
  it.each(['keep-majority', 'keep-oldest', 'static-quorum'] as const)('%s, N=5, 40 seeds: every node sees the partition within 1.1 intervals of the heal, and the sides agree', async (strategy) => {
    const delays: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const r = await partitionHeal({ n: 5, seed, strategy });
      expect({ seed, agreed: r.agreed, exactlyOne: r.exactlyOne }).toEqual({ seed, agreed: true, exactlyOne: true });
      delays.push(...r.healToPartition.map((ms) => ms / 5000));
    }
    expect(quantile(delays, 0.99)).toBeLessThanOrEqual(1.1);
  });

  it('N=20, lossy network: still one decision per side, complementary', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      const r = await partitionHeal({ n: 20, seed, strategy: 'keep-majority', loss: 0.02 });
      expect(r.agreed).toBe(true);
      expect(r.healToPartition.every((ms) => Number.isFinite(ms))).toBe(true);
    }
  });

  it('down-all: both sides restart', async () => {
    const r = await partitionHeal({ n: 6, seed: 9, strategy: 'down-all' });
    expect(r.decisions).toEqual(['restart', 'restart']);
    expect(r.agreed).toBe(true);
  });
});

describe('crash (small)', () => {
  it('N=10, 10 seeds: every other node says down within 3 s (memberlist would wait 4 s)', async () => {
    const all: number[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      const r = await crash({ n: 10, seed });
      expect(r.detection).toHaveLength(9);
      all.push(r.all);
    }
    expect(Math.max(...all)).toBeLessThanOrEqual(3000);
  });
});

describe('false-alarms (small)', () => {
  it('N=10, one simulated hour, 5% loss, 200 ms jitter: no false down/partitioned/decision, where a plain 2.5 s silence rule raises many', async () => {
    const r = await falseAlarms({ n: 10, seed: 3, duration: 3_600_000, loss: 0.05, jitter: 200, plainSilence: 2500 });
    expect({ down: r.down, partitioned: r.partitioned, decision: r.decision }).toEqual({ down: 0, partitioned: 0, decision: 0 });
    expect(r.plain).toBeGreaterThan(10);
    expect(r.probes).toBeGreaterThan(0);
  });
});

describe('scale (small)', () => {
  it('N=60 all-to-all at 5 s for a simulated minute: every heartbeat is delivered', async () => {
    const r = await scale({ n: 60, seed: 1, duration: 60_000 });
    const expected = 60 * 59 * 12;
    expect(r.heartbeats).toBeGreaterThan(expected * 0.9);
    expect(r.heartbeats).toBeLessThan(expected * 1.15);
  });
});
