// docs/protocol.md is enough to talk to a node: a client written from that page alone links to a
// real kernel over loopback TCP, exchanges messages both ways, and sends and checks heartbeats
// over UDP. It uses @noble/curves,
// @noble/ciphers, @noble/hashes and msgpackr directly: none of distkit's codecs, framing or Noise
// engine, so a mistake in the page (or a change to the protocol that the page missed) fails here.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Packr } from 'msgpackr';
import { generateIdentity } from '@distkit/handshake';
import { afterEach, expect, it } from 'vitest';
import { record, until } from './cluster.test-support.ts';
import type { DistkitNode, IncomingMessage } from './api.ts';
import { createNode } from './index.ts';

// msgpack without extension types, as the page says.
const msgpack = new Packr({ useRecords: false, structuredClone: false, mapsAsObjects: true });
const utf8 = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const EMPTY = new Uint8Array(0);

type Suite = 'ChaChaPoly' | 'AESGCM';
/**
 * Noise's CipherState: a 96-bit nonce of 4 zero bytes and the 64-bit counter, little-endian for
 * ChaChaPoly and big-endian for AESGCM (Noise §12).
 */
class Cipher {
  n = 0;
  constructor(readonly suite: Suite, public k: Uint8Array | null = null) {}
  #aead(ad: Uint8Array) {
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setBigUint64(4, BigInt(this.n++), this.suite === 'ChaChaPoly');
    return this.suite === 'ChaChaPoly' ? chacha20poly1305(this.k!, nonce, ad) : gcm(this.k!, nonce, ad);
  }
  encrypt(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return this.k ? this.#aead(ad).encrypt(plaintext) : plaintext;
  }
  decrypt(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    return this.k ? this.#aead(ad).decrypt(ciphertext) : ciphertext;
  }
}

/**
 * A Noise initiator (revision 34, §5, §7 and §9): XX, XXpsk3 (with `psk`) or IK (with the
 * responder's key `rs` known in advance), for Noise_<pattern>_25519_<suite>_SHA256.
 */
class Initiator {
  h: Uint8Array;
  ck: Uint8Array;
  cipher: Cipher;
  e = x25519.utils.randomPrivateKey();
  re: Uint8Array | null = null;
  constructor(
    readonly suite: Suite, readonly s: Uint8Array, prologue: Uint8Array,
    readonly psk: Uint8Array | null = null, public rs: Uint8Array | null = null,
  ) {
    // A name of at most HASHLEN bytes is used as is, zero-padded; a longer one is hashed (§5.2).
    const text = utf8(`Noise_${rs ? 'IK' : psk ? 'XXpsk3' : 'XX'}_25519_${suite}_SHA256`);
    const name = text.length <= 32 ? concat(text, new Uint8Array(32 - text.length)) : sha256(text);
    this.h = name;
    this.ck = name;
    this.cipher = new Cipher(suite);
    this.mixHash(prologue);
    if (rs) this.mixHash(rs); // IK's pre-message: <- s
  }
  mixHash(data: Uint8Array): void {
    this.h = sha256(concat(this.h, data));
  }
  mixKey(ikm: Uint8Array): void {
    // Noise's HKDF with two outputs is RFC 5869 HKDF with salt ck and empty info.
    const out = hkdf(sha256, ikm, this.ck, EMPTY, 64);
    this.ck = out.slice(0, 32);
    this.cipher = new Cipher(this.suite, out.slice(32, 64));
  }
  /** MixKeyAndHash (§5.2), for the psk token. */
  mixKeyAndHash(ikm: Uint8Array): void {
    const out = hkdf(sha256, ikm, this.ck, EMPTY, 96);
    this.ck = out.slice(0, 32);
    this.mixHash(out.slice(32, 64));
    this.cipher = new Cipher(this.suite, out.slice(64, 96));
  }
  /** An `e` token, read or written: in a psk handshake it is mixed into the key too (§9.2). */
  mixEphemeral(e: Uint8Array): void {
    this.mixHash(e);
    if (this.psk) this.mixKey(e);
  }
  encryptAndHash(p: Uint8Array): Uint8Array {
    const c = this.cipher.encrypt(this.h, p);
    this.mixHash(c);
    return c;
  }
  decryptAndHash(c: Uint8Array): Uint8Array {
    const p = this.cipher.decrypt(this.h, c);
    this.mixHash(c);
    return p;
  }
  /** -> e */
  message1(): Uint8Array {
    const e = x25519.getPublicKey(this.e);
    this.mixEphemeral(e);
    return concat(e, this.encryptAndHash(EMPTY));
  }
  /** <- e, ee, s, es: the responder's payload. */
  readMessage2(m: Uint8Array): Uint8Array {
    this.re = m.slice(0, 32);
    this.mixEphemeral(this.re);
    this.mixKey(x25519.getSharedSecret(this.e, this.re));
    this.rs = this.decryptAndHash(m.slice(32, 32 + 48));
    this.mixKey(x25519.getSharedSecret(this.e, this.rs));
    return this.decryptAndHash(m.slice(80));
  }
  /** -> s, se (, psk), with `payload`. */
  message3(payload: Uint8Array): Uint8Array {
    const c = this.encryptAndHash(x25519.getPublicKey(this.s));
    this.mixKey(x25519.getSharedSecret(this.s, this.re!));
    if (this.psk) this.mixKeyAndHash(this.psk);
    return concat(c, this.encryptAndHash(payload));
  }
  /** IK -> e, es, s, ss, with `payload`. */
  ikMessage1(payload: Uint8Array): Uint8Array {
    const e = x25519.getPublicKey(this.e);
    this.mixEphemeral(e);
    this.mixKey(x25519.getSharedSecret(this.e, this.rs!));
    const c = this.encryptAndHash(x25519.getPublicKey(this.s));
    this.mixKey(x25519.getSharedSecret(this.s, this.rs!));
    return concat(e, c, this.encryptAndHash(payload));
  }
  /** IK <- e, ee, se: the responder's payload. */
  ikReadMessage2(m: Uint8Array): Uint8Array {
    this.re = m.slice(0, 32);
    this.mixEphemeral(this.re);
    this.mixKey(x25519.getSharedSecret(this.e, this.re));
    this.mixKey(x25519.getSharedSecret(this.s, this.re));
    return this.decryptAndHash(m.slice(32));
  }
  /** Split(): the initiator sends with the first cipher. */
  split(): [Cipher, Cipher] {
    const out = hkdf(sha256, EMPTY, this.ck, EMPTY, 64);
    return [new Cipher(this.suite, out.slice(0, 32)), new Cipher(this.suite, out.slice(32, 64))];
  }
}

