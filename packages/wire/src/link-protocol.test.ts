import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FRAME_LIMITS, WireError, decodeFrame, decodeFrameAt, decodeLinkPreamble, encodeFrame, encodeLinkPreamble, encodeMessageFrame, encodeMessageFrameInto, messageFrameBytes,
} from './index.ts';
import { seeded, userValueArb } from './arbitraries.test-support.ts';

const raw = new Packr({ useRecords: false, variableMapSize: true });
/** Stands for a tick frame among the generated values. */
const TICK = Symbol('tick');
const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    return (err as WireError).code;
  }
  return undefined;
};

describe('link preamble', () => {
  it('round-trips pattern, suite and secret id, and leaves Noise message 1 after it', () => {
    const msg = new Uint8Array([9, 8, 7]);
    const id = new Uint8Array([1, 2, 3, 4]);
    const mac = new Uint8Array(16).fill(5);
    const rec = encodeLinkPreamble({ pattern: 'IKpsk2', suite: '25519_AESGCM_SHA256', secretId: id }, msg, mac);
    const { preamble, mac: got, message } = decodeLinkPreamble(rec);
    expect(preamble).toEqual({ pattern: 'IKpsk2', suite: '25519_AESGCM_SHA256', secretId: id });
    expect([...got!]).toEqual([...mac]);
    expect([...message]).toEqual([9, 8, 7]);
    expect(decodeLinkPreamble(encodeLinkPreamble({ pattern: 'XX', suite: '25519_ChaChaPoly_SHA256', secretId: null }, msg)).preamble.secretId).toBeNull();
  });

  it('refuses unknown codes, truncation, and a secret id that does not match the pattern', () => {
    expect(code(() => decodeLinkPreamble(new Uint8Array([9, 1, 0])))).toBe('UNKNOWN_TYPE');
    expect(code(() => decodeLinkPreamble(new Uint8Array([1, 9, 0])))).toBe('UNKNOWN_TYPE');
    expect(code(() => decodeLinkPreamble(new Uint8Array([2, 1, 0])))).toBe('MALFORMED'); // XXpsk3 without its 4-byte id
    expect(code(() => decodeLinkPreamble(new Uint8Array([1])))).toBe('MALFORMED');
    expect(code(() => encodeLinkPreamble({ pattern: 'XX', suite: '25519_ChaChaPoly_SHA256', secretId: new Uint8Array(4) }, new Uint8Array()))).toBe('INVALID_VALUE');
    expect(code(() => encodeLinkPreamble({ pattern: 'XXpsk3', suite: '25519_ChaChaPoly_SHA256', secretId: null }, new Uint8Array()))).toBe('INVALID_VALUE');
    expect(code(() => encodeLinkPreamble({ pattern: 'XXpsk3', suite: '25519_ChaChaPoly_SHA256', secretId: new Uint8Array(4) }, new Uint8Array()))).toBe('INVALID_VALUE'); // no MAC
    expect(code(() => decodeLinkPreamble(new Uint8Array([2, 1, 0, 0, 0, 0, 9])))).toBe('MALFORMED'); // id, but its MAC cut short
  });
});

