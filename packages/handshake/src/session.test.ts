import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_BYTES, FrameDecoder, createDistkitHandshake, createHandshake, createSession, frameMessage, generateClusterSecret, generateIdentity,
  nativeProvider, nobleProvider, type CryptoProvider, type Session,
} from './index.ts';
import { hex, seeded, thrown } from './bytes.test-support.ts';

const text = (s: string) => new TextEncoder().encode(s);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts `bytes` at the given points (any order, any count). */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

/** A whole distkit handshake over framed bytes, then a session on each side. */
type Options = { rekeyInterval?: number; maxPayloadBytes?: number };
function sessions(provider: CryptoProvider = nativeProvider, options: Options = {}, bOptions: Options = options) {
  const secrets = [generateClusterSecret()];
  const i = createDistkitHandshake({ initiator: true, clusterId: 'c', identity: generateIdentity(), clusterSecrets: secrets, provider });
  const r = createDistkitHandshake({ initiator: false, clusterId: 'c', identity: generateIdentity(), clusterSecrets: secrets, provider });
  const di = new FrameDecoder(1024);
  const dr = new FrameDecoder(1024);
  for (const [w, read, dec] of [[i, r, dr], [r, i, di], [i, r, dr]] as const) {
    const [m] = dec.push(frameMessage(w.writeMessage()));
    read.readMessage(m!);
  }
  return { a: createSession(i.split(), options), b: createSession(r.split(), bOptions) };
}

function send(from: Session, to: Session, payload: Uint8Array, chunkAt: number[] = []): Uint8Array[] {
  return cut(concat(from.seal(payload)), chunkAt).flatMap((c) => to.open(c));
}

describe('frame decoder', () => {
  it('yields the same messages whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (messages, points) => {
        const stream = concat(messages.map(frameMessage));
        const d = new FrameDecoder();
        const got = cut(stream, points).flatMap((c) => d.push(c).map((m) => m.slice()));
        expect(got.map(hex)).toEqual(messages.map(hex));
        expect(d.buffered).toBe(0);
      }),
      seeded('frame chunking', 300),
    );
  });

  it('refuses an oversize length from its two header bytes, before buffering the body, and stays dead', () => {
    const d = new FrameDecoder(100);
    expect(d.push(new Uint8Array([0]))).toEqual([]);
    const err = thrown(() => d.push(new Uint8Array([101])));
    expect(err.code).toBe('FRAME_TOO_LARGE');
    expect(err.message).toContain('101');
    expect(d.buffered).toBe(2); // the header only: nothing of the body was awaited
    expect(thrown(() => d.push(new Uint8Array([0, 1, 7])))).toBe(err);
    expect(thrown(() => d.next())).toBe(err);
    // The default limit is Noise's 65535: such a header is accepted and its body awaited.
    const open = new FrameDecoder();
    expect(open.push(new Uint8Array([0xff, 0xff, 1]))).toEqual([]);
    expect(open.buffered).toBe(3);
    expect(thrown(() => new FrameDecoder(65536)).code).toBe('INVALID_CONFIG');
  });

  it('a peer trickling one byte at a time gets its frames through, in bounded work', () => {
    const message = Uint8Array.from({ length: 65535 }, (_, i) => i & 0xff);
    const stream = concat([frameMessage(message), frameMessage(message.subarray(0, 10))]);
    const d = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    expect(got.map((m) => m.length)).toEqual([65535, 10]);
    expect(hex(got[0]!) === hex(message)).toBe(true);
    expect(d.buffered).toBe(0);
  });

  it('frameMessage refuses messages over 65535 bytes', () => {
    expect(frameMessage(new Uint8Array(65535))).toHaveLength(65537);
    expect(thrown(() => frameMessage(new Uint8Array(65536))).code).toBe('FRAME_TOO_LARGE');
  });
});

