import { describe, expect, it } from 'vitest';
import { members, portBase, record, trustAll, until } from './cluster.test-support.ts';
import { createNode } from './node.ts';
import { createRelay } from './relay.test-support.ts';

// Erlang's net_ticktime, end to end: a link that carries nothing (the cable is pulled, no reset
// reaches either side) is declared dead with reason `tick_timeout` within tickTime * 1.25.
describe('link ticks', () => {
  it('a silent link dies with tick_timeout; an idle but healthy one does not', async () => {
    const ms = members(['a', 'b'], portBase(51));
    const relay = await createRelay(['a', 'b']);
    for (const m of ms) relay.setTarget(m.name, { host: '127.0.0.1', port: m.port }, { host: '127.0.0.1', port: m.port });
    const make = (i: number) => createNode({
      name: ms[i]!.name, cluster: 'ticks', identity: ms[i]!.identity, incarnation: 1,
      listen: { host: '127.0.0.1', port: ms[i]!.port },
      peers: [{ name: ms[1 - i]!.name, ...relay.route(ms[i]!.name, ms[1 - i]!.name) }],
      trust: { store: trustAll(ms) }, autoConnect: 'never', tickTimeMs: 800,
    });
    const a = make(0);
    const b = make(1);
    const ra = record(a);
    try {
      await Promise.all([a.start(), b.start()]);
      await a.connectNode('b');
      // Idle for three tick periods: ticks keep it alive.
      await new Promise((r) => setTimeout(r, 2400));
      expect(a.nodes()).toEqual(['b']);
      const t0 = Date.now();
      relay.stall(['a'], ['b']);
      await until(() => ra.events.some((e) => e.type === 'nodedown'), 3000, 'a declares b dead');
      const elapsed = Date.now() - t0;
      expect(ra.events.find((e) => e.type === 'nodedown')).toMatchObject({ node: 'b', reason: 'tick_timeout' });
      expect(elapsed).toBeGreaterThanOrEqual(800 * 0.75);
      expect(elapsed).toBeLessThan(800 * 1.25 + 400);
    } finally {
      ra.stop();
      await Promise.all([a.stop(), b.stop()]);
      await relay.close();
    }
  });
});

describe('back-pressure', () => {
  it('send() stops resolving while the link cannot carry more, and rejects when the link dies', async () => {
    const ms = members(['a', 'b'], portBase(52));
    const relay = await createRelay(['a', 'b']);
    for (const m of ms) relay.setTarget(m.name, { host: '127.0.0.1', port: m.port }, { host: '127.0.0.1', port: m.port });
    const make = (i: number) => createNode({
      name: ms[i]!.name, cluster: 'bp', identity: ms[i]!.identity, incarnation: 1,
      listen: { host: '127.0.0.1', port: ms[i]!.port },
      peers: [{ name: ms[1 - i]!.name, ...relay.route(ms[i]!.name, ms[1 - i]!.name) }],
      trust: { store: trustAll(ms) }, autoConnect: 'never', tickTimeMs: 1500,
    });
    const a = make(0);
    const b = make(1);
    try {
      await Promise.all([a.start(), b.start()]);
      await a.connectNode('b');
      // The relay stops reading from a: a's socket buffer fills, and send() must stop resolving.
      relay.pause(['a'], ['b']);
      const chunk = new Uint8Array(64 * 1024);
      let resolved = 0;
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 400; i++) {
        const p = a.send('b', chunk);
        pending.push(p);
        const done = await Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200))]);
        if (!done) break;
        resolved++;
      }
      expect(resolved).toBeLessThan(400); // 25 MiB were never buffered
      const failed = await Promise.allSettled(pending);
      expect(failed.at(-1)).toMatchObject({ status: 'rejected' }); // the link died (tick_timeout) with it queued
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await relay.close();
    }
  });
});
