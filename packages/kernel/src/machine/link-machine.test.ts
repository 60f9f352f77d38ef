// Two link machines wired back to back in memory: no sockets, no timers, no sleeps. Bytes one
// writes are delivered to the other when the test pumps; time moves only when the test says.
import { defaultProvider, type KeyPair } from '@distkit/handshake';
import { DEFAULT_FRAME_LIMITS, type Frame, type Hello } from '@distkit/wire';
import { describe, expect, it } from 'vitest';
import type { NodedownReason } from '../api.ts';
import { LinkMachine, type LinkConfig, type LinkHost, type PeerVerdict } from './link-machine.ts';

const dh = defaultProvider().dh('25519')!;

function config(name: string, identity: KeyPair, over: Partial<LinkConfig> = {}): LinkConfig {
  const hello: Hello = { name, incarnation: 1, hidden: false, versions: [1], startedAt: 0, heartbeatPort: null, listenPort: null, time: 0, tags: {} };
  let seed = name.charCodeAt(0);
  return {
    identity, cluster: 'test', hello: () => hello, clusterSecrets: () => [], setupTimeMs: 2000, firstRecordMs: 1000, tickTimeMs: 8000, tickIntensity: 4,
    frameLimits: { ...DEFAULT_FRAME_LIMITS, maxBytes: 4 << 20 }, maxMessageBytes: 4 << 20,
    // Deterministic ephemeral keys: the machine takes its randomness as an input.
    randomBytes: (n) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) & 0xff)),
    ...over,
  };
}

interface Side {
  link: LinkMachine;
  peer: Hello | null;
  confirmed: boolean;
  frames: Frame[];
  down: { reason: NodedownReason; detail: string; deliberate: string | null } | null;
  ended: boolean | null;
  /** Bytes written and not yet delivered to the other side. */
  wire: Uint8Array[];
}

function host(side: () => Side, verdict: (h: Hello) => PeerVerdict, now: () => number, learn?: { settled: () => boolean }): LinkHost {
  return {
    onPreamble: () => ({ accept: true }),
    onReady: (l) => l.goUp(now()),
    write: (_l, data) => side().wire.push(...data.map((d) => d.slice())),
    end: (_l, graceful) => (side().ended = graceful),
    flushLater: (l) => l.flush(now()),
    deadlineMoved: () => {},
    onPeer: (_l, hello) => {
      side().peer = hello;
      return verdict(hello);
    },
    onConfirmed: (l) => {
      side().confirmed = true;
      // A key to learn is "persisted" when the test says so.
      if (l.learning && (!learn || learn.settled())) l.trustSettled(now());
    },
    onFrame: (_l, f) => side().frames.push(f),
    onClosed: (_l, reason, detail, deliberate) => (side().down = { reason, detail, deliberate }),
  };
}

function pair(o: { a?: Partial<LinkConfig>; b?: Partial<LinkConfig>; pin?: 'right' | 'wrong'; bVerdict?: (h: Hello) => PeerVerdict; bLearn?: { settled: () => boolean } } = {}) {
  const ka = dh.generateKeyPair();
  const kb = dh.generateKeyPair();
  let t = 0;
  const now = () => t;
  const sides: { a?: Side; b?: Side } = {};
  const blank = (): Omit<Side, 'link'> => ({ peer: null, confirmed: false, frames: [], down: null, ended: null, wire: [] });
  const bPending = blank();
  const b = new LinkMachine(config('b', kb, o.b), host(() => sides.b ?? (bPending as Side), o.bVerdict ?? (() => ({ accept: true })), now, o.bLearn), {
    conn: 2, role: 'responder', now: 0, remote: { host: 'a', port: 1 },
  });
  sides.b = Object.assign(bPending, { link: b });
  const aPending = blank();
  const remoteKey = o.pin === 'right' ? kb.publicKey : o.pin === 'wrong' ? dh.generateKeyPair().publicKey : null;
  const a = new LinkMachine(config('a', ka, o.a), host(() => sides.a ?? (aPending as Side), () => ({ accept: true }), now), {
    conn: 1, role: 'initiator', now: 0, remote: { host: 'b', port: 2 }, remoteKey,
  });
  sides.a = Object.assign(aPending, { link: a });
  const A = sides.a;
  const B = sides.b;
  /** Delivers bytes both ways until nothing moves. */
  const pump = () => {
    for (let moved = true; moved;) {
      moved = false;
      for (const [from, to] of [[A, B], [B, A]] as const) {
        const chunks = from.wire.splice(0);
        for (const c of chunks) to.link.receive(c, t);
        if (chunks.length) moved = true;
      }
    }
  };
  const advance = (ms: number) => {
    t += ms;
    A.link.timeout(t);
    B.link.timeout(t);
    pump();
  };
  pump();
  return { A, B, ka, kb, pump, advance };
}

