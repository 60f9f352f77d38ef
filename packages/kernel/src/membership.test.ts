// Run-time membership through the kernel API on loopback: join by address, leave on purpose, tags.
import { describe, expect, it } from 'vitest';
import type { DistkitNode } from './api.ts';
import { members, nodeFor, portBase, record, trustAll, until } from './cluster.test-support.ts';
import { KernelError } from './errors.ts';

describe('membership at run time', () => {
  it('joinNode(address): the node names itself, links, and is a configured peer from then on', async () => {
    const ms = members(['a', 'b'], portBase(51));
    const a = nodeFor(ms[0]!, [ms[0]!], { trust: { store: trustAll(ms) }, autoConnect: 'once' });
    const b = nodeFor(ms[1]!, [ms[1]!], { trust: { store: trustAll(ms) }, autoConnect: 'once' });
    try {
      await Promise.all([a.start(), b.start()]);
      expect(await a.joinNode(b.address)).toBe('b');
      expect(a.nodes()).toEqual(['b']);
      expect(a.info().find((i) => i.name === 'b')?.address).toEqual(b.address);
      // Joining a node already linked (here, from its side; in a cluster, through the mesh) is
      // done at once: the second link loses the policy's duplicate rule, the first stays.
      expect(await b.joinNode(a.address)).toBe('a');
      expect(b.nodes()).toEqual(['a']);
      expect(b.info().find((i) => i.name === 'a')?.address).toEqual(a.address);
      // A join to nothing fails with a KernelError.
      await expect(a.joinNode({ host: '127.0.0.1', port: 1 })).rejects.toBeInstanceOf(KernelError);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('leave(): every peer is told; nobody reports a partition or a decision, though heartbeats stop', async () => {
    const ms = members(['a', 'b', 'c'], portBase(52));
    const [a, b, c] = ms.map((m) => nodeFor(m, ms, { autoConnect: 'once', heartbeatIntervalMs: 100, detector: { stableAfter: 300 } })) as [DistkitNode, DistkitNode, DistkitNode];
    const rb = record(b);
    const rc = record(c);
    try {
      await Promise.all([a.start(), b.start(), c.start()]);
      await until(() => a.nodes().length === 2 && b.nodes().length === 2, 5000, 'mesh');
      await a.leave();
      await until(() => b.nodes().length === 1 && c.nodes().length === 1, 5000, 'a gone');
      await new Promise((r) => setTimeout(r, 1000));
      for (const r of [rb, rc]) {
        expect(r.events.find((e) => e.type === 'nodedown' && e.node === 'a')).toMatchObject({ reason: 'connection_closed', deliberate: 'leave' });
        expect(r.events.filter((e) => (e.type === 'partition' || e.type === 'decision') && e.node === 'a')).toEqual([]);
      }
      expect(b.nodes()).toEqual(['c']);
    } finally {
      rb.stop();
      rc.stop();
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });

  it('tags travel in the hello and a change reaches linked peers at once', async () => {
    const ms = members(['a', 'b'], portBase(53));
    const a = nodeFor(ms[0]!, ms, { tags: { role: 'db', zone: 'eu-1' } });
    const b = nodeFor(ms[1]!, ms, {});
    try {
      await Promise.all([a.start(), b.start()]);
      await until(() => b.nodes().includes('a'), 5000, 'linked');
      expect(b.info().find((i) => i.name === 'a')?.tags).toEqual({ role: 'db', zone: 'eu-1' });
      a.setTags({ role: 'cache' });
      await until(() => b.info().find((i) => i.name === 'a')?.tags['role'] === 'cache', 5000, 'the change arrives');
      expect(() => a.setTags({ 'bad key!': 'x' })).toThrow(/letters, digits/);
      expect(() => nodeFor(ms[0]!, ms, { tags: { k: '' } })).toThrow(/tags/);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('joins make a whole mesh: b and c each join a by address, and link to each other through it', async () => {
    const ms = members(['a', 'b', 'c'], portBase(54));
    // Nobody is configured anywhere: each knows only its own address, and trusts the three keys.
    const [a, b, c] = ms.map((m) => nodeFor(m, [m], { trust: { store: trustAll(ms) } })) as [DistkitNode, DistkitNode, DistkitNode];
    try {
      await Promise.all([a.start(), b.start(), c.start()]);
      expect(await b.joinNode(a.address)).toBe('a');
      expect(await c.joinNode(a.address)).toBe('a');
      // a learned where b and c take links from their hellos; b and c found each other through a.
      expect(a.info().find((i) => i.name === 'b')?.address).toEqual(b.address);
      await until(() => b.nodes().includes('c') && c.nodes().includes('b'), 5000, 'b–c linked by the mesh');
      expect(b.info().find((i) => i.name === 'c')?.address).toEqual(c.address);
      await new Promise((r) => setTimeout(r, 2500)); // longer than the overlap grace: nothing is dropped
      for (const n of [a, b, c]) expect(n.nodes().length).toBe(2);
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });

  it('connectNode to an address where another node answers fails at once, naming both', async () => {
    const ms = members(['a', 'c'], portBase(55));
    // b's key is unknown to a, so a dials "b" with XX and learns who answers from the handshake.
    const a = nodeFor(ms[0]!, [ms[0]!], { trust: { store: trustAll(ms) } });
    const c = nodeFor(ms[1]!, [ms[1]!], { trust: { store: trustAll(ms) } });
    try {
      await Promise.all([a.start(), c.start()]);
      a.addPeer({ name: 'b', address: c.address }); // a typo: c listens there
      const err = await a.connectNode('b').then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(KernelError);
      expect(err).toMatchObject({ code: 'CONNECT_FAILED' });
      expect((err as Error).message).toMatch(/dialled b but the peer says it is c/);
      await expect(a.joinNode(c.address, { name: 'b' })).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
      expect(a.stats().handshakes.wrong_name).toBeGreaterThanOrEqual(2);
      a.removePeer('b');
      expect(a.info().map((i) => i.name)).not.toContain('b');
    } finally {
      await Promise.all([a.stop(), c.stop()]);
    }
  });

  it('removePeer forgets a node that linked in unconfigured and is gone, at once', async () => {
    const ms = members(['a', 'c'], portBase(56));
    const a = nodeFor(ms[0]!, [ms[0]!], { trust: { store: trustAll(ms) } });
    const c = nodeFor(ms[1]!, [ms[1]!], { trust: { store: trustAll(ms) } });
    try {
      await Promise.all([a.start(), c.start()]);
      await c.joinNode(a.address);
      await c.stop();
      await until(() => a.nodes().length === 0, 5000, 'c gone');
      expect(a.info().map((i) => i.name)).toEqual(['c']); // kept for a while (strangerRetentionMs)
      a.removePeer('c');
      expect(a.info()).toEqual([]);
    } finally {
      await Promise.all([a.stop(), c.stop()]);
    }
  });
});
