import { partitionHeal, createSimNetwork } from '@distkit/sim';
import { describe, expect, it } from 'vitest';
import type { DistkitNode, KernelEvent } from './api.ts';
import { members, trustAll } from './cluster.test-support.ts';
import { createNode } from './node.ts';

// Test 5 of the kernel issue: 50 real kernels (real Noise handshakes, sealed heartbeats, policy and
// detector) on the simulator's transport, with virtual time. The split has the sizes that the
// detector's own partition-heal experiment drew for the same seed, and the decisions of each side
// must be the ones that experiment reached.
const N = 50;

async function kernelsPartitionHeal(seed: number, sizes: readonly [number, number]) {
  const interval = 5000;
  const net = createSimNetwork({ seed, delay: { min: 1, max: 5 } });
  const ms = members(Array.from({ length: N }, (_, i) => `n${i}`), 1);
  const trust = trustAll(ms);
  const nodes: DistkitNode[] = [];
  const decisions = new Map<string, string>();
  const partitions = new Set<string>();
  for (const m of ms) {
    const t = net.host(m.name);
    const node = createNode({
      name: m.name,
      cluster: 'sim',
      identity: m.identity,
      incarnation: 1,
      transport: t,
      listen: { host: m.name, port: 4369 },
      peers: ms.filter((x) => x !== m).map((x) => ({ name: x.name, address: { host: x.name, port: 4369 } })),
      trust: { store: trust },
      autoConnect: 'once',
      heartbeatIntervalMs: interval,
      tickTimeMs: 20_000, // a cut link is declared dead well within the 60 s split
      detector: { stableAfter: 20_000 },
    });
    nodes.push(node);
    void (async () => {
      for await (const e of node.events() as AsyncIterable<KernelEvent>) {
        if (e.type === 'partition') partitions.add(m.name);
        if (e.type === 'decision' && !decisions.has(m.name)) decisions.set(m.name, e.decision);
      }
    })();
  }
  for (const n of nodes) void n.start();
  await net.run(6 * interval);
  const whole = nodes.every((n) => n.nodes().length === N - 1);
  const sides = [ms.slice(0, sizes[0]).map((m) => m.name), ms.slice(sizes[0]).map((m) => m.name)] as const;
  const splitAt = 6 * interval + 1234;
  const healAt = splitAt + 60_000;
  net.at(splitAt, () => net.partition([sides[0], sides[1]], { healAt }));
  await net.run(healAt + 20_000 + 6 * interval);
  const side = (names: readonly string[]) => {
    const ds = new Set(names.map((n) => decisions.get(n) ?? null));
    return ds.size === 1 ? [...ds][0] : 'mixed';
  };
  const result = { whole, decisions: [side(sides[0]), side(sides[1])], partitioned: partitions.size };
  await Promise.all(nodes.map((n) => n.stop()));
  await net.run(net.host('n0').now() + 1000);
  return result;
}

describe('50 kernels in the simulator', () => {
  it('partition-heal: each side decides as the detector experiment does (keep-majority)', async () => {
    for (const seed of [7]) {
      const reference = await partitionHeal({ n: N, seed, strategy: 'keep-majority' });
      const ours = await kernelsPartitionHeal(seed, reference.sides);
      console.log(`[sim seed=${seed}] sides ${reference.sides.join('/')}: detector experiment ${reference.decisions.join('/')}, kernels ${ours.decisions.join('/')}`);
      expect(ours.whole).toBe(true);
      expect(ours.partitioned).toBe(N);
      if (reference.sides[0] !== reference.sides[1]) expect(ours.decisions).toEqual([...reference.decisions]);
      else expect([...ours.decisions].sort()).toEqual(['restart', 'stay']); // a tie is settled by the lowest id, which differs per run
    }
  }, 300_000);
});
