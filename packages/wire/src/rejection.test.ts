import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { code } from './refusal.test-support.ts';
import {
  WireError, decodeFrame, decodeHeartbeat, decodeHello, decodeProbe, encodeFrame, encodeHeartbeat, encodeHello, scanMsgpack,
  type Heartbeat,
} from './index.ts';

// A permissive packer, as an attacker (or a buggy peer) would use: it writes whatever we ask.
const raw = new Packr({ useRecords: false });
const id = new Uint8Array(32).fill(1);
const hb: Heartbeat = {
  cluster: 'prod',
  from: { id, name: 'alpha' },
  incarnation: 3,
  seq: 41,
  sentAt: 123.5,
  view: { connected: 2, lowest: id, oldest: { id, startedAt: 1_700_000_000_000 }, referee: false, hash: new Uint8Array(16) },
};
const hbFields = (): unknown[] => ['prod', id, 'alpha', 3, 41, 123.5, 2, id, id, 1_700_000_000_000, false, new Uint8Array(16)];

describe('decoders refuse, with a code', () => {
  it('the hand-built reference encoding is accepted (so the cases below differ in one thing only)', () => {
    expect(decodeHeartbeat(raw.pack([1, 1, 0, ...hbFields()]))).toEqual(hb);
  });

  it('MALFORMED: empty, truncated, not an envelope, missing or extra fields, wrong field types', () => {
    const good = encodeHeartbeat(hb);
    expect(code(() => decodeHeartbeat(new Uint8Array(0)))).toBe('MALFORMED');
    expect(code(() => decodeHeartbeat(good.subarray(0, good.length - 1)))).toBe('MALFORMED');
    expect(code(() => decodeHeartbeat(raw.pack({ type: 1 })))).toBe('MALFORMED');
    expect(code(() => decodeHeartbeat(raw.pack([1, 1, 0, ...hbFields().slice(1)])))).toBe('MALFORMED');
    expect(code(() => decodeHeartbeat(raw.pack([1, 1, 0, ...hbFields(), 'extra'])))).toBe('MALFORMED');
    const badName = hbFields();
    badName[2] = 42;
    expect(code(() => decodeHeartbeat(raw.pack([1, 1, 0, ...badName])))).toBe('MALFORMED');
    const shortId = hbFields();
    shortId[1] = new Uint8Array(31);
    expect(code(() => decodeHeartbeat(raw.pack([1, 1, 0, ...shortId])))).toBe('MALFORMED');
    const negativeSeq = hbFields();
    negativeSeq[4] = -1;
    expect(code(() => decodeHeartbeat(raw.pack([1, 1, 0, ...negativeSeq])))).toBe('MALFORMED');
    const floatInc = hbFields();
    floatInc[3] = 1.5;
    expect(code(() => decodeHeartbeat(raw.pack([1, 1, 0, ...floatInc])))).toBe('MALFORMED');
    expect(code(() => decodeHeartbeat(new Uint8Array([0xc1])))).toBe('MALFORMED');
    expect(code(() => decodeHeartbeat('not bytes' as unknown as Uint8Array))).toBe('MALFORMED');
  });

  it('a container header that promises more than the bytes hold is refused before allocation', () => {
    // array32 claiming 2^32-1 elements in a 5-byte input
    expect(code(() => decodeFrame(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])))).toBe('MALFORMED');
  });

  it('UNKNOWN_TYPE: a message type or frame kind this build does not know', () => {
    expect(code(() => decodeHeartbeat(raw.pack([99, 1, 0, ...hbFields()])))).toBe('UNKNOWN_TYPE');
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 7, null])))).toBe('UNKNOWN_TYPE');
    expect(code(() => decodeProbe(raw.pack([4, 1, 0, 'c', id, 5, 1, 'x', null])))).toBe('UNKNOWN_TYPE');
  });

  it('a known type in the wrong place is MALFORMED, not accepted', () => {
    expect(code(() => decodeHello(encodeHeartbeat(hb)))).toBe('MALFORMED');
  });

  it('UNSUPPORTED_VERSION: a newer major; a newer minor with extra fields is accepted', () => {
    expect(code(() => decodeHeartbeat(raw.pack([1, 2, 0, ...hbFields()])))).toBe('UNSUPPORTED_VERSION');
    expect(code(() => decodeHeartbeat(raw.pack([1, 0, 9, ...hbFields()])))).toBe('UNSUPPORTED_VERSION');
    expect(decodeHeartbeat(raw.pack([1, 1, 5, ...hbFields(), 'a field from 1.5']))).toEqual(hb);
  });

  it('TOO_LARGE: a datagram over 1184 bytes, a frame over its limit, a name over 255 bytes', () => {
    const big = new Uint8Array(1185);
    big[0] = 0xc4; // would be bin8, but the size check comes first
    expect(code(() => decodeHeartbeat(big))).toBe('TOO_LARGE');
    const frame = encodeFrame({ kind: 'message', counter: 0, value: 'x'.repeat(2000) });
    expect(code(() => decodeFrame(frame, { maxBytes: 1000, maxDepth: 8, maxItems: 100 }))).toBe('TOO_LARGE');
    const longName = hbFields();
    longName[2] = 'n'.repeat(256);
    expect(code(() => decodeHeartbeat(raw.pack([1, 1, 0, ...longName])))).toBe('TOO_LARGE');
  });

  it('TOO_DEEP and TOO_MANY_ITEMS: user values over the configured limits', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 0, deep])))).toBe('TOO_DEEP');
    const wide = Array.from({ length: 20_000 }, () => 0);
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 0, wide])))).toBe('TOO_MANY_ITEMS');
    const limits = { maxBytes: 65536, maxDepth: 3, maxItems: 10 };
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 0, [[[1]]]]), limits))).toBe('TOO_DEEP');
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]]), limits))).toBe('TOO_MANY_ITEMS');
  });

  it('TRAILING_BYTES: anything after the value', () => {
    const good = encodeHello({ name: 'a', incarnation: 1, hidden: false, versions: [1], startedAt: 0, heartbeatPort: null, listenPort: null, time: 0, tags: {} });
    const padded = new Uint8Array(good.length + 1);
    padded.set(good);
    expect(code(() => decodeHello(padded))).toBe('TRAILING_BYTES');
  });

  it('EXTENSION_TYPE: timestamps, records, structured clones and raw ext are refused', () => {
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 0, new Date(0)])))).toBe('EXTENSION_TYPE');
    const recordPackr = new Packr({ useRecords: true });
    expect(code(() => decodeFrame(recordPackr.pack([3, 1, 0, 0, 0, { a: 1, b: 2 }])))).toBe('EXTENSION_TYPE');
    const cloner = new Packr({ structuredClone: true });
    expect(code(() => decodeFrame(cloner.pack([3, 1, 0, 0, 0, new Set([1])])))).toBe('EXTENSION_TYPE');
    expect(code(() => scanMsgpack(new Uint8Array([0xd4, 0x01, 0x00]), { maxBytes: 10, maxDepth: 2, maxItems: 2 }))).toBe('EXTENSION_TYPE');
  });

  it('FORBIDDEN_KEY: "__proto__" cannot pollute prototypes; non-string keys are malformed', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    expect(code(() => decodeFrame(raw.pack([3, 1, 0, 0, 0, evil])))).toBe('FORBIDDEN_KEY');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const ctor = decodeFrame(raw.pack([3, 1, 0, 0, 0, { constructor: { prototype: { polluted: true } } }]));
    expect(ctor.kind).toBe('message');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const intKeys = new Packr({ useRecords: false, mapsAsObjects: false, variableMapSize: true });
    expect(code(() => decodeFrame(intKeys.pack([3, 1, 0, 0, 0, new Map([[1, 'x']])])))).toBe('MALFORMED');
  });
});

