import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameArb, heartbeatArb, helloArb, plain, probeArb, seeded } from './arbitraries.test-support.ts';
import {
  MAX_HEARTBEAT_BODY_BYTES, decodeFrame, decodeHeartbeat, decodeHello, decodeProbe, encodeFrame, encodeHeartbeat, encodeHello,
  encodeProbe,
} from './index.ts';

describe('round trip', () => {
  it('heartbeat: decode(encode(x)) equals x and fits a datagram with its tag', () => {
    fc.assert(
      fc.property(heartbeatArb, (hb) => {
        const bytes = encodeHeartbeat(hb);
        expect(bytes.length).toBeLessThanOrEqual(MAX_HEARTBEAT_BODY_BYTES);
        expect(decodeHeartbeat(bytes)).toEqual(hb);
      }),
      seeded('heartbeat round trip', 2000),
    );
  });

  it('hello: decode(encode(x)) equals x', () => {
    fc.assert(fc.property(helloArb, (h) => {
      expect(decodeHello(encodeHello(h))).toEqual(h);
    }), seeded('hello round trip', 2000));
  });

  it('frame: decode(encode(x)) equals x, user values included', () => {
    fc.assert(fc.property(frameArb, (f) => {
      expect(plain(decodeFrame(encodeFrame(f)))).toEqual(plain(f));
    }), seeded('frame round trip', 2000));
  });

  it('probe: decode(encode(x)) equals x and fits a datagram', () => {
    fc.assert(fc.property(probeArb, (p) => {
      const bytes = encodeProbe(p);
      expect(bytes.length).toBeLessThanOrEqual(MAX_HEARTBEAT_BODY_BYTES);
      expect(decodeProbe(bytes)).toEqual(p);
    }), seeded('probe round trip', 2000));
  });

  it('the largest legal heartbeat still fits 1200 bytes with the tag', () => {
    const id = new Uint8Array(32).fill(0xff);
    const hb = {
      cluster: 'c'.repeat(64),
      from: { id, name: 'n'.repeat(255) },
      incarnation: Number.MAX_SAFE_INTEGER,
      seq: Number.MAX_SAFE_INTEGER,
      sentAt: -1.5e300,
      view: { connected: Number.MAX_SAFE_INTEGER, lowest: id, oldest: { id, startedAt: 1.5e300 }, referee: true, hash: new Uint8Array(16) },
    };
    const bytes = encodeHeartbeat(hb);
    expect(bytes.length + 16).toBeLessThanOrEqual(1200);
    expect(decodeHeartbeat(bytes)).toEqual(hb);
  });

  it('decoded ids are plain Uint8Arrays that do not alias the input', () => {
    const hb = fc.sample(heartbeatArb, { numRuns: 1, seed: 7 })[0]!;
    const bytes = encodeHeartbeat(hb);
    const decoded = decodeHeartbeat(bytes);
    expect(Object.getPrototypeOf(decoded.from.id)).toBe(Uint8Array.prototype);
    bytes.fill(0);
    expect(decoded.from.id).toEqual(hb.from.id);
  });
});
