import { describe, expect, it } from 'vitest';
import type { AutoConnect, DistkitNode, KernelEvent } from './api.ts';
import { members, portBase, record, trustAll, until, type Member } from './cluster.test-support.ts';
import { createNode } from './node.ts';
import { createRelay, type Relay } from './relay.test-support.ts';

// Test 3 of the kernel issue: the seed's full cycle, through a fault-injecting relay of real TCP and
// UDP sockets between two groups. Timings are scaled down (heartbeat 150 ms) so the test takes
// seconds; the logic is the production one. Node-only: the relay is test harness, not product.
const NAMES = ['a', 'b', 'c', 'd', 'e'];
const MAJORITY = ['a', 'b', 'c'];
const MINORITY = ['d', 'e'];

function start(m: Member, all: Member[], relay: Relay, mode: AutoConnect, incarnation: number, extra: Member[]): DistkitNode {
  return createNode({
    name: m.name,
    cluster: 'partition-test',
    identity: m.identity,
    incarnation,
    listen: { host: '127.0.0.1', port: m.port },
    peers: all.filter((x) => x !== m).map((x) => ({ name: x.name, ...relay.route(m.name, x.name) })),
    trust: { store: trustAll([...all, ...extra]) },
    autoConnect: mode,
    // `always` here is distkit's eager flavour: links redial by themselves after the heal.
    reconnect: mode === 'always' ? 'eager' : 'on-demand',
    heartbeatIntervalMs: 150,
    tickTimeMs: 3000,
    detector: { stableAfter: 600, maxSilence: 1200 },
  });
}

/** `extra`: members the cluster trusts without linking to them (a hidden client). */
async function cluster(mode: AutoConnect, offset: number, extra: Member[] = []) {
  const ms = members(NAMES, portBase(offset));
  const relay = await createRelay(NAMES);
  for (const m of ms) relay.setTarget(m.name, { host: '127.0.0.1', port: m.port }, { host: '127.0.0.1', port: m.port });
  const nodes = new Map<string, DistkitNode>();
  const log = new Map<string, KernelEvent[]>();
  const recorders: { stop(): void }[] = [];
  const launch = async (m: Member, incarnation: number) => {
    const node = start(m, ms, relay, mode, incarnation, extra);
    const r = record(node);
    recorders.push(r);
    log.set(`${m.name}#${incarnation}`, r.events);
    nodes.set(m.name, node);
    await node.start();
    return node;
  };
  await Promise.all(ms.map((m) => launch(m, 1)));
  const whole = () => [...nodes.values()].every((n) => n.nodes().length === NAMES.length - 1);
  const dispose = async () => {
    for (const r of recorders) r.stop();
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    await relay.close();
  };
  return { ms, relay, nodes, log, launch, whole, dispose };
}

describe('partition cycle through a fault-injecting relay (real TCP + UDP)', () => {
  it('once: cut -> nodedown; heal -> partitioned on both sides -> one decision -> the minority restarts -> whole', async () => {
    // A hidden client (as apps/embedded-client) linked to `a` only: it runs no detector, and hears
    // of a's partitions and decisions over its link.
    const [hm] = members(['h'], portBase(33));
    const c = await cluster('once', 31, [hm!]);
    const client = createNode({
      // The cluster's tickTime (as OTP, every node must share it: with the default 60 s, `a` would
      // hear nothing from h for its 3 s and close the link).
      name: 'h', cluster: 'partition-test', identity: hm!.identity, incarnation: 1, hidden: true, autoConnect: 'never', tickTimeMs: 3000,
      peers: [{ name: 'a', address: { host: '127.0.0.1', port: c.ms[0]!.port }, publicKey: c.ms[0]!.identity.publicKey }],
      trust: { store: trustAll([...c.ms, hm!]) },
    });
    const rh = record(client);
    try {
      await until(c.whole, 10_000, 'the mesh forms at startup');
      await client.start();
      await client.connectNode('a');
      await new Promise((r) => setTimeout(r, 800)); // heartbeats flowing, views stable

      c.relay.cut(MAJORITY, MINORITY);
      await until(() => MAJORITY.every((n) => c.nodes.get(n)!.nodes().length === 2) &&
        MINORITY.every((n) => c.nodes.get(n)!.nodes().length === 1), 5000, 'cross links down');
      for (const n of MAJORITY) {
        const downs = c.log.get(`${n}#1`)!.filter((e) => e.type === 'nodedown').map((e) => (e as { node: string }).node).sort();
        expect(downs).toEqual(MINORITY);
      }
      await new Promise((r) => setTimeout(r, 1500)); // heartbeats dropped: the other side goes silent

      c.relay.heal();
      // Heartbeats arrive again but `once` keeps the links down: both sides see `partitioned`.
      const decisions = new Map<string, string>();
      await until(() => {
        for (const n of NAMES) {
          const d = c.log.get(`${n}#1`)!.find((e) => e.type === 'decision');
          if (d && d.type === 'decision') decisions.set(n, d.decision);
        }
        return decisions.size === NAMES.length;
      }, 15_000, 'every node decides');
      for (const n of NAMES) {
        const events = c.log.get(`${n}#1`)!;
        expect(events.some((e) => e.type === 'partition')).toBe(true);
        // Every decision a node made (one per peer across the cut) is the same.
        const all = new Set(events.filter((e) => e.type === 'decision').map((e) => (e as { decision: string }).decision));
        expect(all.size).toBe(1);
      }
      // keep-majority: the three stay, the two restart. Both sides computed it alone.
      expect(MAJORITY.map((n) => decisions.get(n))).toEqual(['stay', 'stay', 'stay']);
      expect(MINORITY.map((n) => decisions.get(n))).toEqual(['restart', 'restart']);
      expect(c.nodes.get('a')!.nodes()).toEqual(['b', 'c']); // still partitioned: no link was re-made behind our back
      await until(() => rh.events.some((e) => e.type === 'decision'), 5000, 'the hidden client hears of the decision');
      expect(rh.events.find((e) => e.type === 'partition')).toMatchObject({ via: 'a' });
      expect(rh.events.find((e) => e.type === 'decision')).toMatchObject({ via: 'a', decision: 'stay' });

      // The losers restart with incarnation + 1 and connect at startup; the survivors accept.
      for (const n of MINORITY) {
        await c.nodes.get(n)!.stop();
        await c.launch(c.ms.find((m) => m.name === n)!, 2);
      }
      await until(c.whole, 10_000, 'the mesh is whole again');
      const upAgain = c.log.get('a#1')!.filter((e) => e.type === 'nodeup').slice(-2);
      expect(upAgain.map((e) => (e as { incarnation: number }).incarnation)).toEqual([2, 2]);
    } finally {
      rh.stop();
      await client.stop();
      await c.dispose();
    }
  }, 60_000);

  it('always with reconnect eager: heal -> the links are re-made with backoff, and nobody is told to restart', async () => {
    const c = await cluster('always', 32);
    try {
      await until(c.whole, 10_000, 'the mesh forms at startup');
      c.relay.cut(MAJORITY, MINORITY);
      await until(() => c.nodes.get('a')!.nodes().length === 2, 5000, 'cross links down');
      await new Promise((r) => setTimeout(r, 1000));
      c.relay.heal();
      await until(c.whole, 20_000, 'reconnected by redial');
      const restarts = NAMES.flatMap((n) => c.log.get(`${n}#1`)!.filter((e) => e.type === 'decision' && e.decision === 'restart'));
      expect(restarts).toEqual([]);
    } finally {
      await c.dispose();
    }
  }, 60_000);
});
