// Every policy feature through the kernel API, on real loopback links: allow/deny decided before
// nodeup (on both sides), run-time configure and setTrust, peers added after start, slow readers.
import { TrustStore, formatTrustEntry } from '@distkit/handshake';
import { describe, expect, it } from 'vitest';
import type { DistkitNode, IncomingMessage, KernelEvent } from './api.ts';
import { members, nodeFor, portBase, record, trustAll, until } from './cluster.test-support.ts';
import { KernelError } from './errors.ts';

async function rejection(p: Promise<unknown>): Promise<KernelError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KernelError);
    return err as KernelError;
  }
  throw new Error('expected a rejection');
}

describe('admission is decided before nodeup', () => {
  it('a denied peer that dials in never gets nodeup on either side, and none of its frames arrive', async () => {
    const ms = members(['a', 'evil'], portBase(41));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, policy: { deny: ['ev*'] } });
    const evil = nodeFor(ms[1]!, ms, { connectAtStart: false });
    const ra = record(a);
    const re = record(evil);
    const got: IncomingMessage[] = [];
    void (async () => {
      for await (const m of a.messages()) got.push(m);
    })();
    try {
      await Promise.all([a.start(), evil.start()]);
      const err = await rejection(evil.connectNode('a'));
      expect(err.code).toBe('CONNECT_FAILED');
      await expect(evil.send('a', 'let me in')).rejects.toThrow(KernelError);
      await until(() => ra.events.some((e) => e.type === 'refused'), 3000, 'refusal reported');
      expect(ra.events.find((e) => e.type === 'refused')).toMatchObject({ node: 'evil', reason: 'refused by policy: denied' });
      expect(ra.events.some((e) => e.type === 'nodeup')).toBe(false);
      expect(re.events.some((e) => e.type === 'nodeup')).toBe(false);
      expect(got).toEqual([]);
      // Our own connect to a denied node is refused by the policy, without a dial.
      const out = await rejection(a.connectNode('evil'));
      expect(out.code).toBe('REFUSED');
      expect(a.stats().handshakes.ok).toBe(0);
    } finally {
      ra.stop();
      re.stop();
      await Promise.all([a.stop(), evil.stop()]);
    }
  });

  it('configure at run time: a shrunk allow list closes exactly the links it now forbids (a pattern works)', async () => {
    const ms = members(['a', 'web-1', 'db-1'], portBase(42));
    const [a, w, d] = ms.map((m) => nodeFor(m, ms, { autoConnect: 'once' })) as [DistkitNode, DistkitNode, DistkitNode];
    const ra = record(a);
    try {
      await Promise.all([a.start(), w.start(), d.start()]);
      await until(() => a.nodes().length === 2, 5000, 'a linked to both');
      a.configure({ policy: { allow: ['web-*'] } });
      await until(() => ra.events.some((e) => e.type === 'nodedown' && e.node === 'db-1'), 5000, 'db-1 closed');
      expect(a.nodes()).toEqual(['web-1']);
      expect(ra.events.find((e) => e.type === 'nodedown' && e.node === 'db-1')).toMatchObject({ reason: 'refused' });
      expect((await rejection(a.connectNode('db-1'))).code).toBe('REFUSED');
      expect(() => a.configure({ policy: { limits: { maxLinks: -1 } } })).toThrow(/policy\.limits\.maxLinks/);
    } finally {
      ra.stop();
      await Promise.all([a.stop(), w.stop(), d.stop()]);
    }
  });

  it('setTrust: a link whose key the new store does not trust is closed; the others stay', async () => {
    const ms = members(['a', 'b', 'c'], portBase(43));
    const [a, b, c] = ms.map((m) => nodeFor(m, ms, { autoConnect: 'once' })) as [DistkitNode, DistkitNode, DistkitNode];
    try {
      await Promise.all([a.start(), b.start(), c.start()]);
      await until(() => a.nodes().length === 2, 5000, 'a linked to both');
      a.setTrust(trustAll([ms[0]!, ms[1]!])); // c is no longer authorized
      await until(() => a.nodes().length === 1, 5000, 'c closed');
      expect(a.nodes()).toEqual(['b']);
      expect(() => a.setTrust({} as never)).toThrow(/explain/);
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });
});

