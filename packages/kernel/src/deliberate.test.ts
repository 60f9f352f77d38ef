// A deliberate disconnect is told to the peer in the closing frame; neither side then reports a
// partition or a restart decision for that pair, though heartbeats keep flowing: the verdict says
// the link was closed on purpose, until a new link.
import { describe, expect, it } from 'vitest';
import type { DistkitNode } from './api.ts';
import { members, nodeFor, portBase, record, until } from './cluster.test-support.ts';

describe('a deliberate disconnect is no partition', () => {
  it('once: after disconnectNode, both sides keep hearing each other and report `disconnected`, never a partition or a decision', async () => {
    const ms = members(['a', 'b'], portBase(47));
    const opts = { autoConnect: 'once' as const, heartbeatIntervalMs: 100, detector: { stableAfter: 300 } };
    const [a, b] = ms.map((m) => nodeFor(m, ms, opts)) as [DistkitNode, DistkitNode];
    const ra = record(a);
    const rb = record(b);
    try {
      await Promise.all([a.start(), b.start()]);
      await until(() => a.nodes().length === 1 && b.nodes().length === 1, 5000, 'linked');
      await a.disconnectNode('b');
      await until(() => rb.events.some((e) => e.type === 'nodedown'), 5000, 'b sees the link go');
      // Heartbeats keep arriving both ways for many intervals and well past stableAfter.
      const heard = [a.stats().heartbeatsReceived, b.stats().heartbeatsReceived];
      await until(() => a.stats().heartbeatsReceived > heard[0]! + 10 && b.stats().heartbeatsReceived > heard[1]! + 10, 5000, 'heartbeats go on');
      for (const r of [ra, rb]) {
        expect(r.events.filter((e) => e.type === 'partition' || e.type === 'decision')).toEqual([]);
      }
      expect(a.info().find((i) => i.name === 'b')?.verdict).toBe('disconnected');
      expect(b.info().find((i) => i.name === 'a')?.verdict).toBe('disconnected');
      expect(rb.events.find((e) => e.type === 'nodedown')).toMatchObject({ reason: 'connection_closed', deliberate: 'disconnect' });
      // A new link ends it: explicit connects lift the `once` bar.
      await b.connectNode('a');
      await until(() => a.info().find((i) => i.name === 'b')?.verdict === 'up', 5000, 'up again');
    } finally {
      ra.stop();
      rb.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("always + eager: a link closed on purpose (either side) is not redialled by itself; a send links again", async () => {
    const ms = members(['a', 'b'], portBase(48));
    const opts = { autoConnect: 'always' as const, reconnect: 'eager' as const, heartbeatIntervalMs: 100, policy: { backoff: { base: 50, cap: 200 } } };
    const [a, b] = ms.map((m) => nodeFor(m, ms, opts)) as [DistkitNode, DistkitNode];
    const ra = record(a);
    try {
      await Promise.all([a.start(), b.start()]);
      await until(() => a.nodes().length === 1 && b.nodes().length === 1, 5000, 'linked');
      await a.disconnectNode('b');
      await until(() => b.nodes().length === 0, 5000, 'b sees the link go');
      await new Promise((r) => setTimeout(r, 1000)); // many backoff periods
      expect(a.nodes()).toEqual([]);
      expect(b.nodes()).toEqual([]);
      await a.send('b', 'hello'); // on demand, as under OTP
      await until(() => a.nodes().length === 1 && b.nodes().length === 1, 5000, 'linked by the send');
      await b.disconnectNode('a'); // the peer's disconnect: not redialled either
      await until(() => a.nodes().length === 0, 5000, 'a sees the link go');
      await new Promise((r) => setTimeout(r, 1000));
      expect(a.nodes()).toEqual([]);
      expect(ra.events.filter((e) => e.type === 'nodeup')).toHaveLength(2);
    } finally {
      ra.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
