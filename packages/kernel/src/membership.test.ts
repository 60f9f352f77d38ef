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
});
