import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { pairwiseKey, sealHeartbeat } from '@distkit/handshake';
import { senderId } from '@distkit/wire';
import { encodeHeartbeat, type Heartbeat } from '@distkit/wire';
import { describe, expect, it } from 'vitest';
import { members, nodeFor, portBase, until } from './cluster.test-support.ts';

// What a stranger (or a broken peer) can do to a node's ports, with real sockets: every bad input
// is dropped and counted, nothing helpful is sent back, and the node keeps serving.

function rawTcp(port: number) {
  const socket = connect(port, '127.0.0.1');
  const state = { received: 0, closed: false };
  socket.on('data', (d) => (state.received += d.length));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => {});
  return { socket, state };
}

describe('abuse limits on the stream port', () => {
  it('garbage, an oversize length, and silence are all closed without a byte in reply', async () => {
    const ms = members(['a', 'b'], portBase(41));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, setupTimeMs: 400 });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false });
    try {
      await Promise.all([a.start(), b.start()]);
      const garbage = rawTcp(ms[0]!.port);
      garbage.socket.write(Uint8Array.from([0, 40, 9, ...new Array(40).fill(7)])); // unknown pattern code 9
      const oversize = rawTcp(ms[0]!.port);
      oversize.socket.write(Uint8Array.from([0xff, 0xff, 1])); // announces 65535 bytes then stops
      const silent = rawTcp(ms[0]!.port);
      await until(() => garbage.state.closed, 3000, 'garbage connection closed');
      await until(() => silent.state.closed && oversize.state.closed, 3000, 'silent and stalled connections closed by the setup deadline');
      expect(garbage.state.received + oversize.state.received + silent.state.received).toBe(0);
      // The node still serves a real peer.
      await b.connectNode('a');
      expect(b.nodes()).toEqual(['a']);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('a burst of silent connections from one address holds at most its share of half-open slots; a trusted peer there still links', async () => {
    const ms = members(['a', 'b'], portBase(42));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false });
    try {
      await Promise.all([a.start(), b.start()]);
      const clients = Array.from({ length: 80 }, () => rawTcp(ms[0]!.port));
      // 16 half-open per address: each newer silent connection pushes out the oldest silent one.
      await until(() => clients.filter((c) => c.state.closed).length >= 64, 5000, 'all but 16 of the burst closed');
      expect(clients.filter((c) => !c.state.closed).length).toBeLessThanOrEqual(16);
      expect(clients.reduce((n, c) => n + c.state.received, 0)).toBe(0);
      // The address's rate budget is spent, yet b (same address, a key a trusts: IK) links.
      await b.connectNode('a');
      await until(() => a.nodes().includes('b'), 5000, 'b up on a');
      for (const c of clients) c.socket.destroy();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('the heartbeat receive path', () => {
  it('counts every drop by reason and never throws out of the loop', async () => {
    const ms = members(['a', 'b'], portBase(43));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false });
    await a.start();
    // Speak as b from any address: the sender id in the clear picks b's key; the address decides nothing.
    const asB = createSocket('udp4');
    await new Promise<void>((r) => asB.bind(0, '127.0.0.1', () => r()));
    const stranger = createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
    const key = pairwiseKey(ms[1]!.identity.privateKey, ms[0]!.identity.publicKey);
    const bId = senderId(ms[1]!.identity.publicKey);
    const seal = (body: Uint8Array) => sealHeartbeat(key, bId, body);
    const hb = (over: Partial<Heartbeat> = {}): Heartbeat => ({
      cluster: 'test', from: { id: ms[1]!.identity.publicKey, name: 'b' }, incarnation: 1, seq: 1, sentAt: 0,
      view: { connected: 0, lowest: null, oldest: null, referee: false, hash: new Uint8Array(16) }, ...over,
    });
    const to = (s: typeof asB, bytes: Uint8Array) => s.send(bytes, ms[0]!.port, '127.0.0.1');
    try {
      to(stranger, new Uint8Array(40)); // unknown_sender (an id nobody has)
      to(asB, new Uint8Array(1300)); // too_large
      to(asB, Uint8Array.from([...bId, ...encodeHeartbeat(hb()), ...new Uint8Array(16)])); // unauthenticated (bad tag)
      to(asB, seal(Uint8Array.from([0x93, 1, 2, 3]))); // malformed
      to(asB, seal(encodeHeartbeat(hb({ cluster: 'elsewhere' })))); // foreign_cluster
      to(stranger, seal(encodeHeartbeat(hb({ seq: 5 })))); // accepted: b's, whatever address it came from (NAT)
      await until(() => a.stats().heartbeatsReceived === 1, 2000, 'the good heartbeat');
      to(asB, seal(encodeHeartbeat(hb({ seq: 5 })))); // replayed
      to(asB, seal(encodeHeartbeat(hb({ seq: 4 })))); // replayed (older)
      await until(() => a.stats().drops.replayed === 2, 2000, 'replays counted');
      expect(a.stats().drops).toEqual({ unauthenticated: 1, malformed: 1, replayed: 2, foreign_cluster: 1, unknown_sender: 1, too_large: 1 });
      expect(a.stats().heartbeatsReceived).toBe(1);
    } finally {
      asB.close();
      stranger.close();
      await a.stop();
    }
  });
});
