import { describe, expect, it } from 'vitest';
import { createCluster, createSimNetwork } from './index.ts';

/** A lossy, jittery 8-node run with a partition, a heal and a crash; returns the trace digest and the events. */
async function run(seed: number): Promise<{ digest: string; events: string[] }> {
  const network = createSimNetwork({ seed, loss: 0.05, duplicate: 0.02, reorder: 0.05, delay: { min: 1, max: 200 }, trace: true });
  const events: string[] = [];
  const cluster = await createCluster({
    network, nodes: 8, detector: { interval: 1000, stableAfter: 3000 },
    onEvent: (node, e) => events.push(`${e.at.toFixed(3)} ${node} ${e.type} ${'peer' in e ? e.peer : ''} ${e.type === 'verdict' ? e.to : e.type === 'decision' ? e.decision : ''}`),
  });
  network.at(10_000, () => cluster.partition([['n0', 'n1', 'n2'], ['n3', 'n4', 'n5', 'n6', 'n7']], { healAt: 30_000 }));
  network.at(40_000, () => cluster.crash('n7'));
  network.runSync(60_000);
  return { digest: network.digest(), events };
}

describe('same seed, same run', () => {
  it('replays byte for byte: equal trace digests and event logs for one seed, different for another', async () => {
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a.digest).toBe(b.digest);
    expect(a.events).toEqual(b.events);
    expect(a.events.length).toBeGreaterThan(50);
    expect(c.digest).not.toBe(a.digest);
  });
});
