import { defaultProvider, type KeyPair } from '@distkit/handshake';
import { DEFAULT_FRAME_LIMITS, type Frame, type Hello } from '@distkit/wire';
import { describe, expect, it } from 'vitest';
import type { NodedownReason } from './api.ts';
import { Link, type LinkContext, type LinkOwner, type PeerVerdict } from './link.ts';
import { createNodeTransport } from './node-transport.ts';
import type { Stream } from './transport.ts';

// Two links on real loopback sockets, driven by small owners that record what they see.
const dh = defaultProvider().dh('25519')!;
const transport = createNodeTransport();
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ctx(name: string, identity: KeyPair, over: Partial<LinkContext> = {}): LinkContext {
  const hello: Hello = { name, incarnation: 1, hidden: false, versions: [1], startedAt: 0, heartbeatPort: null };
  return {
    transport, identity, cluster: 'test', hello, clusterSecrets: [], setupTimeMs: 2000, tickTimeMs: 60_000,
    tickIntensity: 4, frameLimits: { ...DEFAULT_FRAME_LIMITS, maxBytes: 4 << 20 }, maxMessageBytes: 4 << 20, ...over,
  };
}

function recorder(verdict: (hello: Hello, key: Uint8Array) => PeerVerdict = () => ({ accept: true })) {
  const seen = { peer: null as Hello | null, key: null as Uint8Array | null, up: false, frames: [] as Frame[], down: null as null | { reason: NodedownReason; detail: string } };
  const owner: LinkOwner = {
    onPeer: (_l, hello, key) => {
      seen.peer = hello;
      seen.key = key;
      return verdict(hello, key);
    },
    onUp: () => (seen.up = true),
    onFrame: (_l, f) => seen.frames.push(f),
    onDown: (_l, reason, detail) => (seen.down = { reason, detail }),
  };
  return { seen, owner };
}

async function pair(opts: { aCtx?: Partial<LinkContext>; bCtx?: Partial<LinkContext>; pin?: 'right' | 'wrong'; bVerdict?: (h: Hello) => PeerVerdict } = {}) {
  const a = dh.generateKeyPair();
  const b = dh.generateKeyPair();
  const ra = recorder();
  const rb = recorder(opts.bVerdict);
  let lb: Link | undefined;
  const listener = await transport.listen({ host: '127.0.0.1', port: 0 }, (s: Stream) => {
    lb = new Link(s, ctx('b', b, opts.bCtx), rb.owner, { id: 2, role: 'responder' });
  });
  const stream = await transport.connect(listener.address);
  const remoteKey = opts.pin === 'right' ? b.publicKey : opts.pin === 'wrong' ? dh.generateKeyPair().publicKey : undefined;
  const la = new Link(stream, ctx('a', a, opts.aCtx), ra.owner, { id: 1, role: 'initiator', ...(remoteKey ? { remoteKey } : {}) });
  // Settled: each side is up or down (a cold first handshake can take a while on a busy machine).
  const deadline = Date.now() + 5000;
  while (!((ra.seen.up || ra.seen.down) && (rb.seen.up || rb.seen.down)) && Date.now() < deadline) await wait(10);
  await wait(20);
  await listener.close();
  return { a, b, la, lb: lb!, ra: ra.seen, rb: rb.seen };
}

describe('link over loopback TCP', () => {
  it('XX: both sides learn the other key and hello, frames flow both ways in order', async () => {
    const { a, b, la, lb, ra, rb } = await pair();
    expect(la.pattern).toBe('XX');
    expect(ra.up && rb.up).toBe(true);
    expect(ra.peer?.name).toBe('b');
    expect(rb.peer?.name).toBe('a');
    expect(ra.key).toEqual(b.publicKey);
    expect(rb.key).toEqual(a.publicKey);
    for (let i = 0; i < 50; i++) la.sendFrame({ kind: 'message', counter: 0, value: { i } });
    lb.sendFrame({ kind: 'message', counter: 0, value: 'back' });
    await wait(100);
    expect(rb.frames.map((f) => (f.kind === 'message' ? (f.value as { i: number }).i : -1))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(ra.frames).toHaveLength(1);
    la.close('disconnect', 'test over');
    await wait(50);
    expect(rb.down?.reason).toBe('disconnect');
    expect(ra.down?.reason).toBe('disconnect');
  });

  it('a 1 MiB message is split into Noise messages and reassembled intact', async () => {
    const { la, rb } = await pair();
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    la.sendFrame({ kind: 'message', counter: 0, value: big });
    await wait(300);
    const got = rb.frames[0];
    expect(got?.kind).toBe('message');
    const value = (got as { value: Uint8Array }).value;
    // (byte loop: a deep-equality matcher over a million elements takes seconds)
    expect(value.length).toBe(big.length);
    expect(value.every((b, i) => b === big[i])).toBe(true);
    la.close('disconnect', 'done');
  });

  it('IK with the right pinned key comes up in one round trip; a wrong pin never does', async () => {
    const ok = await pair({ pin: 'right' });
    expect(ok.la.pattern).toBe('IK');
    expect(ok.ra.up && ok.rb.up).toBe(true);
    ok.la.close('disconnect', 'done');
    const bad = await pair({ pin: 'wrong' });
    expect(bad.ra.up || bad.rb.up).toBe(false);
    expect(bad.ra.down?.reason).toBe('setup_failed');
    expect(bad.rb.down?.reason).toBe('setup_failed');
  });

  it('cluster secret: the same secret links (XXpsk3); a different one cannot complete', async () => {
    const s1 = new Uint8Array(32).fill(1);
    const s2 = new Uint8Array(32).fill(2);
    const ok = await pair({ aCtx: { clusterSecrets: [s1] }, bCtx: { clusterSecrets: [s2, s1] } });
    expect(ok.la.pattern).toBe('XXpsk3');
    expect(ok.ra.up && ok.rb.up).toBe(true);
    ok.la.close('disconnect', 'done');
    const bad = await pair({ aCtx: { clusterSecrets: [s1] }, bCtx: { clusterSecrets: [s2] } });
    expect(bad.ra.up || bad.rb.up).toBe(false);
    const none = await pair({ bCtx: { clusterSecrets: [s1] } });
    expect(none.ra.up || none.rb.up).toBe(false);
  });

  it('a different cluster id (prologue) cannot complete', async () => {
    const bad = await pair({ bCtx: { cluster: 'other' } });
    expect(bad.ra.up || bad.rb.up).toBe(false);
  });

  it('a refusal by the owner closes without completing; the peer sees setup_failed', async () => {
    const r = await pair({ bVerdict: () => ({ accept: false, reason: 'refused', detail: 'not authorized' }) });
    expect(r.rb.down?.reason).toBe('refused');
    expect(r.ra.up).toBe(false);
    expect(r.ra.down?.reason).toBe('setup_failed');
  });
});
