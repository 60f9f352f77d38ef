import { describe, expect, it } from 'vitest';
import type { AutoConnect, DistkitNode } from './api.ts';
import { members, nodeFor, portBase, record, until, type Member } from './cluster.test-support.ts';
import { KernelError } from './errors.ts';

// Test 2 of the kernel issue: the dist_auto_connect table, end to end on real sockets.
// Columns: auto-connect to an unconnected node | after the link fails | explicit connect | inbound.

function pair(mode: AutoConnect, base: number, connectAtStart = false) {
  const ms = members(['a', 'b'], base);
  const make = (m: Member) => nodeFor(m, ms, { autoConnect: mode, connectAtStart });
  return { ms, a: make(ms[0]!), b: make(ms[1]!), make };
}

async function rejects(p: Promise<unknown>): Promise<KernelError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KernelError);
    return err as KernelError;
  }
  throw new Error('expected a rejection');
}

/** Kills b's side of the link without a goodbye (b stops; the link fails for a). */
async function failLink(a: DistkitNode, b: DistkitNode): Promise<void> {
  const r = record(a);
  await b.stop();
  await until(() => r.events.some((e) => e.type === 'nodedown' && e.node === 'b'), 5000, 'a sees b down');
  r.stop();
}

describe('policy table end to end', () => {
  it('always: auto-connect dials; after a failure the next send re-makes the link; explicit and inbound work', async () => {
    const { ms, a, b, make } = pair('always', portBase(11));
    let b2: DistkitNode | null = null;
    try {
      await a.start();
      await b.start();
      expect(a.nodes()).toEqual([]);
      await a.send('b', 'auto'); // auto-connect: the send dials and is delivered on the new link
      expect(a.nodes()).toEqual(['b']);
      await failLink(a, b);
      b2 = make(ms[1]!);
      await b2.start();
      await a.send('b', 'again'); // re-made on the next need
      expect(a.nodes()).toEqual(['b']);
      await until(() => b2!.nodes().length === 1, 5000, 'b sees the new link');
      await b2.disconnectNode('a');
      await until(() => a.nodes().length === 0, 5000, 'disconnect seen');
      await b2.connectNode('a'); // inbound to a: accepted
      await until(() => a.nodes().length === 1, 5000, 'a sees the inbound link');
    } finally {
      await Promise.all([a.stop(), b.stop(), b2?.stop()]);
    }
  });

  it('always: with connect-at-start, a link that fails is redialled with backoff until the peer is back', async () => {
    const { ms, a, b, make } = pair('always', portBase(12), true);
    let b2: DistkitNode | null = null;
    try {
      await Promise.all([a.start(), b.start()]);
      await until(() => a.nodes().length === 1, 5000, 'startup link');
      await failLink(a, b);
      const r = record(a);
      b2 = make(ms[1]!);
      await b2.start();
      // No send, no explicit connect: the redial alone brings the link back.
      await until(() => r.events.some((e) => e.type === 'nodeup' && e.node === 'b'), 8000, 'redial');
      r.stop();
    } finally {
      await Promise.all([a.stop(), b.stop(), b2?.stop()]);
    }
  });

  it('once: auto-connect dials until the first failure, then the node is barred, even after it restarts', async () => {
    const { ms, a, b, make } = pair('once', portBase(13));
    let b2: DistkitNode | null = null;
    try {
      await a.start();
      await b.start();
      await a.send('b', 'first'); // auto-connect allowed before any failure
      expect(a.nodes()).toEqual(['b']);
      await failLink(a, b);
      b2 = make(ms[1]!);
      await b2.start();
      const err = await rejects(a.send('b', 'barred now'));
      expect(err.code).toBe('AUTO_CONNECT_REFUSED');
      expect(err.message).toContain('barred');
      expect(a.nodes()).toEqual([]);
      // Explicit connect lifts the bar.
      await a.connectNode('b');
      expect(a.nodes()).toEqual(['b']);
      await a.send('b', 'fine again');
    } finally {
      await Promise.all([a.stop(), b.stop(), b2?.stop()]);
    }
  });

  it('once: an inbound link from a barred node is accepted and lifts the bar', async () => {
    const { ms, a, b, make } = pair('once', portBase(14));
    let b2: DistkitNode | null = null;
    try {
      await a.start();
      await b.start();
      await a.connectNode('b');
      await failLink(a, b);
      b2 = make(ms[1]!);
      await b2.start();
      const err = await rejects(a.send('b', 'still barred'));
      expect(err.code).toBe('AUTO_CONNECT_REFUSED');
      await b2.connectNode('a'); // inbound at a: accepted although b is barred
      await until(() => a.nodes().length === 1, 5000, 'a sees the inbound link');
      const got: unknown[] = [];
      void (async () => { for await (const m of b2!.messages()) got.push(m.value); })();
      await a.send('b', 'over the inbound link');
      await until(() => got.length === 1, 5000, 'message over the inbound link');
    } finally {
      await Promise.all([a.stop(), b.stop(), b2?.stop()]);
    }
  });

  it('never: a send to an unconnected node fails fast; explicit connect and inbound still work', async () => {
    const { a, b } = pair('never', portBase(15));
    try {
      await a.start();
      await b.start();
      const t0 = Date.now();
      const err = await rejects(a.send('b', 'nope'));
      expect(err.code).toBe('AUTO_CONNECT_REFUSED');
      expect(Date.now() - t0).toBeLessThan(100); // fails fast, no dial attempted
      expect(a.stats().handshakes.ok).toBe(0);
      await a.connectNode('b');
      await until(() => b.nodes().length === 1, 5000, 'b sees the link');
      await a.send('b', 'now it goes');
      await a.disconnectNode('b');
      await until(() => b.nodes().length === 0, 5000, 'disconnect seen');
      await b.connectNode('a'); // inbound at a
      await until(() => a.nodes().length === 1, 5000, 'a sees the inbound link');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('never: with connect-at-start, nothing is dialled at start', async () => {
    const { a, b } = pair('never', portBase(16), true);
    try {
      await Promise.all([a.start(), b.start()]);
      await new Promise((r) => setTimeout(r, 300));
      expect(a.nodes()).toEqual([]);
      expect(b.nodes()).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
