import { describe, expect, it } from 'vitest';
import type { DistkitNode, IncomingMessage } from './api.ts';
import { members, nodeFor, portBase, record, trustAll, until } from './cluster.test-support.ts';
import { KernelError } from './errors.ts';

// Test 1 of the kernel issue: three kernels on real loopback sockets.
async function collect(node: DistkitNode, into: IncomingMessage[]): Promise<void> {
  for await (const m of node.messages()) into.push(m);
}

describe('three kernels on loopback', () => {
  it('link up at startup, messages both ways in order, a 1 MiB message, nodedown reasons', async () => {
    const ms = members(['a', 'b', 'c'], portBase(1));
    const [a, b, c] = ms.map((m) => nodeFor(m, ms, { autoConnect: 'always' })) as [DistkitNode, DistkitNode, DistkitNode];
    const ra = record(a);
    const rb = record(b);
    const got: Record<string, IncomingMessage[]> = { a: [], b: [], c: [] };
    void collect(a, got['a']!);
    void collect(b, got['b']!);
    void collect(c, got['c']!);
    try {
      await Promise.all([a.start(), b.start(), c.start()]);
      // Connect at startup (always): the full mesh forms without any explicit call.
      await until(() => a.nodes().length === 2 && b.nodes().length === 2 && c.nodes().length === 2, 10_000, 'full mesh');
      expect(a.nodes()).toEqual(['b', 'c']);
      // Exactly one link per pair, even though both ends dialled at startup.
      expect(a.stats().links).toBe(2);
      expect(ra.events.filter((e) => e.type === 'nodeup' && e.node === 'b')).toHaveLength(1);

      for (let i = 0; i < 200; i++) await a.send('b', { i });
      await b.send('a', 'pong');
      await c.send('a', 'from c');
      const big = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
      await c.send('b', big);
      await until(() => got['b']!.length === 201 && got['a']!.length === 2, 10_000, 'messages delivered');
      const fromA = got['b']!.filter((m) => m.from === 'a').map((m) => (m.value as { i: number }).i);
      expect(fromA).toEqual(Array.from({ length: 200 }, (_, i) => i));
      const bigGot = got['b']!.find((m) => m.from === 'c')!.value as Uint8Array;
      expect(bigGot.length).toBe(big.length);
      expect(bigGot.every((x, i) => x === big[i])).toBe(true);
      expect(got['a']!.map((m) => m.from).sort()).toEqual(['b', 'c']);

      // A peer tells what it is connected to (how a hidden client sees the cluster).
      expect(await a.remoteNodes('b')).toEqual(['a', 'b', 'c']);

      // Explicit disconnect, as OTP reports it: `disconnect` on the side that did it,
      // `connection_closed` on the other; both know it was on purpose.
      await a.disconnectNode('b');
      await until(() => rb.events.some((e) => e.type === 'nodedown' && e.node === 'a'), 5000, 'b sees a down');
      expect(ra.events.find((e) => e.type === 'nodedown' && e.node === 'b')).toMatchObject({ reason: 'disconnect', deliberate: 'disconnect' });
      expect(rb.events.find((e) => e.type === 'nodedown' && e.node === 'a')).toMatchObject({ reason: 'connection_closed', deliberate: 'disconnect' });

      // Graceful stop: the others see the link closed, on purpose (`shutdown`).
      const rc = record(c);
      await a.stop();
      await until(() => rc.events.some((e) => e.type === 'nodedown' && e.node === 'a'), 5000, 'c sees a down');
      expect(rc.events.find((e) => e.type === 'nodedown' && e.node === 'a')).toMatchObject({ reason: 'connection_closed', deliberate: 'shutdown' });
      rc.stop();
    } finally {
      ra.stop();
      rb.stop();
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });

  it('a peer that links in without being configured is heartbeated both ways (its hello names its port)', async () => {
    const ms = members(['a', 'j'], portBase(2));
    const a = nodeFor(ms[0]!, [ms[0]!], { heartbeatIntervalMs: 100, trust: { store: trustAll(ms) } }); // a knows no peers
    const j = nodeFor(ms[1]!, ms, { heartbeatIntervalMs: 100 });
    try {
      await Promise.all([a.start(), j.start()]);
      await until(() => a.nodes().length === 1, 5000, 'j links in');
      // (heartbeats j sent before its link was up were rightly unknown to a)
      const unknownBefore = a.stats().drops.unknown_sender;
      await until(() => a.stats().heartbeatsReceived >= 3 && j.stats().heartbeatsReceived >= 3, 5000, 'heartbeats both ways');
      expect(a.stats().drops.unknown_sender).toBe(unknownBefore);
      expect(a.info().find((n) => n.name === 'j')?.verdict).toBe('up');
    } finally {
      await Promise.all([a.stop(), j.stop()]);
    }
  });

  it('a bad option is a KernelError naming the option', () => {
    const [m] = members(['x'], 1);
    expect(() => nodeFor(m!, [m!], { heartbeatIntervalMs: -5 })).toThrow(KernelError);
    expect(() => nodeFor(m!, [m!], { heartbeatIntervalMs: -5 })).toThrow('heartbeatIntervalMs');
    expect(() => nodeFor(m!, [m!], { autoConnect: 'sometimes' as never })).toThrow('autoConnect');
    expect(() => nodeFor(m!, [m!], { listen: { host: '127.0.0.1', port: 70000 } })).toThrow('listen');
    expect(() => nodeFor(m!, [m!], { tickIntensity: 2 })).toThrow('tickIntensity');
  });
});
