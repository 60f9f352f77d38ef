import { createSocket, type Socket } from 'node:dgram';
import { createServer } from 'node:net';
import { generateIdentity } from '@distkit/handshake';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './controlled-node.test-support.ts';
import { KernelError } from './errors.ts';
import { createNode } from './node.ts';
import { createNodeTransport } from './node-transport.ts';
import type { Transport } from './transport.ts';

// Real sockets on loopback. A node whose heartbeat socket follows its stream listener needs the
// same port number free for TCP and for UDP. With port 0 the OS only promises the TCP half; this
// is what a parallel test run (or any busy host) hits when another process holds the UDP twin.
const busy: Socket[] = [];
afterEach(async () => {
  await Promise.all(busy.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/**
 * Holds the UDP half of a port whose TCP half stays free: one drawn under the ephemeral range
 * (freePort), so that no outgoing connection on the box can take its TCP half meanwhile.
 */
async function holdUdpPort(): Promise<number> {
  const port = await freePort({ udp: true });
  const s = createSocket('udp4');
  busy.push(s);
  await new Promise<void>((r) => s.bind(port, '127.0.0.1', () => r()));
  return port;
}

/** The real transport, except that its first listen on port 0 gets `port` (as if the OS drew it). */
function drawsFirst(port: number): { transport: Transport; listens: number[] } {
  const real = createNodeTransport();
  const listens: number[] = [];
  const transport: Transport = {
    ...real,
    listen: (at, onStream) => {
      const chosen = at.port === 0 && listens.length === 0 ? { ...at, port } : at;
      listens.push(chosen.port);
      return real.listen(chosen, onStream);
    },
  };
  return { transport, listens };
}

describe('start() and the heartbeat port', () => {
  it('with listen port 0, a busy UDP twin makes the node draw a fresh pair and start', async () => {
    const taken = await holdUdpPort();
    const { transport, listens } = drawsFirst(taken);
    const node = createNode({ name: 'a', cluster: 'ports', incarnation: 1, identity: generateIdentity(), listen: { host: '127.0.0.1', port: 0 }, transport });
    try {
      await node.start();
      expect(listens[0]).toBe(taken);
      expect(listens.length).toBeGreaterThanOrEqual(2);
      expect(node.address.port).not.toBe(taken);
      expect(node.heartbeatAddress.port).toBe(node.address.port);
    } finally {
      await node.stop();
    }
  });

  it('with a fixed listen port, a busy UDP twin is the caller\'s error, and the TCP port is released', async () => {
    const taken = await holdUdpPort();
    const node = createNode({ name: 'a', cluster: 'ports', incarnation: 1, identity: generateIdentity(), listen: { host: '127.0.0.1', port: taken } });
    const err = await node.start().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).code).toBe('LISTEN_FAILED');
    expect((err as KernelError).message).toContain(`udp 127.0.0.1:${taken}`);
    // The stream listener it opened first is closed again: another node can take the port for TCP.
    const again = createNode({ name: 'b', cluster: 'ports', incarnation: 1, identity: generateIdentity(), listen: { host: '127.0.0.1', port: taken }, heartbeatListen: { host: '127.0.0.1', port: 0 } });
    await again.start();
    expect(again.address.port).toBe(taken);
    await again.stop();
  });

  it('a busy TCP port fails start() with LISTEN_FAILED, and leaves a node that stops cleanly', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const node = createNode({ name: 'a', cluster: 'ports', incarnation: 1, identity: generateIdentity(), listen: { host: '127.0.0.1', port } });
      const events = node.events()[Symbol.asyncIterator]();
      const err = await node.start().then(() => null, (e: unknown) => e);
      expect((err as KernelError).code).toBe('LISTEN_FAILED');
      expect((err as KernelError).message).toContain(`127.0.0.1:${port}`);
      expect((await events.next()).done).toBe(true); // a consumer waiting on events() is not left hanging
      await node.stop();
      const again = await node.start().then(() => null, (e: unknown) => e);
      expect((again as KernelError).code).toBe('ALREADY_STARTED');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
