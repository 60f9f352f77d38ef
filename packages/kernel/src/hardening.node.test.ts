// Attacks on a live kernel, from loopback, with real sockets: none may break an honest link.
// Each test prints what the honest peer saw (latency, memory) so the figures are in the log.
import { createServer, connect, type Socket } from 'node:net';
import { TrustStore, generateIdentity } from '@distkit/handshake';
import { describe, expect, it } from 'vitest';
import type { DistkitNode, KernelEvent } from './api.ts';
import { createNodeTransport } from './node-transport.ts';
import type { Transport } from './transport.ts';
import { members, nodeFor, portBase, record, until } from './cluster.test-support.ts';

/** A TCP proxy in front of `target` that records what each client sends first (its first record). */
async function recordingProxy(target: number) {
  const firsts: Buffer[] = [];
  const server = createServer((client) => {
    const up = connect(target, '127.0.0.1');
    let first = true;
    client.on('data', (d: Buffer) => {
      if (first) firsts.push(Buffer.from(d));
      first = false;
      up.write(d);
    });
    up.on('data', (d) => client.write(d));
    const end = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { port, firsts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function raw(port: number): { socket: Socket; received: () => number; closed: () => boolean } {
  const socket = connect(port, '127.0.0.1');
  let received = 0;
  let closed = false;
  socket.on('data', (d) => (received += d.length));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  return { socket, received: () => received, closed: () => closed };
}

const mib = () => Math.round(process.memoryUsage().heapUsed / 1024 / 1024);

describe('hardening (issue 17)', () => {
  it('a replayed IK first message never disturbs the live link it copies, and costs nothing visible', async () => {
    const ms = members(['a', 'b'], portBase(61));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, autoConnect: 'once' });
    const proxy = await recordingProxy(ms[0]!.port);
    // b reaches a through the proxy, with a's key pinned (IK).
    const b = nodeFor(ms[1]!, ms, {
      connectAtStart: false, autoConnect: 'once',
      peers: [{ name: 'a', address: { host: '127.0.0.1', port: proxy.port }, publicKey: ms[0]!.identity.publicKey }],
    });
    const ra = record(a);
    try {
      await Promise.all([a.start(), b.start()]);
      await b.connectNode('a');
      await until(() => a.nodes().includes('b'), 5000, 'linked');
      expect(proxy.firsts).toHaveLength(1);
      const before = a.stats().handshakes;
      const events = ra.events.length;
      // A passive observer replays b's IK first message, twice.
      const replays = [raw(ms[0]!.port), raw(ms[0]!.port)];
      for (const r of replays) r.socket.write(proxy.firsts[0]!);
      await until(() => a.stats().handshakes.replayed === 2, 5000, 'both replays recognised');
      await new Promise((r) => setTimeout(r, 300));
      expect(a.nodes()).toEqual(['b']);
      expect(b.nodes()).toEqual(['a']);
      expect(ra.events.slice(events).filter((e: KernelEvent) => e.type !== 'verdict')).toEqual([]); // no nodedown, no refused event
      expect(replays.reduce((n, r) => n + r.received(), 0)).toBe(0); // not a byte back
      expect(a.stats().handshakes.ok).toBe(before.ok);
      // The link still carries messages.
      await b.send('a', 'still here');
    } finally {
      ra.stop();
      await Promise.all([a.stop(), b.stop()]);
      await proxy.close();
    }
  });

  it('100 refused handshakes (unknown keys, strict) free every slot: an honest peer dials in after', async () => {
    const ms = members(['a', 'b'], portBase(62));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, handshakesPerSecondPerAddress: 1000 });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false });
    const strangers: DistkitNode[] = [];
    try {
      await Promise.all([a.start(), b.start()]);
      for (let i = 0; i < 100; i++) {
        const s = nodeFor({ name: `stranger-${i}`, identity: generateIdentity(), port: 0 }, [], {
          // An attacker does not mesh with its fellows (connect_all would link 100 sybils pairwise).
          listen: { host: '127.0.0.1', port: 0 }, connectAtStart: false, policy: { mesh: false }, trust: { store: new TrustStore({ mode: 'tofu' }) },
          peers: [{ name: 'a', address: { host: '127.0.0.1', port: ms[0]!.port } }],
        });
        strangers.push(s);
      }
      await Promise.all(strangers.map((s) => s.start()));
      const results = await Promise.allSettled(strangers.map((s) => s.connectNode('a')));
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      await until(() => a.stats().handshakes.untrusted === 100, 10_000, 'every refusal counted as untrusted');
      expect(a.info().map((i) => i.name)).toEqual(['b']); // refused names leave no trace
      const t0 = performance.now();
      await b.connectNode('a');
      console.log(`[hardening] honest dial-in after 100 refusals: ${(performance.now() - t0).toFixed(1)} ms; heap ${mib()} MiB`);
      await until(() => a.nodes().includes('b'), 5000, 'b up on a');
    } finally {
      await Promise.all([a.stop(), b.stop(), ...strangers.map((s) => s.stop())]);
    }
  }, 60_000);

  it('1000 held slowloris connections: the honest peer still reconnects, at once', async () => {
    const ms = members(['a', 'b'], portBase(63));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, autoConnect: 'once' });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false, autoConnect: 'once' });
    const held: ReturnType<typeof raw>[] = [];
    try {
      await Promise.all([a.start(), b.start()]);
      await b.connectNode('a');
      await b.disconnectNode('a');
      for (let i = 0; i < 1000; i++) {
        const r = raw(ms[0]!.port);
        // A slowloris: a byte now and then, never a whole first record.
        r.socket.write(Uint8Array.of(0));
        held.push(r);
      }
      await new Promise((r) => setTimeout(r, 200));
      const t0 = performance.now();
      await b.connectNode('a');
      const ms1 = performance.now() - t0;
      await until(() => a.nodes().includes('b'), 5000, 'b up on a');
      console.log(`[hardening] honest reconnect among 1000 slowloris connections: ${ms1.toFixed(1)} ms; heap ${mib()} MiB; a's handshakes ${JSON.stringify(a.stats().handshakes)}`);
      expect(held.reduce((n, r) => n + r.received(), 0)).toBe(0);
      // None of them holds a slot for long: closed at the first-record deadline at the latest.
      await until(() => held.every((r) => r.closed()), 5000, 'every slowloris connection closed');
    } finally {
      for (const r of held) r.socket.destroy();
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);

  it("a stranger's link cannot take over an honest peer's heartbeats (the sender is named and proven, not its address)", async () => {
    const ms = members(['a', 'b'], portBase(64));
    const tofu = new TrustStore({ mode: 'tofu' });
    for (const m of ms) tofu.learn(m.name, m.identity.publicKey);
    // b is configured with its heartbeat address; evil is not configured at all.
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, trust: { store: tofu }, heartbeatIntervalMs: 100 });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false, heartbeatIntervalMs: 100 });
    // The stranger's hello names b's heartbeat address as its own (a transport that lies about
    // the port it bound): when senders were found by source address, that took b's heartbeats over.
    const real = createNodeTransport();
    const lying: Transport = {
      ...real,
      bind: async (at, onDatagram) => {
        const socket = await real.bind({ host: at.host, port: 0 }, onDatagram);
        return { ...socket, address: { host: '127.0.0.1', port: ms[1]!.port }, send: socket.send.bind(socket), close: socket.close.bind(socket) };
      },
    };
    const evil = nodeFor({ name: 'evil', identity: generateIdentity(), port: 0 }, [], {
      listen: { host: '127.0.0.1', port: 0 }, connectAtStart: false, heartbeatIntervalMs: 100, transport: lying,
      trust: { store: new TrustStore({ mode: 'tofu' }) }, peers: [{ name: 'a', address: { host: '127.0.0.1', port: ms[0]!.port } }],
    });
    try {
      await Promise.all([a.start(), b.start(), evil.start()]);
      await b.connectNode('a');
      await until(() => a.stats().heartbeatsReceived >= 5, 5000, "b's heartbeats arriving");
      await evil.connectNode('a'); // links in under TOFU, its hello naming its own heartbeat port
      const drops = a.stats().drops.unauthenticated;
      const heard = a.stats().heartbeatsReceived;
      await until(() => a.stats().heartbeatsReceived >= heard + 10, 5000, 'heartbeats go on');
      expect(a.info().find((i) => i.name === 'b')?.verdict).toBe('up');
      expect(a.stats().drops.unauthenticated).toBe(drops);
    } finally {
      await Promise.all([a.stop(), b.stop(), evil.stop()]);
    }
  });

  it('1500 TOFU sybils that link once and leave cost bounded memory and datagrams', async () => {
    const ms = members(['a'], portBase(65));
    const a = nodeFor(ms[0]!, ms, {
      connectAtStart: false, trust: { store: new TrustStore({ mode: 'tofu' }) }, heartbeatIntervalMs: 200,
      maxStrangers: 50, strangerRetentionMs: 60_000, handshakesPerSecondPerAddress: 10_000,
    });
    const heap0 = mib();
    try {
      await a.start();
      for (let batch = 0; batch < 15; batch++) {
        const sybils = Array.from({ length: 100 }, (_, i) => nodeFor({ name: `sybil-${batch}-${i}`, identity: generateIdentity(), port: 0 }, [], {
          // An attacker does not mesh with its fellows (connect_all would link 100 sybils pairwise).
          listen: { host: '127.0.0.1', port: 0 }, connectAtStart: false, policy: { mesh: false }, trust: { store: new TrustStore({ mode: 'tofu' }) },
          peers: [{ name: 'a', address: { host: '127.0.0.1', port: ms[0]!.port } }],
        }));
        await Promise.all(sybils.map((s) => s.start()));
        await Promise.all(sybils.map((s) => s.connectNode('a')));
        await Promise.all(sybils.map((s) => s.stop()));
      }
      await until(() => a.nodes('connected').length === 0, 5000, 'every sybil gone');
      const known = a.info().length;
      const sent0 = a.stats().heartbeatsSent;
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 3000));
      const rate = Math.round(((a.stats().heartbeatsSent - sent0) * 1000) / (performance.now() - t0)); // per second
      console.log(`[hardening] 1500 sybils: ${known} peers remembered, ${rate} heartbeats/s, heap ${heap0} -> ${mib()} MiB`);
      expect(known).toBeLessThanOrEqual(50);
      expect(rate).toBeLessThanOrEqual(50 * 5 * 1.3); // 50 strangers at 5/s, with jitter
    } finally {
      await a.stop();
    }
  }, 400_000);
});