describe('session', () => {
  for (const provider of [nativeProvider, nobleProvider]) {
    it(`${provider.name}: payloads of any size arrive whole and in order, both ways`, () => {
      const { a, b } = sessions(provider);
      const sizes = [0, 1, 64, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES, 200_000];
      for (const n of sizes) {
        const payload = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
        const got = send(a, b, payload, [7, 65_000, 65_539, 131_074]);
        expect(got.length, `size ${n}`).toBe(1);
        expect(hex(got[0]!) === hex(payload), `size ${n}`).toBe(true);
        expect(hex(send(b, a, payload)[0]!) === hex(payload)).toBe(true);
      }
    });
  }

  it('a payload is split into 65519-byte chunks plus one shorter (possibly empty) chunk', () => {
    const { a } = sessions();
    // The frame lengths found by walking the sealed bytes.
    const frameLengths = (bytes: Uint8Array) => {
      const out: number[] = [];
      for (let at = 0; at < bytes.length; at += 2 + ((bytes[at]! << 8) | bytes[at + 1]!)) out.push((bytes[at]! << 8) | bytes[at + 1]!);
      return out;
    };
    expect(a.seal(new Uint8Array(64))).toHaveLength(1);
    expect(frameLengths(concat(a.seal(new Uint8Array(64))))).toEqual([64 + 16]);
    expect(frameLengths(concat(a.seal(new Uint8Array(65_536))))).toEqual([65_535, 17 + 16]);
    expect(frameLengths(concat(a.seal(new Uint8Array(CHUNK_BYTES))))).toEqual([65_535, 16]);
    // A large chunk comes as header, ciphertext and tag, so it is never copied.
    expect(a.seal(new Uint8Array(65_536)).map((p) => p.length)).toEqual([2, 65_519, 16, 35]);
  });

  it('many payloads in one chunk come out in order', () => {
    const { a, b } = sessions();
    const payloads = Array.from({ length: 50 }, (_, i) => new Uint8Array(i).fill(i));
    const stream = concat(payloads.flatMap((p) => a.seal(p)));
    expect(b.open(stream).map(hex)).toEqual(payloads.map(hex));
  });

  it('rekeys every rekeyInterval messages in each direction, in step', () => {
    const { a, b } = sessions(nativeProvider, { rekeyInterval: 3 });
    for (let i = 0; i < 20; i++) expect(send(a, b, new Uint8Array([i]))[0]![0]).toBe(i);
    expect(a.messagesSent).toBe(20);
    expect(b.messagesReceived).toBe(20);
    // A peer that rekeys on another schedule cannot be read past the first rekey.
    const x = sessions(nativeProvider, { rekeyInterval: 3 }, { rekeyInterval: 4 });
    for (let i = 0; i < 3; i++) send(x.a, x.b, new Uint8Array([i]));
    expect(thrown(() => send(x.a, x.b, new Uint8Array([3]))).code).toBe('DECRYPT_FAILED');
  });

  it('a tampered frame kills the session: DECRYPT_FAILED now and on every later call', () => {
    const { a, b } = sessions();
    const frames = a.seal(new Uint8Array(100));
    frames[0]![50]! ^= 1;
    const err = thrown(() => b.open(frames[0]!));
    expect(err.code).toBe('DECRYPT_FAILED');
    expect(thrown(() => b.open(concat(a.seal(new Uint8Array(1)))))).toBe(err);
  });

  it('a peer exceeding maxPayloadBytes fails the session before the payload is assembled', () => {
    const { a, b } = sessions(nativeProvider, { maxPayloadBytes: 1_000_000 }, { maxPayloadBytes: 100_000 });
    const bytes = concat(a.seal(new Uint8Array(300_000)));
    expect(b.open(bytes.subarray(0, 65_537))).toEqual([]);
    expect(thrown(() => b.open(bytes.subarray(65_537))).code).toBe('FRAME_TOO_LARGE');
    // The sender refuses what its own limit forbids, and stays usable.
    expect(thrown(() => b.seal(new Uint8Array(100_001))).code).toBe('FRAME_TOO_LARGE');
  });

  it('random bytes from a peer only ever produce a HandshakeError (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), (chunks) => {
        const s = sessions().b;
        try {
          for (const c of chunks) expect(s.open(c)).toEqual([]);
        } catch (err) {
          expect((err as { name?: string }).name).toBe('HandshakeError');
        }
      }),
      seeded('session fuzz', 200),
    );
  });

  it('continues on the handshake decoder: transport bytes that arrive with the last handshake message are not lost', () => {
    const i = createDistkitHandshake({ initiator: true, clusterId: 'c', identity: generateIdentity() });
    const r = createDistkitHandshake({ initiator: false, clusterId: 'c', identity: generateIdentity() });
    const decoder = new FrameDecoder(1024); // the responder's, small while handshaking
    r.readMessage(decoder.push(frameMessage(i.writeMessage()))[0]!);
    i.readMessage(r.writeMessage());
    const m3Frame = frameMessage(i.writeMessage());
    const tx = createSession(i.split());
    // Message 3, a whole payload and part of the next one, in one chunk.
    const stream = concat([m3Frame, ...tx.seal(text('first')), ...tx.seal(new Uint8Array(3000).fill(9))]);
    const cutAt = stream.length - 1000;
    // Pull one message at a time while handshaking: the small limit applies to handshake frames only.
    decoder.feed(stream.subarray(0, cutAt));
    r.readMessage(decoder.next()!);
    expect(r.isComplete).toBe(true);
    decoder.maxFrameBytes = 65535; // transport frames may be large
    const rx = createSession(r.split(), { decoder });
    expect(rx.open(new Uint8Array(0)).map((p) => new TextDecoder().decode(p))).toEqual(['first']);
    expect(rx.open(stream.subarray(cutAt)).map((p) => p.length)).toEqual([3000]);
    // With push, the same stream would have hit the handshake limit on the 3016-byte frame.
    const eager = new FrameDecoder(1024);
    expect(thrown(() => eager.push(stream)).code).toBe('FRAME_TOO_LARGE');
  });

  it('sessions only accept cipher states from split()', () => {
    expect(thrown(() => createSession({ send: {} as never, receive: {} as never })).code).toBe('INVALID_CONFIG');
  });
});