describe('link machine (sans-I/O)', () => {
  it('XX: both sides learn the other key and hello, then frames flow both ways in order', () => {
    const { A, B, ka, kb, pump } = pair();
    expect(A.link.pattern).toBe('XX');
    expect(A.link.state).toBe('up');
    expect(B.link.state).toBe('up');
    expect(A.peer?.name).toBe('b');
    expect(B.peer?.name).toBe('a');
    expect(A.link.remoteKey).toEqual(kb.publicKey);
    expect(B.link.remoteKey).toEqual(ka.publicKey);
    for (let i = 0; i < 50; i++) A.link.send({ kind: 'message', counter: 0, value: { i } });
    B.link.send({ kind: 'message', counter: 0, value: 'back' });
    pump();
    expect(B.frames.map((f) => (f.kind === 'message' ? (f.value as { i: number }).i : -1))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(A.frames).toHaveLength(1);
    A.link.close('disconnect', 'test over', true);
    pump();
    expect(A.ended).toBe(true); // graceful: after the disconnect frame
    expect(A.down).toMatchObject({ reason: 'disconnect', deliberate: 'disconnect' });
    expect(B.down).toMatchObject({ reason: 'connection_closed', deliberate: 'disconnect' }); // as OTP reports the other side
  });

  it('a 1 MiB message is split into Noise messages and reassembled intact', () => {
    const { A, B, pump } = pair();
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    A.link.send({ kind: 'message', counter: 0, value: big });
    pump();
    const got = B.frames[0];
    expect(got?.kind).toBe('message');
    const value = (got as { value: Uint8Array }).value;
    // (byte loop: a deep-equality matcher over a million elements takes seconds)
    expect(value.length).toBe(big.length);
    expect(value.every((x, i) => x === big[i])).toBe(true);
  });

  it('IK with the right pinned key comes up in one round trip; a wrong pin never does', () => {
    const ok = pair({ pin: 'right' });
    expect(ok.A.link.pattern).toBe('IK');
    expect(ok.A.link.state === 'up' && ok.B.link.state === 'up').toBe(true);
    const bad = pair({ pin: 'wrong' });
    expect(bad.A.confirmed || bad.B.confirmed).toBe(false);
    expect(bad.B.down?.reason).toBe('setup_failed');
    // The initiator hears nothing back (a stranger gets no byte) and gives up at the setup time.
    expect(bad.A.down).toBeNull();
    bad.advance(2000);
    expect(bad.A.down?.reason).toBe('setup_timeout');
  });

  it('cluster secret: the same secret links (XXpsk3, picked by its id from a keyring); a different one cannot complete', () => {
    const s1 = new Uint8Array(32).fill(1);
    const s2 = new Uint8Array(32).fill(2);
    const ok = pair({ a: { clusterSecrets: () => [s1] }, b: { clusterSecrets: () => [s2, s1] } });
    expect(ok.A.link.pattern).toBe('XXpsk3');
    expect(ok.A.link.state === 'up' && ok.B.link.state === 'up').toBe(true);
    const bad = pair({ a: { clusterSecrets: () => [s1] }, b: { clusterSecrets: () => [s2] } });
    expect(bad.B.down?.detail).toMatch(/does not hold/);
    expect(bad.A.confirmed || bad.B.confirmed).toBe(false);
    const none = pair({ b: { clusterSecrets: () => [s1] } });
    expect(none.B.down?.detail).toMatch(/pattern XX, not acceptable/);
  });

  it('a different cluster id (prologue) cannot complete', () => {
    const bad = pair({ b: { cluster: 'other' } });
    expect(bad.A.confirmed || bad.B.confirmed).toBe(false);
    expect(bad.A.down?.reason ?? bad.B.down?.reason).toBe('setup_failed');
  });

  it('a refusal by the host closes without completing; the peer never confirms', () => {
    const r = pair({ bVerdict: () => ({ accept: false, reason: 'refused', detail: 'not authorized' }) });
    expect(r.B.down).toEqual({ reason: 'refused', detail: 'not authorized', deliberate: null });
    expect(r.B.ended).toBe(false); // destroyed, no goodbye
    expect(r.A.confirmed).toBe(false);
  });

  it("ticks: an idle link ticks and stays up; a peer that goes silent is declared dead after net_ticktime", () => {
    const { A, B, advance } = pair();
    for (let i = 0; i < 10; i++) advance(2000); // 20 s idle, tickTime 8 s: ticks keep it alive
    expect(A.link.state).toBe('up');
    expect(B.link.state).toBe('up');
    // B goes silent: nothing A writes reaches it, and nothing B writes reaches A.
    const t0 = 20_000;
    let t = t0;
    while (A.link.state === 'up' && t < t0 + 20_000) {
      t += 2000;
      A.wire.length = 0;
      B.wire.length = 0;
      A.link.timeout(t);
    }
    expect(A.down?.reason).toBe('tick_timeout');
    expect(t - t0).toBeLessThanOrEqual(8000 + 2000);
  });

  it('a key learned on first use: neither side is up until it is persisted (ready comes after)', () => {
    let persisted = false;
    const r = pair({ bVerdict: () => ({ accept: true, learn: true }), bLearn: { settled: () => persisted } });
    expect(r.B.confirmed).toBe(true);
    expect(r.A.link.state).toBe('confirmed');
    expect(r.B.link.state).toBe('confirmed');
    persisted = true;
    r.B.link.trustSettled(0);
    r.pump();
    expect(r.A.link.state).toBe('up');
    expect(r.B.link.state).toBe('up');
  });

  it('a connection that sends nothing is closed at the first-record deadline, well before the setup time', () => {
    const seen: { down: { reason: NodedownReason; detail: string; deliberate: string | null } | null } = { down: null };
    const side = { link: null as unknown as LinkMachine, peer: null, confirmed: false, frames: [], down: null, ended: null, wire: [] } as Side;
    const silent = new LinkMachine(config('b', dh.generateKeyPair()), {
      ...host(() => side, () => ({ accept: true }), () => 0),
      onClosed: (_l, reason, detail, deliberate) => (seen.down = { reason, detail, deliberate }),
    }, { conn: 9, role: 'responder', now: 0, remote: { host: 'x', port: 1 } });
    expect(silent.deadline).toBe(1000);
    silent.timeout(999);
    expect(seen.down).toBeNull();
    silent.timeout(1000);
    expect(seen.down).toMatchObject({ reason: 'setup_timeout' });
    expect(seen.down!.detail).toMatch(/no first record within 1000 ms/);
  });

  it('garbage after the handshake is a decrypt failure, never a delivered frame', () => {
    const { A, B } = pair();
    B.link.receive(new Uint8Array([0, 20, ...new Uint8Array(20).fill(7)]), 1);
    expect(B.down?.reason).toBe('decrypt_failed');
    expect(B.frames).toHaveLength(0);
    expect(A.link.state).toBe('up'); // the other end is untouched until its stream closes
  });
});
