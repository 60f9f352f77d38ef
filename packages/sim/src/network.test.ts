import { describe, expect, it } from 'vitest';
import type { Transport } from '@distkit/wire';
import { createSimNetwork, type Address, type SimTransport, type Stream } from './index.ts';

// The simulator's transports must be usable wherever the kernel expects its Transport (checked by
// the type checker when Deno runs this file; no runtime import of the kernel).
const asKernelTransport = (t: SimTransport): Transport => t;

const bytes = (...xs: number[]) => Uint8Array.from(xs);

describe('datagrams', () => {
  it('delivers after the configured delay, with the sender address, and copies the bytes', async () => {
    const net = createSimNetwork({ seed: 1, delay: 7 });
    const got: { at: number; data: number[]; from: Address }[] = [];
    const a = net.host('a');
    await net.host('b').bind({ host: 'b', port: 9 }, (data, from) => got.push({ at: net.now, data: [...data], from }));
    const sock = await a.bind({ host: 'a', port: 0 }, () => {});
    const payload = bytes(1, 2, 3);
    sock.send(payload, { host: 'b', port: 9 });
    payload[0] = 99;
    net.runSync(100);
    expect(got).toEqual([{ at: 7, data: [1, 2, 3], from: { host: 'a', port: sock.address.port } }]);
    expect(sock.address.port).toBeGreaterThanOrEqual(49152);
    expect(net.now).toBe(100);
  });

  it('loses about the configured fraction, duplicates and reorders when told to', async () => {
    const net = createSimNetwork({ seed: 7, loss: 0.2, duplicate: 0.1, reorder: 0.3, delay: { min: 1, max: 3 } });
    const got: number[] = [];
    await net.host('b').bind({ host: 'b', port: 1 }, (d) => got.push(new DataView(d.buffer, d.byteOffset).getUint32(0)));
    const s = await net.host('a').bind({ host: 'a', port: 1 }, () => {});
    for (let i = 0; i < 10_000; i++) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, i);
      net.at(i, () => s.send(b, { host: 'b', port: 1 }));
    }
    net.runSync(20_000);
    const st = net.stats();
    expect(st.datagramsLost / st.datagramsSent).toBeGreaterThan(0.18);
    expect(st.datagramsLost / st.datagramsSent).toBeLessThan(0.22);
    expect(got.length).toBe(st.datagramsDelivered);
    expect(new Set(got).size).toBeLessThan(got.length);
    expect(got.some((v, i) => i > 0 && v < got[i - 1]!)).toBe(true);
  });

  it('partitions cut groups apart until the heal; crashed hosts neither send nor receive', async () => {
    const net = createSimNetwork({ seed: 3 });
    const got: string[] = [];
    const socks = await Promise.all(['a', 'b', 'c'].map((h) => net.host(h).bind({ host: h, port: 1 }, (_d, from) => got.push(`${from.host}->${h}@${net.now}`))));
    const [a, b, c] = socks as [typeof socks[0], typeof socks[0], typeof socks[0]];
    net.partition([['a'], ['b', 'c']], { healAt: 50 });
    net.at(10, () => {
      a.send(bytes(1), { host: 'b', port: 1 });
      b.send(bytes(1), { host: 'c', port: 1 });
    });
    net.at(60, () => a.send(bytes(1), { host: 'b', port: 1 }));
    net.at(70, () => net.crash('c'));
    net.at(80, () => {
      b.send(bytes(1), { host: 'c', port: 1 });
      c.send(bytes(1), { host: 'a', port: 1 });
    });
    net.runSync(200);
    expect(got).toEqual(['b->c@11', 'a->b@61']);
    expect(net.isUp('c')).toBe(false);
    const again = net.restart('c');
    expect(net.incarnation('c')).toBe(1);
    await again.bind({ host: 'c', port: 1 }, () => got.push('c got one'));
    b.send(bytes(1), { host: 'c', port: 1 });
    net.runSync(300);
    expect(got).toContain('c got one');
  });
});

describe('clock and timers', () => {
  it('fires timers in time order, FIFO at equal times, and not after cancel or crash', () => {
    const net = createSimNetwork({ seed: 1 });
    const t = asKernelTransport(net.host('a'));
    const order: string[] = [];
    t.setTimer(20, () => order.push('b'));
    t.setTimer(10, () => order.push('a'));
    t.setTimer(20, () => order.push('c'));
    t.setTimer(15, () => order.push('cancelled')).cancel();
    t.setTimer(30, () => order.push('crashed'));
    net.at(25, () => net.crash('a'));
    net.runSync(100);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(t.wallTime() - t.now()).toBe(1_800_000_000_000);
  });
});

describe('streams', () => {
  async function pair(seed = 1) {
    const net = createSimNetwork({ seed, delay: { min: 1, max: 20 } });
    const server: Stream[] = [];
    await net.host('s').listen({ host: 's', port: 4000 }, (st) => server.push(st));
    const pending = net.host('c').connect({ host: 's', port: 4000 });
    await net.run(100);
    return { net, client: await pending, server: server[0]! };
  }

  it('connects, and delivers bytes in order despite random delays', async () => {
    const { net, client, server } = await pair();
    const got: number[] = [];
    server.setHandlers({ onData: (d) => got.push(...d), onClose: () => got.push(-1) });
    for (let i = 0; i < 200; i++) client.write(bytes(i));
    client.close();
    await net.run(1000);
    expect(got).toEqual([...Array.from({ length: 200 }, (_, i) => i), -1]);
    expect(client.remote).toEqual({ host: 's', port: 4000 });
  });

  it('refuses a connection to a port nobody listens on, and times out across a partition', async () => {
    const code = async (partitioned: boolean) => {
      const net = createSimNetwork({ seed: 1 });
      await net.host('s').listen({ host: 's', port: 2 }, () => {});
      if (partitioned) net.partition([['c'], ['s']]);
      const outcome = net.host('c').connect({ host: 's', port: partitioned ? 2 : 1 }, { timeoutMs: 500 }).then(
        () => 'connected',
        (e: { code?: string }) => `${e.code}@${net.now}`,
      );
      await net.run(1000);
      return outcome;
    };
    expect(await code(false)).toBe('ECONNREFUSED@2');
    expect(await code(true)).toBe('ETIMEDOUT@500');
  });

  it('holds bytes through a partition and delivers them, in order, after the heal', async () => {
    const { net, client, server } = await pair(5);
    const got: number[] = [];
    server.setHandlers({ onData: (d) => got.push(...d), onClose: () => {} });
    net.partition([['c'], ['s']], { healAt: 5000 });
    for (let i = 0; i < 50; i++) net.at(200 + i * 10, () => client.write(bytes(i)));
    await net.run(4000);
    expect(got).toEqual([]);
    await net.run(6000);
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('a crash with reset closes the peer\'s stream with ECONNRESET; a silent crash says nothing', async () => {
    for (const reset of [true, false]) {
      const { net, client, server } = await pair();
      let closed: Error | undefined | 'open' = 'open';
      client.setHandlers({ onData: () => {}, onClose: (e) => (closed = e) });
      server.setHandlers({ onData: () => {}, onClose: () => {} });
      net.crash('s', { reset });
      await net.run(1000);
      if (reset) expect((closed as unknown as { code?: string })?.code).toBe('ECONNRESET');
      else expect(closed).toBe('open');
    }
  });
});