describe('sessions in both suites the links use', () => {
  for (const provider of [nativeProvider, nobleProvider]) {
    for (const suite of ['25519_ChaChaPoly_SHA256', '25519_AESGCM_SHA256']) {
      it(`${provider.name}, ${suite}: small and large payloads, records too`, () => {
        const [s1, s2] = [generateIdentity(provider), generateIdentity(provider)];
        const i = createHandshake({ protocolName: `Noise_XX_${suite}`, initiator: true, staticKeyPair: s1, provider });
        const r = createHandshake({ protocolName: `Noise_XX_${suite}`, initiator: false, staticKeyPair: s2, provider });
        r.readMessage(i.writeMessage());
        i.readMessage(r.writeMessage());
        r.readMessage(i.writeMessage());
        const a = createSession(i.split());
        const b = createSession(r.split());
        for (const n of [0, 64, 5000, 70_000]) {
          const payload = new Uint8Array(n).fill(n & 0xff);
          expect(hex(concat(send(a, b, payload)))).toBe(hex(payload));
        }
        const record = new Uint8Array(100).fill(9);
        const [framed] = a.sealRecord(record);
        expect(hex(b.openRecord(framed!.subarray(2)))).toBe(hex(record));
      });
    }
  }
});

describe('session records (the kernel\'s links)', () => {
  for (const provider of [nativeProvider, nobleProvider]) {
    it(`${provider.name}: one record is one Noise message, opened whole or from the parts a stream cut it into`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: CHUNK_BYTES }), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (sizes, points) => {
          const { a, b } = sessions(provider, { rekeyInterval: 3 }); // rekeys on the way, in step
          const records = sizes.map((n, k) => new Uint8Array(n).fill(k + 1));
          const stream = concat(records.flatMap((r) => a.sealRecord(r)));
          const d = new FrameDecoder();
          const got: string[] = [];
          for (const chunk of cut(stream, points)) {
            d.feed(chunk);
            for (let parts = d.nextParts(); parts; parts = d.nextParts()) got.push(hex(concat(b.openRecordParts(parts))));
          }
          expect(got).toEqual(records.map(hex));
          expect(a.messagesSent).toBe(records.length);
        }),
        seeded(`records ${provider.name}`, provider.name === 'noble' ? 20 : 60),
      );
    });
  }

  it('a record over 65519 bytes is refused; a tampered one kills the session, parts or not', () => {
    const { a, b } = sessions();
    expect(thrown(() => a.sealRecord(new Uint8Array(CHUNK_BYTES + 1))).code).toBe('FRAME_TOO_LARGE');
    const [framed] = a.sealRecord(new Uint8Array(100));
    const message = framed!.slice(2);
    message[50]! ^= 1;
    expect(thrown(() => b.openRecordParts([message.subarray(0, 60), message.subarray(60)])).code).toBe('DECRYPT_FAILED');
    expect(thrown(() => b.openRecord(message)).code).toBe('DECRYPT_FAILED');
  });

  it('nextParts gives views of the fed chunks, never a copy', () => {
    const d = new FrameDecoder();
    const stream = frameMessage(new Uint8Array(10).fill(3));
    const first = stream.slice(0, 5);
    const second = stream.slice(5);
    d.feed(first);
    expect(d.nextParts()).toBeNull();
    d.feed(second);
    const parts = d.nextParts()!;
    expect(parts.map((p) => p.buffer)).toEqual([first.buffer, second.buffer]);
    expect(hex(concat(parts))).toBe(hex(new Uint8Array(10).fill(3)));
  });
});
