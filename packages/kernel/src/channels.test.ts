// Suites and channels through the kernel API, on real loopback sockets (portable: also runs under
// Deno). What a user would notice: the suite each link uses, a refusal with its reason, a small
// message that does not wait behind a large one on another channel, large messages intact and in
// order per channel, sends that wait when their channel is full and fail when the link dies first.
import { describe, expect, it } from 'vitest';
import type { DistkitNode, IncomingMessage, KernelEvent } from './api.ts';
import { members, nodeFor, portBase, record, until } from './cluster.test-support.ts';
import { KernelError } from './errors.ts';
import { hasHardwareAes } from './hardware-aes.ts';
import { defaultSuites } from './options.ts';

async function collect(node: DistkitNode, into: IncomingMessage[]): Promise<void> {
  for await (const m of node.messages()) into.push(m);
}

/** Runs `body` with a linked to b (on loopback from `offset`) and b's messages collected; stops both after. */
async function withPair(offset: number, body: (a: DistkitNode, b: DistkitNode, got: IncomingMessage[]) => Promise<void>): Promise<void> {
  const ms = members(['a', 'b'], portBase(offset));
  const [a, b] = ms.map((m) => nodeFor(m, ms, { connectAtStart: false })) as [DistkitNode, DistkitNode];
  const got: IncomingMessage[] = [];
  void collect(b, got);
  try {
    await Promise.all([a.start(), b.start()]);
    await a.connectNode('b');
    await body(a, b, got);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

/** A value of `n` bytes whose content says where it came from. */
const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const intact = (v: unknown, n: number, seed: number) =>
  v instanceof Uint8Array && v.length === n && v.every((x, i) => x === ((i * 31 + seed) & 0xff));

describe('suites', () => {
  it('by default both suites are accepted, AES-GCM first on Node where the CPU has AES instructions, ChaChaPoly first on Deno; info() shows the suite of each link', async () => {
    expect(defaultSuites(true)).toEqual(['25519_AESGCM_SHA256', '25519_ChaChaPoly_SHA256']);
    expect(defaultSuites(false)).toEqual(['25519_ChaChaPoly_SHA256', '25519_AESGCM_SHA256']);
    // Deno's node:crypto runs AES-GCM in software (hardware-aes.ts): ChaChaPoly is faster there.
    if ('Deno' in globalThis) expect(hasHardwareAes()).toBe(false);
    const ms = members(['a', 'b'], portBase(61));
    const [a, b] = ms.map((m) => nodeFor(m, ms, { connectAtStart: false })) as [DistkitNode, DistkitNode];
    try {
      await Promise.all([a.start(), b.start()]);
      await a.connectNode('b');
      const expected = hasHardwareAes() ? '25519_AESGCM_SHA256' : '25519_ChaChaPoly_SHA256';
      expect(a.info().find((p) => p.name === 'b')?.suite).toBe(expected);
      await until(() => b.info().some((p) => p.name === 'a' && p.connected), 5000, 'b sees the link');
      expect(b.info().find((p) => p.name === 'a')?.suite).toBe(expected);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('the initiator proposes its first; a responder that accepts it uses it', async () => {
    const ms = members(['a', 'b'], portBase(62));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, suites: ['25519_ChaChaPoly_SHA256', '25519_AESGCM_SHA256'] });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false, suites: ['25519_AESGCM_SHA256', '25519_ChaChaPoly_SHA256'] });
    const got: IncomingMessage[] = [];
    void collect(b, got);
    try {
      await Promise.all([a.start(), b.start()]);
      await a.connectNode('b');
      expect(a.info().find((p) => p.name === 'b')?.suite).toBe('25519_ChaChaPoly_SHA256');
      await a.send('b', 'over ChaChaPoly');
      await until(() => got.length === 1, 5000, 'message');
      await a.disconnectNode('b');
      await until(() => b.nodes().length === 0, 5000, 'b sees the link go');
      await b.connectNode('a'); // now b dials: its first choice
      expect(b.info().find((p) => p.name === 'a')?.suite).toBe('25519_AESGCM_SHA256');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('a responder refuses a suite it does not accept: a refused event saying what it accepts, and a connect error naming the suite', async () => {
    const ms = members(['a', 'b'], portBase(63));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, suites: ['25519_AESGCM_SHA256'] });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false, suites: ['25519_ChaChaPoly_SHA256'] });
    const rb = record(b);
    try {
      await Promise.all([a.start(), b.start()]);
      const err = await a.connectNode('b').then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(KernelError);
      expect((err as KernelError).code).toBe('CONNECT_FAILED');
      expect((err as KernelError).message).toMatch(/suite 25519_AESGCM_SHA256/);
      await until(() => rb.events.some((e) => e.type === 'refused'), 5000, 'refused event');
      const refused = rb.events.find((e): e is Extract<KernelEvent, { type: 'refused' }> => e.type === 'refused')!;
      expect(refused.node).toBeNull();
      expect(refused.reason).toBe('peer asked for suite 25519_AESGCM_SHA256; this node accepts 25519_ChaChaPoly_SHA256 (option suites)');
      expect(b.stats().handshakes.refused).toBe(1);
      expect(a.nodes()).toEqual([]);
    } finally {
      rb.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('a bad suites option is refused at createNode, naming it', () => {
    const ms = members(['a'], portBase(64));
    const bad = (suites: unknown) => {
      try {
        nodeFor(ms[0]!, ms, { suites: suites as never });
      } catch (e) {
        return `${(e as KernelError).code}: ${(e as Error).message}`;
      }
      return 'accepted';
    };
    expect(bad([])).toMatch(/^BAD_OPTION: option suites: must be a non-empty list/);
    expect(bad(['25519_AESGCM_SHA512'])).toMatch(/^BAD_OPTION: option suites\[0\]: unknown suite/);
    expect(bad(['25519_AESGCM_SHA256', '25519_AESGCM_SHA256'])).toMatch(/^BAD_OPTION: option suites\[1\]: .* twice/);
  });
});

describe('channels', () => {
  it('a small message on its own channel overtakes a large one sent before it; both arrive intact, the large one in order with its channel', async () => {
    await withPair(65, async (a, b, got) => {
    const sizes = [8 << 20, 100, 3 << 20];
    const sends = sizes.map((n, i) => a.send('b', pattern(n, i))); // default channel, in order
    const small = a.send('b', { ping: 1 }, { channel: 'control-plane' });
    await small; // resolves at once: its channel is empty, whatever waits on the other
    await until(() => got.length === 4, 30_000, 'all four messages');
    expect(got[0]).toEqual({ from: 'a', value: { ping: 1 }, channel: 'control-plane' });
    const bulk = got.slice(1);
    expect(bulk.map((m) => m.channel)).toEqual([undefined, undefined, undefined]);
    expect(bulk.every((m, i) => intact(m.value, sizes[i]!, i))).toBe(true);
    await Promise.all(sends);
    });
  });

  it('order is kept within each channel when several interleave, and a named channel may be reused', async () => {
    await withPair(66, async (a, b, got) => {
    const sent: Promise<void>[] = [];
    const channels = ['x', 'y', 'default', 'z'];
    for (let i = 0; i < 40; i++) {
      const ch = channels[i % channels.length]!;
      const size = i % 7 === 0 ? 300_000 : i % 3 === 0 ? 70_000 : 10;
      sent.push(a.send('b', { i, bytes: pattern(size, i) }, { channel: ch }));
    }
    await Promise.all(sent);
    await until(() => got.length === 40, 30_000, '40 messages');
    for (const ch of channels) {
      const on = got.filter((m) => (m.channel ?? 'default') === ch).map((m) => (m.value as { i: number }).i);
      expect(on).toEqual(Array.from({ length: 10 }, (_, k) => k * channels.length + channels.indexOf(ch)));
    }
    expect(got.every((m) => { const v = m.value as { i: number; bytes: Uint8Array }; return intact(v.bytes, v.bytes.length, v.i); })).toBe(true);
    });
  });

  it('back-pressure: a send past its channel\'s mark waits until its last byte is out; one still queued when the link dies rejects', async () => {
    const ms = members(['a', 'b'], portBase(67));
    const [a, b] = ms.map((m) => nodeFor(m, ms, { connectAtStart: false })) as [DistkitNode, DistkitNode];
    try {
      await Promise.all([a.start(), b.start()]);
      await a.connectNode('b');
      let resolved = false;
      const first = a.send('b', pattern(4 << 20, 1)).then(() => (resolved = true));
      expect(resolved).toBe(false);
      await first; // b reads it; the flow window lets it all go
      // b stops reading for good (stopped at once, no goodbye): what a has queued cannot leave.
      const queued = [a.send('b', pattern(8 << 20, 2)), a.send('b', pattern(8 << 20, 3))];
      const outcomes = Promise.allSettled(queued);
      await b.stop();
      const results = await outcomes;
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected.length).toBeGreaterThan(0);
      for (const r of rejected) expect(((r as PromiseRejectedResult).reason as KernelError).code).toBe('SEND_FAILED');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('a large byte message is not copied at send: one array refilled after each send resolves carries each content intact', async () => {
    await withPair(69, async (a, b, got) => {
    // Past the 1 MiB mark a send resolves when its last byte is in a record: from then on the
    // producer may reuse its array (what a producer streaming from one buffer does).
    const n = (2 << 20) + 12_345; // not a multiple of a record or a piece
    const buffer = new Uint8Array(n);
    for (let seed = 0; seed < 4; seed++) {
      buffer.set(pattern(n, seed));
      await a.send('b', buffer);
    }
    buffer.fill(0);
    await until(() => got.length === 4, 30_000, 'four messages');
    expect(got.map((m, seed) => intact(m.value, n, seed))).toEqual([true, true, true, true]);
    });
  });

  it('small messages between large ones on several channels arrive in order and intact; one sent at once is copied, so its array may be refilled right after', async () => {
    await withPair(70, async (a, b, got) => {
    // Small sends that resolve at once are packed many to a buffer on the sender (several such
    // buffers here, more than a record's worth on each channel), large ones queued on their own.
    const channels = ['x', 'default', 'y'];
    const count = 3000;
    const sizeOf = (i: number) => (i % 500 === 7 ? 200_000 : 1 + (i % 200));
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) sends.push(a.send('b', pattern(sizeOf(i), i & 0xff), { channel: channels[i % channels.length]! }));
    await Promise.all(sends);
    await until(() => got.length === count, 30_000, `${count} messages`);
    for (const ch of channels) {
      const on = got.filter((m) => (m.channel ?? 'default') === ch);
      expect(on.length).toBe(count / channels.length);
      on.forEach((m, k) => {
        const i = k * channels.length + channels.indexOf(ch);
        if (!intact(m.value, sizeOf(i), i & 0xff)) throw new Error(`message ${i} on ${ch} is not what was sent`);
      });
    }
    // On a quiet link every small send resolves at once, having taken its copy: one array,
    // refilled right after each send, carries each content.
    got.length = 0;
    const buffer = new Uint8Array(200);
    const again: Promise<void>[] = [];
    for (let i = 0; i < 600; i++) {
      buffer.set(pattern(200, i & 0xff));
      again.push(a.send('b', buffer, { channel: channels[i % channels.length]! }));
      buffer.fill(0);
    }
    await Promise.all(again);
    await until(() => got.length === 600, 30_000, '600 messages');
    for (const ch of channels) {
      const on = got.filter((m) => (m.channel ?? 'default') === ch);
      on.forEach((m, k) => {
        const i = k * channels.length + channels.indexOf(ch);
        if (!intact(m.value, 200, i & 0xff)) throw new Error(`message ${i} on ${ch} (sent from a refilled array) is not what was sent`);
      });
    }
    });
  });

  it('a bad channel name is refused with BAD_CHANNEL', async () => {
    const ms = members(['a', 'b'], portBase(68));
    const [a] = ms.map((m) => nodeFor(m, ms, { connectAtStart: false })) as [DistkitNode];
    await a.start();
    try {
      for (const channel of ['', 'x'.repeat(65), 7 as unknown as string]) {
        const err = await a.send('a', 1, { channel }).then(() => null, (e: unknown) => e);
        expect((err as KernelError).code).toBe('BAD_CHANNEL');
      }
    } finally {
      await a.stop();
    }
  });
});
