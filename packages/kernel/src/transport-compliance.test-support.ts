// Shared compliance tests: every Transport implementation (Node sockets, the simulator) runs
// these, so the kernel can rely on the same behaviour from both (js-libp2p's habit).
import { expect, it } from 'vitest';
import type { Address, Stream, Transport } from './transport.ts';

export interface ComplianceSetup {
  /** Two transports on two hosts that can reach each other, and how to address each. */
  make(): Promise<{ a: Transport; b: Transport; hostA: string; hostB: string; settle(ms: number): Promise<void>; dispose(): Promise<void> }>;
}

function collect(stream: Stream): { chunks: Uint8Array[]; closed: Promise<Error | undefined>; text(): string } {
  const chunks: Uint8Array[] = [];
  let resolveClosed!: (e: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((r) => (resolveClosed = r));
  stream.setHandlers({ onData: (c) => chunks.push(Uint8Array.from(c)), onClose: (e) => resolveClosed(e) });
  return { chunks, closed, text: () => new TextDecoder().decode(Uint8Array.from(chunks.flatMap((c) => [...c]))) };
}

export function transportCompliance(setup: ComplianceSetup): void {
  it('streams: connect, bytes in order both ways, clean close seen by the other side', async () => {
    const env = await setup.make();
    try {
      let server: Stream | undefined;
      const listener = await env.b.listen({ host: env.hostB, port: 0 }, (s) => (server = s));
      const client = await env.a.connect(listener.address, { timeoutMs: 2000 });
      await env.settle(50);
      expect(server).toBeDefined();
      const atServer = collect(server!);
      const atClient = collect(client);
      for (let i = 0; i < 100; i++) client.write(new TextEncoder().encode(`${i},`));
      server!.write(new TextEncoder().encode('pong'));
      await env.settle(100);
      expect(atServer.text()).toBe(Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
      expect(atClient.text()).toBe('pong');
      client.close();
      await env.settle(100);
      expect(await atServer.closed).toBeUndefined();
      await listener.close();
    } finally {
      await env.dispose();
    }
  });

  it('streams: connecting to a port nobody listens on rejects', async () => {
    const env = await setup.make();
    try {
      const listener = await env.b.listen({ host: env.hostB, port: 0 }, () => {});
      const port = listener.address.port;
      await listener.close();
      await expect(env.a.connect({ host: env.hostB, port }, { timeoutMs: 1000 })).rejects.toThrow();
    } finally {
      await env.dispose();
    }
  });

  it('datagrams: sent bytes arrive with the sender address; a send to nowhere does not throw', async () => {
    const env = await setup.make();
    try {
      const got: { bytes: Uint8Array; from: Address }[] = [];
      const sb = await env.b.bind({ host: env.hostB, port: 0 }, (bytes, from) => got.push({ bytes: Uint8Array.from(bytes), from }));
      const sa = await env.a.bind({ host: env.hostA, port: 0 }, () => {});
      sa.send(Uint8Array.from([1, 2, 3]), sb.address);
      sa.send(Uint8Array.from([9]), { host: env.hostB, port: 1 });
      await env.settle(100);
      expect(got).toHaveLength(1);
      expect(got[0]!.bytes).toEqual(Uint8Array.from([1, 2, 3]));
      expect(got[0]!.from.port).toBe(sa.address.port);
      await sa.close();
      await sb.close();
    } finally {
      await env.dispose();
    }
  });

  it('clock: timers fire in order, cancelled timers do not fire, now() does not go back', async () => {
    const env = await setup.make();
    try {
      const fired: string[] = [];
      const t0 = env.a.now();
      env.a.setTimer(30, () => fired.push('b'));
      env.a.setTimer(10, () => fired.push('a'));
      env.a.setTimer(20, () => fired.push('x')).cancel();
      await env.settle(80);
      expect(fired).toEqual(['a', 'b']);
      expect(env.a.now() - t0).toBeGreaterThanOrEqual(30);
      expect(env.a.wallTime()).toBeGreaterThan(1_600_000_000_000);
      const r = env.a.random();
      expect(r >= 0 && r < 1).toBe(true);
    } finally {
      await env.dispose();
    }
  });
}