describe('control and system frames are strict', () => {
  it('only welcome and disconnect (with a known reason) are control ops', () => {
    expect(decodeFrame(encodeFrame({ kind: 'control', counter: 3, op: 'disconnect', reason: 'leave' }))).toEqual({ kind: 'control', counter: 3, op: 'disconnect', reason: 'leave' });
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 2, ['reboot', null]])))).toBe('UNKNOWN_TYPE');
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 2, ['disconnect', 'because']])))).toBe('MALFORMED');
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 2, ['welcome', 'x']])))).toBe('MALFORMED');
  });

  it('open names a channel from 3 up, with a name of 1 to 64 bytes', () => {
    expect(decodeFrame(encodeFrame({ kind: 'control', counter: 1, op: 'open', channel: 3, name: 'bulk' }))).toEqual({ kind: 'control', counter: 1, op: 'open', channel: 3, name: 'bulk' });
    expect(decodeFrame(raw.pack([3, 1, 0, 0, 2, ['open', [255, 'x'.repeat(64)]]]))).toMatchObject({ channel: 255 });
    for (const bad of [[2, 'x'], [256, 'x'], [3, ''], [3, 'x'.repeat(65)], [3], 'bulk', [-1, 'x'], [3.5, 'x'], ['3', 'x']]) {
      expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 2, ['open', bad]])))).toMatch(/MALFORMED|TOO_LARGE/);
    }
    expect(code(() => encodeFrame({ kind: 'control', counter: 0, op: 'open', channel: 2, name: 'x' }))).toBe('INVALID_VALUE');
    expect(code(() => encodeFrame({ kind: 'control', counter: 0, op: 'open', channel: 9, name: '' }))).toBe('INVALID_VALUE');
  });

  it('a large byte message is encoded exactly as msgpackr encodes it, whatever the counter', () => {
    for (const counter of [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      for (const n of [64 * 1024, 70_000]) {
        const value = new Uint8Array(n).map((_, i) => i * 7);
        const mine = encodeMessageFrame(counter, value, { ...DEFAULT_FRAME_LIMITS, maxBytes: 1 << 20 });
        expect(Buffer.compare(mine, raw.pack([3, 1, 0, counter, 0, value]))).toBe(0);
        expect(decodeFrame(mine, { ...DEFAULT_FRAME_LIMITS, maxBytes: 1 << 20 })).toMatchObject({ kind: 'message', counter });
      }
    }
    expect(code(() => encodeMessageFrame(0, new Uint8Array(100_000)))).toBe('TOO_LARGE');
  });

  it('a byte message written into a shared buffer is byte for byte what encodeMessageFrame writes, at any offset and counter', () => {
    const target = new Uint8Array(80_000).fill(0xee);
    for (const counter of [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      for (const n of [0, 1, 255, 256, 1000, 65535, 65536]) {
        const value = new Uint8Array(n).map((_, i) => i * 13 + counter);
        const limits = { ...DEFAULT_FRAME_LIMITS, maxBytes: 1 << 20 };
        const at = 3 + (n % 7);
        target.fill(0xee);
        const written = encodeMessageFrameInto(target, at, counter, value, limits);
        const expected = encodeMessageFrame(counter, value, limits);
        expect(written).toBe(expected.length);
        expect(written).toBe(messageFrameBytes(counter, n));
        expect(Buffer.compare(target.subarray(at, at + written), expected)).toBe(0);
        expect(target[at - 1]).toBe(0xee); // nothing written before `at`
      }
    }
    expect(code(() => encodeMessageFrameInto(target, 0, 0, new Uint8Array(70_000)))).toBe('TOO_LARGE');
    expect(() => encodeMessageFrameInto(new Uint8Array(10), 0, 0, new Uint8Array(20))).toThrow(RangeError);
    expect(code(() => encodeMessageFrameInto(target, 0, -1, new Uint8Array(1)))).toBe('INVALID_VALUE');
  });

  it('a tick is encoded without msgpackr, byte for byte what msgpackr writes (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), (counter) => {
        const fast = encodeFrame({ kind: 'tick', counter });
        expect(Uint8Array.from(fast)).toEqual(Uint8Array.from(raw.pack([3, 1, 0, counter, 1, null])));
        expect(decodeFrame(fast)).toEqual({ kind: 'tick', counter });
      }),
      seeded('tick encoding', 2000),
    );
    // Limits too small for the envelope: refused as the general encoder refuses them.
    expect(code(() => encodeFrame({ kind: 'tick', counter: 0 }, { ...DEFAULT_FRAME_LIMITS, maxBytes: 4 }))).toBe('TOO_LARGE');
  });

  it('the fast path for message and tick frames accepts and refuses exactly what the general decoder does (property)', () => {
    // The same msgpack value with its envelope as an array16 is never on the fast path: an oracle.
    const slow = (b: Uint8Array) => (b[0] === 0x96 ? Uint8Array.from([0xdc, 0, 6, ...b.subarray(1)]) : b);
    const outcome = (b: Uint8Array) => {
      try {
        return { ok: decodeFrame(b, { ...DEFAULT_FRAME_LIMITS, maxBytes: 4096, maxItems: 64, maxDepth: 4 }) };
      } catch (err) {
        return { code: (err as WireError).code };
      }
    };
    fc.assert(
      fc.property(fc.oneof(userValueArb, fc.uint8Array({ maxLength: 300 }), fc.constant(TICK)), fc.nat(), fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }), (value, counter, muts) => {
        let bytes: Uint8Array;
        try {
          bytes = Uint8Array.from(value === TICK ? encodeFrame({ kind: 'tick', counter }) : encodeMessageFrame(counter, value, { ...DEFAULT_FRAME_LIMITS, maxBytes: 1 << 20 }));
        } catch {
          return;
        }
        for (const m of muts) if (bytes.length) bytes[m.at % bytes.length] = m.byte;
        const fast = outcome(bytes);
        const general = outcome(slow(bytes));
        expect(fast).toEqual(general);
        // In place, between other bytes (as frames lie in a record): the same outcome.
        const record = new Uint8Array(bytes.length + 9).fill(0x96);
        record.set(bytes, 4);
        let inPlace: unknown;
        try {
          inPlace = { ok: decodeFrameAt(record, 4, 4 + bytes.length, { ...DEFAULT_FRAME_LIMITS, maxBytes: 4096, maxItems: 64, maxDepth: 4 }) };
        } catch (err) {
          inPlace = { code: (err as WireError).code };
        }
        expect(inPlace).toEqual(fast);
      }),
      seeded('message fast path', 3000),
    );
  });

  it('ack carries a byte count, an unsigned safe integer', () => {
    expect(decodeFrame(encodeFrame({ kind: 'control', counter: 2, op: 'ack', bytes: 2 ** 40 }))).toEqual({ kind: 'control', counter: 2, op: 'ack', bytes: 2 ** 40 });
    for (const bad of [-1, 1.5, '7', null, [1]]) expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 2, ['ack', bad]])))).toBe('MALFORMED');
    expect(code(() => encodeFrame({ kind: 'control', counter: 0, op: 'ack', bytes: -3 }))).toBe('INVALID_VALUE');
  });

  it('system ops have exact shapes', () => {
    expect(decodeFrame(encodeFrame({ kind: 'system', counter: 0, message: { op: 'nodes', id: 4, nodes: ['a', 'b'] } }))).toMatchObject({ message: { op: 'nodes', id: 4, nodes: ['a', 'b'] } });
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 3, ['nodes', 1, 'a']])))).toBe('MALFORMED');
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 3, ['nodes?']])))).toBe('MALFORMED');
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 3, ['nodes', 1, [1, 2]]])))).toBe('MALFORMED');
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 3, ['format-disk']])))).toBe('UNKNOWN_TYPE');
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 3, ['event', 'decision', 'n', 'keep-majority', 'maybe', [], []]])))).toBe('MALFORMED');
  });
});