describe('peers added at run time are the policy\'s too', () => {
  it('a peer added after start is dialled (connect at start); one added with autoConnect never is not, and a send to it is refused', async () => {
    const ms = members(['a', 'b', 'c'], portBase(44));
    const a = nodeFor(ms[0]!, [ms[0]!], { trust: { store: trustAll(ms) } }); // knows nobody yet
    const b = nodeFor(ms[1]!, [ms[1]!], { trust: { store: trustAll(ms) } });
    const c = nodeFor(ms[2]!, [ms[2]!], { trust: { store: trustAll(ms) } });
    try {
      await Promise.all([a.start(), b.start(), c.start()]);
      a.addPeer({ name: 'b', address: b.address });
      await until(() => a.nodes().includes('b'), 5000, 'b dialled after addPeer');
      a.addPeer({ name: 'c', address: c.address, autoConnect: 'never' });
      const err = await rejection(a.send('c', 'hello'));
      expect(err.code).toBe('AUTO_CONNECT_REFUSED');
      expect(a.nodes()).toEqual(['b']);
      await a.connectNode('c'); // explicit connects are always allowed
      expect(a.nodes()).toEqual(['b', 'c']);
      // A send to a name nobody configured fails at once and leaves no trace.
      expect((await rejection(a.send('typo', 1))).code).toBe('UNKNOWN_NODE');
      expect(a.info().map((i) => i.name)).toEqual(['b', 'c']);
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });
});

describe('a slow reader is told what it lost', () => {
  it('messages past maxQueuedMessages are dropped and reported as message-lost; events past maxQueuedEvents as events-lost', async () => {
    const ms = members(['a', 'b'], portBase(45));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, maxQueuedMessages: 10, maxQueuedEvents: 1 });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false });
    const events: KernelEvent[] = [];
    const eventsIt = a.events()[Symbol.asyncIterator]();
    const messagesIt = a.messages()[Symbol.asyncIterator]();
    try {
      await Promise.all([a.start(), b.start()]);
      await b.connectNode('a');
      for (let i = 0; i < 30; i++) await b.send('a', i);
      await until(() => a.stats().messagesReceived === 30, 5000, 'all 30 arrived');
      // The reader only now starts reading: it gets the 10 newest, and the loss is an event.
      const first = await messagesIt.next();
      expect(first.value).toEqual({ from: 'b', value: 20 });
      // The event reader, one event deep, lost the link's events; the newest is the message loss.
      for (let i = 0; i < 2; i++) events.push((await eventsIt.next()).value as KernelEvent);
      expect(events[0]).toMatchObject({ type: 'events-lost' });
      expect((events[0] as { count: number }).count).toBeGreaterThan(0);
      expect(events[1]).toMatchObject({ type: 'message-lost', count: 20, reason: 'slow_consumer' });
    } finally {
      await eventsIt.return?.();
      await messagesIt.return?.();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('trust is a shape', () => {
  it('any object with explain/keyFor/learn works as the store (no instanceof)', async () => {
    const ms = members(['a', 'b'], portBase(46));
    const real = new TrustStore({ mode: 'strict', authorizedNodes: formatTrustEntry({ name: 'b', key: ms[1]!.identity.publicKey, options: {} }) });
    const asked: string[] = [];
    const shaped = {
      explain: (n: string, k: Uint8Array) => (asked.push(n), real.explain(n, k)),
      keyFor: (n: string) => real.keyFor(n),
      learn: (n: string, k: Uint8Array) => real.learn(n, k),
    };
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, trust: { store: shaped } });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false });
    try {
      await Promise.all([a.start(), b.start()]);
      await b.connectNode('a');
      await until(() => a.nodes().length === 1, 5000, 'a sees b up');
      expect(asked).toContain('b');
      expect(a.nodes()).toEqual(['b']);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