describe('encoders refuse what a decoder would refuse', () => {
  it('INVALID_VALUE: bad names, ids, numbers, extension values, unknown frame kinds', () => {
    expect(code(() => encodeHeartbeat({ ...hb, from: { id, name: '' } }))).toBe('INVALID_VALUE');
    expect(code(() => encodeHeartbeat({ ...hb, from: { id: new Uint8Array(8), name: 'a' } }))).toBe('INVALID_VALUE');
    expect(code(() => encodeHeartbeat({ ...hb, seq: -1 }))).toBe('INVALID_VALUE');
    expect(code(() => encodeHeartbeat({ ...hb, sentAt: Number.NaN }))).toBe('INVALID_VALUE');
    expect(code(() => encodeHello({ name: 'a', incarnation: 1, hidden: false, versions: [], startedAt: 0, heartbeatPort: 4370, listenPort: null, time: 0, tags: {} }))).toBe('INVALID_VALUE');
    expect(code(() => encodeHello({ name: 'a', incarnation: 1, hidden: false, versions: [1], startedAt: 0, heartbeatPort: null, listenPort: null, time: 0, tags: { 'no spaces': 'x' } }))).toBe('INVALID_VALUE');
    expect(code(() => encodeHello({ name: 'a', incarnation: 1, hidden: false, versions: [1], startedAt: 0, heartbeatPort: null, listenPort: null, time: 0, tags: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }))).toBe('INVALID_VALUE');
    expect(code(() => encodeFrame({ kind: 'message', counter: 0, value: new Date() }))).toBe('INVALID_VALUE');
    expect(code(() => encodeFrame({ kind: 'bogus', counter: 0 } as never))).toBe('INVALID_VALUE');
    expect(code(() => encodeHello({ name: 'a', incarnation: 1, hidden: false, versions: [1], startedAt: 0, heartbeatPort: 70000, listenPort: null, time: 0, tags: {} }))).toBe('INVALID_VALUE');
    expect(code(() => encodeHello({ name: 'a', incarnation: 1, hidden: false, versions: [1], startedAt: 0, heartbeatPort: null, listenPort: 0, time: 0, tags: {} }))).toBe('INVALID_VALUE');
    expect(code(() => encodeFrame({ kind: 'message', counter: 0, value: 'x'.repeat(70_000) }))).toBe('TOO_LARGE');
  });

  it('MALFORMED: a string that is not valid UTF-8 (overlong, surrogate, truncated, past U+10FFFF), as a value or a key', () => {
    const limits = { maxBytes: 100, maxDepth: 4, maxItems: 10 };
    for (const bad of [[0xa2, 0xc0, 0x80], [0xa2, 0xe0, 0x20], [0xa1, 0xe2], [0xa3, 0xed, 0xa0, 0x80], [0xa4, 0xf4, 0x90, 0x80, 0x80], [0xa1, 0x80]]) {
      expect(code(() => scanMsgpack(Uint8Array.from(bad), limits))).toBe('MALFORMED');
      expect(code(() => scanMsgpack(Uint8Array.from([0x81, ...bad, 0xc0]), limits))).toBe('MALFORMED');
    }
    expect(() => scanMsgpack(raw.pack({ 'ключ': 'värde ✓ 😀' }), limits)).not.toThrow();
    // A JavaScript string with a lone surrogate cannot be sent (msgpackr would write it as CESU-8).
    expect(code(() => encodeFrame({ kind: 'message', counter: 0, value: { s: '\ud800' } }))).toBe('INVALID_VALUE');
  });
});
