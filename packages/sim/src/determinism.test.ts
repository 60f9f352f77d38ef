import { describe, expect, it } from 'vitest';
import { createKernelCluster, createSimNetwork } from './index.ts';

/**
 * Eight real kernels on a lossy, jittery network with a partition, a heal and a crash; returns the
 * trace digest (every byte delivered, streams and datagrams) and the event log.
 */
async function run(seed: number): Promise<{ digest: string; events: string[] }> {
  const network = createSimNetwork({ seed, loss: 0.05, duplicate: 0.02, reorder: 0.05, delay: { min: 1, max: 200 }, trace: true });
  const events: string[] = [];
  const cluster = createKernelCluster({
    network, nodes: 8, seed,
    node: { autoConnect: 'once', heartbeatIntervalMs: 1000, tickTimeMs: 4000, detector: { stableAfter: 3000 } },
    onEvent: (node, e) => events.push(`${e.at.toFixed(3)} ${node} ${e.type} ${'node' in e ? e.node : ''} ${e.type === 'verdict' ? e.verdict : e.type === 'decision' ? e.decision : ''}`),
  });
  await cluster.start();
  network.at(10_000, () => network.partition([['n0', 'n1', 'n2'], ['n3', 'n4', 'n5', 'n6', 'n7']], { healAt: 30_000 }));
  network.at(40_000, () => cluster.crash('n7'));
  await network.run(60_000);
  await cluster.stop();
  return { digest: network.digest(), events };
}

describe('same seed, same run, on real kernels', () => {
  it('replays byte for byte: equal trace digests and event logs for one seed, different for another (3 seeds)', async () => {
    for (const seed of [1, 2, 3]) {
      const a = await run(seed);
      const b = await run(seed);
      expect(a.digest).toBe(b.digest);
      expect(a.events).toEqual(b.events);
      expect(a.events.length).toBeGreaterThan(50);
      const c = await run(seed + 100);
      expect(c.digest).not.toBe(a.digest);
      console.log(`[determinism] seed ${seed}: digest ${a.digest} twice, ${a.events.length} events; seed ${seed + 100}: ${c.digest}`);
    }
  }, 120_000);
});
