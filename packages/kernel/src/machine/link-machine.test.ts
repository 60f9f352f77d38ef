// Two link machines wired back to back in memory: no sockets, no timers, no sleeps. Bytes one
// writes are delivered to the other when the test pumps; time moves only when the test says.
import { defaultProvider, type KeyPair } from '@distkit/handshake';
import { DEFAULT_FRAME_LIMITS, type Frame, type Hello } from '@distkit/wire';
import { describe, expect, it } from 'vitest';
import type { NodedownReason } from '../api.ts';
import { ACK_BYTES, FlowWindow } from './flow-window.ts';
import { LinkMachine, SMALL_SLACK_BYTES, type LinkConfig, type LinkHost, type PeerVerdict } from './link-machine.ts';

const dh = defaultProvider().dh('25519')!;

function config(name: string, identity: KeyPair, over: Partial<LinkConfig> = {}): LinkConfig {
  const hello: Hello = { name, incarnation: 1, hidden: false, versions: [1], startedAt: 0, heartbeatPort: null, listenPort: null, time: 0, tags: {} };
  let seed = name.charCodeAt(0);
  return {
    identity, cluster: 'test', hello: () => hello, clusterSecrets: () => [], setupTimeMs: 2000, firstRecordMs: 1000, tickTimeMs: 8000, tickIntensity: 4,
    frameLimits: { ...DEFAULT_FRAME_LIMITS, maxBytes: 4 << 20 }, maxMessageBytes: 4 << 20,
    suites: ['25519_ChaChaPoly_SHA256', '25519_AESGCM_SHA256'], flowWindowBytes: 512 * 1024,
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
  /** The channel name of each frame in `frames` (undefined: default or the link's own). */
  channels: (string | undefined)[];
  /** Tickets settled, in order, with their error message (null: sent). */
  settled: [number, string | null][];
  down: { reason: NodedownReason; detail: string; deliberate: string | null } | null;
  ended: boolean | null;
  /** Bytes written and not yet delivered to the other side. */
  wire: Uint8Array[];
}

/** Flushes the shell runs at the end of the turn, and resumes it runs after pending I/O. */
interface Later {
  flushes: Set<LinkMachine>;
  resumes: Set<LinkMachine>;
}

function host(side: () => Side, verdict: (h: Hello) => PeerVerdict, later: Later, now: () => number, learn?: { settled: () => boolean }): LinkHost {
  return {
    onPreamble: () => ({ accept: true }),
    onReady: (l) => l.goUp(now()),
    write: (_l, data) => side().wire.push(...data.map((d) => d.slice())),
    end: (_l, graceful) => (side().ended = graceful),
    flushLater: (l) => later.flushes.add(l),
    resumeLater: (l) => later.resumes.add(l),
    sendSettled: (_l, ticket, error) => side().settled.push([ticket, error ? error.message : null]),
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
    onFrame: (_l, f, channel) => {
      side().frames.push(f);
      side().channels.push(channel);
    },
    onClosed: (_l, reason, detail, deliberate) => (side().down = { reason, detail, deliberate }),
  };
}

function pair(o: { a?: Partial<LinkConfig>; b?: Partial<LinkConfig>; pin?: 'right' | 'wrong'; bVerdict?: (h: Hello) => PeerVerdict; bLearn?: { settled: () => boolean } } = {}) {
  const ka = dh.generateKeyPair();
  const kb = dh.generateKeyPair();
  let t = 0;
  const now = () => t;
  const sides: { a?: Side; b?: Side } = {};
  const blank = (): Omit<Side, 'link'> => ({ peer: null, confirmed: false, frames: [], channels: [], settled: [], down: null, ended: null, wire: [] });
  const later: Later = { flushes: new Set(), resumes: new Set() };
  const bPending = blank();
  const b = new LinkMachine(config('b', kb, o.b), host(() => sides.b ?? (bPending as Side), o.bVerdict ?? (() => ({ accept: true })), later, now, o.bLearn), {
    conn: 2, role: 'responder', now: 0, remote: { host: 'a', port: 1 },
  });
  sides.b = Object.assign(bPending, { link: b });
  const aPending = blank();
  const remoteKey = o.pin === 'right' ? kb.publicKey : o.pin === 'wrong' ? dh.generateKeyPair().publicKey : null;
  const a = new LinkMachine(config('a', ka, o.a), host(() => sides.a ?? (aPending as Side), () => ({ accept: true }), later, now), {
    conn: 1, role: 'initiator', now: 0, remote: { host: 'b', port: 2 }, remoteKey,
  });
  sides.a = Object.assign(aPending, { link: a });
  const A = sides.a;
  const B = sides.b;
  /**
   * One turn: the links flush what was queued, bytes are delivered both ways, and when nothing is
   * in flight the links write what they held back for the next turn (as the shell's afterIo does).
   */
  const run = (set: Set<LinkMachine>) => {
    const links = [...set];
    set.clear();
    for (const l of links) l.flush(t);
    return links.length > 0;
  };
  /** `back`: false holds what B writes (its acks) instead of delivering it. */
  const step = (back = true): boolean => {
    let moved = run(later.flushes);
    for (const [from, to] of (back ? [[A, B], [B, A]] : [[A, B]]) as [Side, Side][]) {
      const chunks = from.wire.splice(0);
      for (const c of chunks) to.link.receive(c, t);
      if (chunks.length) moved = true;
    }
    if (!moved) moved = run(later.resumes);
    return moved;
  };
  const pump = () => {
    while (step());
  };
  const advance = (ms: number) => {
    t += ms;
    A.link.timeout(t);
    B.link.timeout(t);
    pump();
  };
  void now;
  pump();
  return { A, B, ka, kb, pump, step, advance };
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
    const side: Side = { link: null as unknown as LinkMachine, peer: null, confirmed: false, frames: [], channels: [], settled: [], down: null, ended: null, wire: [] };
    const silent = new LinkMachine(config('b', dh.generateKeyPair()), {
      ...host(() => side, () => ({ accept: true }), { flushes: new Set(), resumes: new Set() }, () => 0),
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

  it('suites: the initiator proposes its first, a responder that accepts it uses it', () => {
    const aes = pair({ a: { suites: ['25519_AESGCM_SHA256', '25519_ChaChaPoly_SHA256'] } });
    expect(aes.A.link.state === 'up' && aes.B.link.state === 'up').toBe(true);
    expect([aes.A.link.suite, aes.B.link.suite]).toEqual(['25519_AESGCM_SHA256', '25519_AESGCM_SHA256']);
    aes.A.link.send({ kind: 'message', counter: 0, value: 'over AES-GCM' });
    aes.pump();
    expect(aes.B.frames.map((f) => (f as { value: unknown }).value)).toEqual(['over AES-GCM']);
    const chacha = pair();
    expect([chacha.A.link.suite, chacha.B.link.suite]).toEqual(['25519_ChaChaPoly_SHA256', '25519_ChaChaPoly_SHA256']);
  });

  it('suites: a responder refuses one it does not accept, before any crypto, saying which it accepts', () => {
    const r = pair({ a: { suites: ['25519_AESGCM_SHA256'] }, b: { suites: ['25519_ChaChaPoly_SHA256'] } });
    expect(r.B.down?.reason).toBe('refused');
    expect(r.B.down?.detail).toBe('peer asked for suite 25519_AESGCM_SHA256; this node accepts 25519_ChaChaPoly_SHA256 (option suites)');
    expect(r.B.peer).toBeNull(); // nobody was named: refused on the first record
    expect(r.B.ended).toBe(false);
    expect(r.A.confirmed).toBe(false);
  });

  it('channels: a small message on another channel overtakes a large one, and arrives before it is done', () => {
    const { A, B, step } = pair();
    const big = new Uint8Array(3 << 20).fill(9);
    expect(A.link.send({ kind: 'message', counter: 0, value: big }, { ticket: 1 })).toBe(false); // over the channel's mark
    step(); // the first turn writes TURN_BYTES of it
    expect(B.frames).toHaveLength(0);
    // The small one is sent now, while the rest of the large one waits for its turns.
    expect(A.link.send({ kind: 'message', counter: 0, value: 'small' }, { channel: 'fast', ticket: 2 })).toBe(true);
    let turnsBeforeSmall = 0;
    while (!B.frames.some((f) => (f as { value: unknown }).value === 'small')) {
      expect(step()).toBe(true);
      turnsBeforeSmall++;
    }
    expect(B.frames).toHaveLength(1); // the large one is still on its way
    expect(B.channels).toEqual(['fast']);
    while (step());
    expect(B.frames).toHaveLength(2);
    expect((B.frames[1] as { value: Uint8Array }).value.length).toBe(big.length);
    expect(B.channels).toEqual(['fast', undefined]);
    expect(A.settled).toEqual([[1, null]]); // the large send settles once its last piece is written
    expect(turnsBeforeSmall).toBeLessThan(4);
  });

  it('channels: order is kept within each channel, whatever the sizes, and both ways', () => {
    const { A, B, pump } = pair();
    const sizes = [10, 200_000, 3, 70_000, 1, 65_600, 5];
    for (const [i, n] of sizes.entries()) {
      A.link.send({ kind: 'message', counter: 0, value: new Uint8Array(n).fill(i) }, { channel: i % 2 ? 'odd' : 'even' });
      A.link.send({ kind: 'message', counter: 0, value: i });
      B.link.send({ kind: 'message', counter: 0, value: new Uint8Array(n).fill(i) }, { channel: 'back' });
    }
    pump();
    const on = (side: typeof A, ch: string | undefined) => side.frames.filter((_, k) => side.channels[k] === ch).map((f) => (f as { value: unknown }).value);
    expect(on(B, 'even').map((v) => [(v as Uint8Array).length, (v as Uint8Array)[0]])).toEqual(sizes.flatMap((n, i) => (i % 2 ? [] : [[n, i]])));
    expect(on(B, 'odd').map((v) => [(v as Uint8Array).length, (v as Uint8Array)[0]])).toEqual(sizes.flatMap((n, i) => (i % 2 ? [[n, i]] : [])));
    expect(on(B, undefined)).toEqual(sizes.map((_, i) => i));
    expect(on(A, 'back').map((v) => (v as Uint8Array).length)).toEqual(sizes);
  });

  it('back-pressure: sends past their channel\'s mark wait for their last byte to leave; a link that fails first fails them', () => {
    const { A, B, step, pump } = pair();
    const mib = new Uint8Array(1 << 20);
    expect(A.link.send({ kind: 'message', counter: 0, value: 'first' }, { ticket: 1 })).toBe(true);
    expect(A.link.send({ kind: 'message', counter: 0, value: mib }, { ticket: 2 })).toBe(false);
    expect(A.link.send({ kind: 'message', counter: 0, value: mib }, { ticket: 3 })).toBe(false);
    // Another channel has its own mark.
    expect(A.link.send({ kind: 'message', counter: 0, value: 'other channel' }, { channel: 'x', ticket: 4 })).toBe(true);
    step(); // one turn: 512 KiB of the first MiB, and both small ones
    expect(A.settled).toEqual([]);
    expect(B.frames.map((f) => (f as { value: unknown }).value)).toEqual(['first', 'other channel']);
    A.link.close('tick_timeout', 'test', false);
    expect(A.settled).toEqual([
      [2, 'link went down (tick_timeout) before the message left for the peer'],
      [3, 'link went down (tick_timeout) before the message left for the peer'],
    ]);
    pump();
    expect(B.frames).toHaveLength(2);
  });

  it('a congested stream holds user frames (control frames still go) until it drains', () => {
    const { A, B, step, pump } = pair();
    A.link.congested = true; // the shell's write returned false
    expect(A.link.send({ kind: 'message', counter: 0, value: 'waits' }, { ticket: 5 })).toBe(false);
    A.link.send({ kind: 'system', counter: 0, message: { op: 'nodes?', id: 1 } });
    while (step());
    expect(B.frames.map((f) => f.kind)).toEqual(['system']);
    expect(A.settled).toEqual([]);
    A.link.drained();
    pump();
    expect(B.frames.map((f) => f.kind)).toEqual(['system', 'message']);
    expect(A.settled).toEqual([[5, null]]);
  });

  it('a deliberate close sends everything queued, then the closing frame', () => {
    const { A, B, pump } = pair();
    A.link.send({ kind: 'message', counter: 0, value: new Uint8Array(2 << 20) }, { ticket: 7 });
    A.link.send({ kind: 'message', counter: 0, value: 'last' }, { channel: 'x' });
    A.link.close('disconnect', 'done', true);
    pump();
    expect(B.frames.map((f) => (f.kind === 'message' && typeof f.value === 'string' ? f.value : 'big'))).toEqual(['last', 'big']);
    expect(B.down).toMatchObject({ reason: 'connection_closed', deliberate: 'disconnect' });
    expect(A.settled).toEqual([[7, null]]);
  });

  it('flow control: without the reader\'s acks the writer stops at the window; a small frame still passes; acks resume it', () => {
    const { A, B, step, pump } = pair();
    A.link.send({ kind: 'message', counter: 0, value: new Uint8Array(3 << 20) });
    for (let i = 0; i < 20; i++) step(false); // B's acks are held back
    const stuck = A.link.inFlight;
    expect(stuck).toBeGreaterThanOrEqual(A.link.window);
    expect(stuck).toBeLessThan(A.link.window + 64 * 1024); // one record past the mark at most
    expect(B.frames).toHaveLength(0);
    A.link.send({ kind: 'message', counter: 0, value: 'small' }, { channel: 'fast' });
    step(false);
    expect(B.frames.map((f) => (f as { value: unknown }).value)).toEqual(['small']); // through the slack
    expect(A.link.inFlight).toBeLessThanOrEqual(A.link.window + SMALL_SLACK_BYTES);
    pump(); // the acks arrive: the rest goes
    expect(B.frames).toHaveLength(2);
    expect(A.link.inFlight).toBeLessThan(128 * 1024);
  });

  it('a flow window refuses an acknowledgement that goes backwards or past what was written', () => {
    const w = new FlowWindow(1_000_000);
    w.wrote(600_000);
    expect(w.open).toBe(true);
    w.wrote(600_000);
    expect(w.open).toBe(false);
    expect(w.acked(700_000)).toBe(true);
    expect(w.open).toBe(true);
    expect(w.acked(600_000)).toBe(false);
    expect(w.acked(1_200_001)).toBe(false);
    expect(w.inFlight).toBe(500_000);
    // A window smaller than the reader's ack interval (plus a record) would wait for good.
    expect(new FlowWindow(64 * 1024).effective).toBeGreaterThan(ACK_BYTES + 60 * 1024);
  });

  it('flow control bounds what is in flight, not each flush: with a 256 KiB window a large message never has more than a record past it unacknowledged', () => {
    const window = 256 * 1024;
    const { A, B, step, pump } = pair({ a: { flowWindowBytes: window } });
    A.link.send({ kind: 'message', counter: 0, value: new Uint8Array(3 << 20) });
    let most = 0;
    for (let i = 0; i < 20; i++) {
      step(false); // B's acks held back
      most = Math.max(most, A.link.inFlight);
    }
    expect(most).toBeGreaterThanOrEqual(window);
    expect(most).toBeLessThan(window + 64 * 1024); // one record past the mark at most (a flush writes up to 512 KiB)
    pump();
    expect(B.frames).toHaveLength(1);
    // With the smallest window allowed, the reader's acks still come (the writer keeps enough in flight).
    const small = pair({ a: { flowWindowBytes: 64 * 1024 } });
    small.A.link.send({ kind: 'message', counter: 0, value: new Uint8Array(2 << 20) });
    small.pump();
    expect(small.B.frames).toHaveLength(1);
  });
});