/** The stream: 2-byte big-endian lengths, each message read as it completes. */
class Stream {
  #held: Uint8Array = new Uint8Array(0);
  #waiting: { resolve: (m: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  #ready: Uint8Array[] = [];
  #closed = false;
  constructor(readonly socket: Socket) {
    socket.on('close', () => {
      this.#closed = true;
      for (const w of this.#waiting.splice(0)) w.reject(new Error('the node closed the connection'));
    });
    socket.on('data', (chunk: Buffer) => {
      this.#held = concat(this.#held, chunk);
      while (this.#held.length >= 2) {
        const n = (this.#held[0]! << 8) | this.#held[1]!;
        if (this.#held.length < 2 + n) break;
        const m = this.#held.slice(2, 2 + n);
        this.#held = this.#held.slice(2 + n);
        const w = this.#waiting.shift();
        if (w) w.resolve(m);
        else this.#ready.push(m);
      }
    });
  }
  write(m: Uint8Array): void {
    this.socket.write(concat(Uint8Array.of(m.length >> 8, m.length & 0xff), m));
  }
  next(): Promise<Uint8Array> {
    const m = this.#ready.shift();
    if (m) return Promise.resolve(m);
    if (this.#closed) return Promise.reject(new Error('the node closed the connection'));
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }
}

interface Frame { channel: number; counter: number; kind: number; body: unknown }

/** Records over the stream: whole frames only, one piece each (flags START|END), as the page allows. */
class Link {
  #counters = new Map<number, number>();
  constructor(readonly stream: Stream, readonly send: Cipher, readonly receive: Cipher) {}
  sendFrame(channel: number, kind: number, body: unknown): void {
    const counter = this.#counters.get(channel) ?? 0;
    this.#counters.set(channel, counter + 1);
    const frame = msgpack.pack([3, 1, 0, counter, kind, body]);
    const piece = concat(Uint8Array.of(channel, 3, frame.length >> 8, frame.length & 0xff), frame);
    this.stream.write(this.send.encrypt(EMPTY, piece));
  }
  /** The frames of the next record. */
  async nextFrames(): Promise<Frame[]> {
    const plain = this.receive.decrypt(EMPTY, await this.stream.next());
    const frames: Frame[] = [];
    for (let at = 0; at < plain.length;) {
      const [channel, flags, hi, lo] = plain.subarray(at, at + 4);
      const length = (hi! << 8) | lo!;
      expect(flags, 'the kernel sent a frame in one piece').toBe(3);
      const [type, major, , counter, kind, body] = msgpack.unpack(plain.subarray(at + 4, at + 4 + length)) as unknown[];
      expect([type, major]).toEqual([3, 1]);
      frames.push({ channel: channel!, counter: counter as number, kind: kind as number, body });
      at += 4 + length;
    }
    return frames;
  }
  /** Frames until one matches, the ticks and acks before it skipped. */
  async until(match: (f: Frame) => boolean): Promise<Frame> {
    for (;;) for (const f of await this.nextFrames()) if (match(f)) return f;
  }
}

/** The pairwise heartbeat key of the page: HKDF-SHA256 over X25519, salted with the cluster secret (or zeros). */
function pairwiseKey(mine: Uint8Array, theirs: Uint8Array, secret: Uint8Array | null): Uint8Array {
  const ours = x25519.getPublicKey(mine);
  const [lo, hi] = Buffer.compare(Buffer.from(ours), Buffer.from(theirs)) <= 0 ? [ours, theirs] : [theirs, ours];
  const prk = hmac(sha256, secret ?? new Uint8Array(32), x25519.getSharedSecret(mine, theirs));
  return hmac(sha256, prk, concat(utf8('distkit/1 pairwise heartbeat key'), lo, hi, Uint8Array.of(1)));
}
const tag = (key: Uint8Array, signed: Uint8Array) => hmac(sha256, key, signed).slice(0, 16);

let server: DistkitNode | null = null;
let socket: Socket | null = null;
let udp: UdpSocket | null = null;
afterEach(async () => {
  socket?.destroy();
  udp?.close();
  await server?.stop();
});

const SUITE_CODE = { ChaChaPoly: 1, AESGCM: 2 } as const;

it.each([
  { suite: 'ChaChaPoly', secret: null, pattern: 'XX' },
  { suite: 'AESGCM', secret: null, pattern: 'XX' },
  { suite: 'AESGCM', secret: null, pattern: 'IK' },
  { suite: 'ChaChaPoly', secret: new Uint8Array(32).fill(0x5e), pattern: 'XXpsk3' },
] as const)('a client written from docs/protocol.md links to a kernel ($pattern, $suite), and messages flow both ways', async ({ suite, secret, pattern }) => {
  server = createNode({
    name: 'server', cluster: 'doc', identity: generateIdentity(), incarnation: 3,
    listen: { host: '127.0.0.1', port: 0 }, heartbeatIntervalMs: 100,
    ...(secret ? { clusterSecrets: [secret] } : {}),
  });
  const events = record(server);
  const got: IncomingMessage[] = [];
  void (async () => {
    for await (const m of server!.messages()) got.push(m);
  })();
  await server.start();

  socket = connect(server.address.port, server.address.host);
  await new Promise<void>((r, j) => socket!.once('connect', r).once('error', j));
  const stream = new Stream(socket);
  const clientKey = x25519.utils.randomPrivateKey();
  const prologue = concat(utf8('distkit/1'), Uint8Array.of(0), utf8('doc'));
  // Heartbeats come to this UDP port, named in the hello.
  const datagrams: Uint8Array[] = [];
  udp = createSocket('udp4');
  udp.on('message', (m) => datagrams.push(new Uint8Array(m)));
  await new Promise<void>((r) => udp!.bind(0, '127.0.0.1', r));
  const startedAt = Date.now();
  // [2, 1, 0, name, incarnation, flags (not hidden), versions, startedAt, heartbeatPort, time, tags, listenPort]
  const hello = msgpack.pack([2, 1, 0, 'doc-client', 1, 0, [1], startedAt, udp.address().port, startedAt + 1, { lang: 'noble' }, null]);

  let theirs: unknown[];
  const hs = new Initiator(suite, clientKey, prologue, secret, pattern === 'IK' ? server.publicKey : null);
  if (pattern === 'IK') {
    // Preamble: pattern IK (3), the suite's code; our hello rides in message 1, theirs in 2.
    stream.write(concat(Uint8Array.of(3, SUITE_CODE[suite]), hs.ikMessage1(hello)));
    theirs = msgpack.unpack(hs.ikReadMessage2(await stream.next())) as unknown[];
  } else {
    // Preamble: pattern XX (1), the suite's code, then Noise message 1; with a cluster secret,
    // pattern XXpsk3 (2), the secret's id and the first-record MAC before message 1.
    const first = hs.message1();
    if (secret) {
      const head = Uint8Array.of(2, SUITE_CODE[suite]);
      const id = sha256(concat(utf8('distkit/1 cluster secret id'), secret)).slice(0, 4);
      const mac = hmac(sha256, secret, concat(utf8('distkit/1 first record'), head, id, first)).slice(0, 16);
      stream.write(concat(head, id, mac, first));
    } else {
      stream.write(concat(Uint8Array.of(1, SUITE_CODE[suite]), first));
    }
    theirs = msgpack.unpack(hs.readMessage2(await stream.next())) as unknown[];
    expect(hs.rs).toEqual(server.publicKey);
    stream.write(hs.message3(hello));
  }
  const [type, major, , name, incarnation] = theirs;
  expect([type, major, name, incarnation]).toEqual([2, 1, 'server', 3]);
  const [send, receive] = hs.split();
  const link = new Link(stream, send, receive);

  link.sendFrame(0, 2, ['welcome', null]);
  link.sendFrame(0, 2, ['ready', null]);
  expect(await link.until((f) => f.channel === 0 && f.kind === 2)).toMatchObject({ counter: 0, body: ['welcome', null] });
  expect(await link.until((f) => f.channel === 0 && f.kind === 2)).toMatchObject({ counter: 1, body: ['ready', null] });
  await until(() => events.events.some((e) => e.type === 'nodeup' && e.node === 'doc-client'), 5000, 'nodeup on the kernel');
  expect(server.info().find((p) => p.name === 'doc-client')).toMatchObject({ hidden: false, tags: { lang: 'noble' }, suite: `25519_${suite}_SHA256`, pattern });

  // Datagrams: the kernel's heartbeats verify under the pairwise key and read as the page says ...
  const key = pairwiseKey(clientKey, server.publicKey, secret);
  await until(() => datagrams.length > 0, 5000, 'a heartbeat from the kernel');
  const d = datagrams[0]!;
  expect(d.subarray(0, 8)).toEqual(server.publicKey.subarray(0, 8));
  expect(d.subarray(d.length - 16)).toEqual(tag(key, d.subarray(0, d.length - 16)));
  const body = (b: Uint8Array) => msgpack.unpack(b.subarray(8, b.length - 16)) as unknown[];
  const hb = body(d);
  expect(hb.slice(0, 7)).toEqual([1, 1, 0, 'doc', server.publicKey, 'server', 3]);
  expect(hb).toHaveLength(15);
  // Its view counts one visible node linked, this client, from the moment the link is up (the
  // kernel used to leave the newest link out of its view until the next change).
  await until(() => datagrams.length >= 4, 5000, 'four heartbeats from the kernel');
  expect(datagrams.slice(-2).map((b) => body(b)[9])).toEqual([1, 1]);
  // ... and the kernel takes ours, and refuses one with a wrong tag.
  const heartbeat = (seq: number) => msgpack.pack([
    1, 1, 0, 'doc', x25519.getPublicKey(clientKey), 'doc-client', 1, seq, performance.now(),
    1, server!.publicKey, server!.publicKey, startedAt, false, new Uint8Array(16),
  ]);
  const datagram = (seq: number, bad = false) => {
    const signed = concat(x25519.getPublicKey(clientKey).subarray(0, 8), heartbeat(seq));
    const t = tag(key, signed);
    if (bad) t[0]! ^= 1;
    return concat(signed, t);
  };
  const sendDatagram = (b: Uint8Array) => udp!.send(b, server!.heartbeatAddress.port, server!.heartbeatAddress.host);
  sendDatagram(datagram(1, true));
  sendDatagram(datagram(2));
  await until(() => server!.stats().heartbeatsReceived + server!.stats().drops.unauthenticated >= 2, 5000, 'both datagrams judged');
  expect(server.stats()).toMatchObject({ heartbeatsReceived: 1, drops: { unauthenticated: 1 } });

  // A message on the default channel (2), and one back.
  link.sendFrame(2, 0, { hello: 'from the page', n: [1, 2, 3] });
  await until(() => got.length === 1, 5000, 'the message delivered');
  expect(got[0]).toMatchObject({ from: 'doc-client', value: { hello: 'from the page', n: [1, 2, 3] } });
  await server.send('doc-client', { answer: 42 });
  expect(await link.until((f) => f.channel === 2)).toMatchObject({ counter: 0, kind: 0, body: { answer: 42 } });

  // Counters go on per channel; a deliberate close says why.
  link.sendFrame(2, 0, 'second');
  await until(() => got.length === 2, 5000, 'the second message');
  expect(got[1]).toMatchObject({ from: 'doc-client', value: 'second' });
  link.sendFrame(0, 2, ['disconnect', 'leave']);
  await until(() => events.events.some((e) => e.type === 'nodedown' && e.node === 'doc-client'), 5000, 'nodedown on the kernel');
  expect(events.events.find((e) => e.type === 'nodedown')).toMatchObject({ reason: 'connection_closed', deliberate: 'leave' });
  events.stop();
}, 30_000);
