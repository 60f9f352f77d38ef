// Small versions of the experiments on real kernels (the full ones: `npm run sim -- <scenario>`).
import { describe, expect, it } from 'vitest';
import { crash, falseAlarms, flapping, overlappingPartition, partitionHeal, quantile, scale } from './index.ts';

describe('partition-heal (small)', () => {
  it.each(['keep-majority', 'keep-oldest', 'static-quorum', 'keep-referee'] as const)('%s, N=5, 20 seeds: every node sees the partition within 1.1 intervals of the heal, and exactly one side restarts', async (strategy) => {
    const delays: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const r = await partitionHeal({ n: 5, seed, strategy });
      expect({ seed, agreed: r.agreed, decisions: r.decisions }).toMatchObject({ seed, agreed: true });
      delays.push(...r.healToPartition.map((ms) => ms / 1000));
    }
    expect(quantile(delays, 0.99)).toBeLessThanOrEqual(1.1);
  }, 120_000);

  it('down-all: both sides restart; manual: nobody does', async () => {
    const all = await partitionHeal({ n: 6, seed: 9, strategy: 'down-all' });
    expect(all.decisions).toEqual(['restart', 'restart']);
    const manual = await partitionHeal({ n: 6, seed: 9, strategy: 'manual' });
    expect(manual.decisions.includes('restart')).toBe(false);
    expect(manual.agreed).toBe(true);
  }, 60_000);
});

describe('crash (small)', () => {
  it('N=10, 5 seeds: every other node says down within 3 s', async () => {
    const all: number[] = [];
    for (let seed = 1; seed <= 5; seed++) {
      const r = await crash({ n: 10, seed });
      expect(r.detection).toHaveLength(9);
      all.push(r.all);
    }
    expect(Math.max(...all)).toBeLessThanOrEqual(3000);
  }, 120_000);
});

describe('false-alarms (small)', () => {
  it('N=8, ten simulated minutes, 5% loss, 200 ms jitter: no false down/partitioned/decision, where a plain 2.5 s silence rule raises some', async () => {
    const r = await falseAlarms({ n: 8, seed: 3, duration: 600_000, loss: 0.05, jitter: 200, plainSilence: 2500 });
    expect({ down: r.down, partitioned: r.partitioned, decision: r.decision, nodedown: r.nodedown }).toEqual({ down: 0, partitioned: 0, decision: 0, nodedown: 0 });
    expect(r.plain).toBeGreaterThan(0);
  }, 120_000);
});

describe('overlapping partition and flapping (small)', () => {
  it('A–B and B–C up, A–C cut, then healed: whole again within 3 × stableAfter, nobody restarts twice', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      const r = await overlappingPartition({ seed, groups: [1, 1, 1] });
      expect({ seed, whole: Number.isFinite(r.wholeAfter) }).toEqual({ seed, whole: true });
      expect(Math.max(...r.restarts)).toBeLessThanOrEqual(1);
    }
  }, 120_000);

  it('a pair cut and healed every 2 s for 30 s: nobody restarts twice, whole soon after', async () => {
    const r = await flapping({ n: 5, seed: 1, duration: 30_000 });
    expect(r.maxRestarts).toBeLessThanOrEqual(1);
    expect(Number.isFinite(r.wholeAfter)).toBe(true);
  }, 120_000);
});

describe('scale (small)', () => {
  it('N=30 full mesh at 5 s for a simulated minute: every pair heartbeats', async () => {
    const r = await scale({ n: 30, seed: 1, duration: 60_000 }, () => performance.now());
    const expected = 30 * 29 * 12;
    expect(r.datagrams).toBeGreaterThan(expected * 0.9);
    expect(r.datagrams).toBeLessThan(expected * 1.2);
    await r.cluster.stop();
  }, 120_000);
});
