// Records and pieces: what a sender cuts, a reader puts back together, per channel and in order;
// and every way a record can break the rules is refused with a code.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { code } from './refusal.test-support.ts';
import { seeded } from './arbitraries.test-support.ts';
import {
  MAX_OPEN_FRAMES, MAX_RECORD_BYTES, PIECE_END, PIECE_HEADER_BYTES, PIECE_START, PIECE_TOTAL_BYTES, RecordBuilder, RecordReader,
  WireError,
} from './index.ts';

/** A record from raw pieces, as a peer (or an attacker) could write it. */
function raw(...pieces: { channel: number; flags: number; data: number; total?: number; length?: number }[]): Uint8Array {
  const parts: number[] = [];
  for (const p of pieces) {
    const length = p.length ?? p.data;
    parts.push(p.channel, p.flags, length >>> 8, length & 0xff);
    if (p.total !== undefined) parts.push(p.total >>> 24, (p.total >>> 16) & 0xff, (p.total >>> 8) & 0xff, p.total & 0xff);
    for (let i = 0; i < p.data; i++) parts.push(0x90); // an empty msgpack array: any byte will do
  }
  return Uint8Array.from(parts);
}

/**
 * A reference sender: frames queued per channel, cut into pieces round-robin, `quantum` bytes per
 * channel per turn, into records of at most `recordBytes` (so records end at odd places).
 */
function cut(frames: { channel: number; bytes: Uint8Array }[], quantum: number, recordBytes: number): Uint8Array[] {
  const queues = new Map<number, { bytes: Uint8Array; sent: number }[]>();
  for (const f of frames) {
    let q = queues.get(f.channel);
    if (!q) queues.set(f.channel, (q = []));
    q.push({ bytes: f.bytes, sent: 0 });
  }
  const records: Uint8Array[] = [];
  const builder = new RecordBuilder();
  const room = (withTotal: boolean) => Math.max(0, builder.room(withTotal) - (MAX_RECORD_BYTES - recordBytes));
  const seal = () => {
    if (builder.length) records.push(builder.take().slice());
    builder.reset();
  };
  while ([...queues.values()].some((q) => q.length)) {
    for (const [channel, q] of queues) {
      let budget = quantum;
      while (q.length && budget > 0) {
        const f = q[0]!;
        const left = f.bytes.length - f.sent;
        const first = f.sent === 0;
        const whole = first && left <= room(false);
        const space = room(first && !whole);
        if (space === 0) {
          seal();
          continue;
        }
        const n = Math.min(left, space, whole ? left : budget);
        const flags = (first ? PIECE_START : 0) | (f.sent + n === f.bytes.length ? PIECE_END : 0);
        builder.put(channel, flags, f.bytes.subarray(f.sent, f.sent + n), f.bytes.length);
        f.sent += n;
        budget -= n;
        if (f.sent === f.bytes.length) q.shift();
      }
    }
  }
  seal();
  return records;
}

describe('records', () => {
  it('a reader gives back every frame, in order per channel, whatever the cuts (property)', () => {
    const frame = fc.record({
      channel: fc.integer({ min: 0, max: 5 }),
      length: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3000 })),
      fill: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 700 }), fc.integer({ min: 16, max: 2000 }), fc.array(fc.nat(), { maxLength: 3 }), (spec, quantum, recordBytes, splits) => {
        const frames = spec.map((f, i) => ({ channel: f.channel, bytes: new Uint8Array(f.length).fill((f.fill + i) & 0xff) }));
        const reader = new RecordReader(1 << 20);
        const inPlace = new RecordReader(1 << 20);
        const got: { channel: number; bytes: number[] }[] = [];
        const gotInPlace: { channel: number; bytes: number[] }[] = [];
        for (const r of cut(frames, quantum, recordBytes)) {
          expect(r.length).toBeLessThanOrEqual(recordBytes);
          // Some records are read as the consecutive parts a stream might have cut them into.
          const at = [...new Set(splits.map((x) => x % r.length).filter((x) => x > 0))].sort((a, b) => a - b);
          const parts = [0, ...at].map((from, i) => r.subarray(from, at[i] ?? r.length));
          reader.read(parts.length > 1 ? parts : r, (channel, bytes) => got.push({ channel, bytes: [...bytes] }));
          inPlace.readInPlace(parts.length > 1 ? parts : r, (channel, bytes, start, end) => gotInPlace.push({ channel, bytes: [...bytes.subarray(start, end)] }));
        }
        expect(gotInPlace).toEqual(got);
        expect(reader.open).toBe(0);
        expect(reader.buffered).toBe(0);
        for (const ch of new Set(frames.map((f) => f.channel))) {
          expect(got.filter((g) => g.channel === ch).map((g) => g.bytes)).toEqual(frames.filter((f) => f.channel === ch).map((f) => [...f.bytes]));
        }
      }),
      seeded('records', 200),
    );
  });

  it('a small frame queued after a large one on another channel is read before the large one completes', () => {
    const big = { channel: 2, bytes: new Uint8Array(200_000).fill(1) };
    const small = { channel: 3, bytes: new Uint8Array([7]) };
    const order: number[] = [];
    const reader = new RecordReader(1 << 20);
    for (const r of cut([big, small], 16_384, MAX_RECORD_BYTES)) reader.read(r, (channel) => order.push(channel));
    expect(order).toEqual([3, 2]);
  });

  it('whole pieces are views into the record (decode in place); cut frames are joined once', () => {
    const builder = new RecordBuilder();
    builder.put(4, PIECE_START | PIECE_END, new Uint8Array([1, 2, 3]), 3);
    builder.put(5, PIECE_START, new Uint8Array([9]), 2);
    builder.put(5, PIECE_END, new Uint8Array([8]), 2);
    const record = builder.take().slice();
    const frames: Uint8Array[] = [];
    new RecordReader(100).read(record, (_c, f) => frames.push(f));
    expect(frames[0]!.buffer).toBe(record.buffer);
    expect([...frames[1]!]).toEqual([9, 8]);
    expect(frames[1]!.buffer).not.toBe(record.buffer);
  });

  it('a record in parts gives the same frames, as views where a piece lies within one part', () => {
    const builder = new RecordBuilder();
    builder.put(4, PIECE_START | PIECE_END, new Uint8Array([1, 2, 3]), 3);
    builder.put(5, PIECE_START | PIECE_END, new Uint8Array([4, 5, 6, 7]), 4);
    const record = builder.take().slice();
    for (let cutAt = 1; cutAt < record.length; cutAt++) {
      const frames: number[][] = [];
      new RecordReader(100).read([record.subarray(0, cutAt), record.subarray(cutAt)], (_c, f) => frames.push([...f]));
      expect(frames).toEqual([[1, 2, 3], [4, 5, 6, 7]]);
    }
    const whole: Uint8Array[] = [];
    new RecordReader(100).read([record.subarray(0, 7), record.subarray(7)], (_c, f) => whole.push(f));
    expect(whole[0]!.buffer).toBe(record.buffer); // within the first part: not copied
  });

  it('the builder refuses a piece that does not fit (a sender bug, not input)', () => {
    const builder = new RecordBuilder();
    expect(builder.room(false)).toBe(MAX_RECORD_BYTES - PIECE_HEADER_BYTES);
    expect(builder.room(true)).toBe(MAX_RECORD_BYTES - PIECE_HEADER_BYTES - PIECE_TOTAL_BYTES);
    expect(() => builder.put(0, PIECE_START | PIECE_END, new Uint8Array(MAX_RECORD_BYTES), 1)).toThrow(RangeError);
    expect(() => builder.put(0, PIECE_START | PIECE_END, new Uint8Array(0), 0)).toThrow(RangeError);
  });
});

describe('a record reader refuses, with a code', () => {
  const read = (...records: Uint8Array[]) => () => {
    const reader = new RecordReader(1000);
    for (const r of records) reader.read(r, () => {});
  };
  const whole = PIECE_START | PIECE_END;

  it('the reference encoding is accepted (each case below breaks one rule)', () => {
    expect(() => read(raw({ channel: 2, flags: whole, data: 3 }), raw({ channel: 2, flags: PIECE_START, data: 2, total: 5 }, { channel: 2, flags: PIECE_END, data: 3 }))()).not.toThrow();
  });

  it('MALFORMED: empty record, truncated header or total, a piece past its record, empty piece, unknown flags', () => {
    expect(code(read(new Uint8Array(0)))).toBe('MALFORMED');
    expect(code(read(raw({ channel: 2, flags: whole, data: 3 }).subarray(0, 3)))).toBe('MALFORMED');
    expect(code(read(Uint8Array.from([2, PIECE_START, 0, 1, 0, 0])))).toBe('MALFORMED');
    expect(code(read(raw({ channel: 2, flags: whole, data: 3, length: 4 })))).toBe('MALFORMED');
    expect(code(read(raw({ channel: 2, flags: whole, data: 0 })))).toBe('MALFORMED');
    expect(code(read(raw({ channel: 2, flags: 4 | whole, data: 1 })))).toBe('MALFORMED');
  });

  it('MALFORMED: pieces out of turn on a channel, or not adding up to the announced length', () => {
    expect(code(read(raw({ channel: 2, flags: PIECE_END, data: 1 })))).toBe('MALFORMED'); // no frame in progress
    expect(code(read(raw({ channel: 2, flags: 0, data: 1 })))).toBe('MALFORMED');
    expect(code(read(raw({ channel: 2, flags: PIECE_START, data: 1, total: 3 }, { channel: 2, flags: whole, data: 1 })))).toBe('MALFORMED');
    expect(code(read(raw({ channel: 2, flags: PIECE_START, data: 1, total: 3 }, { channel: 2, flags: PIECE_END, data: 1 })))).toBe('MALFORMED');
    expect(code(read(raw({ channel: 2, flags: PIECE_START, data: 1, total: 3 }, { channel: 2, flags: 0, data: 2 })))).toBe('MALFORMED');
    expect(code(read(raw({ channel: 2, flags: PIECE_START, data: 1, total: 3 }, { channel: 2, flags: PIECE_END, data: 3 })))).toBe('MALFORMED');
    expect(code(read(raw({ channel: 2, flags: PIECE_START, data: 3, total: 3 })))).toBe('MALFORMED'); // a whole frame must say so
  });

  it('TOO_LARGE from the first piece; MALFORMED past the open-frame limit', () => {
    expect(code(read(raw({ channel: 2, flags: PIECE_START, data: 1, total: 1001 })))).toBe('TOO_LARGE');
    expect(code(read(raw({ channel: 2, flags: PIECE_START, data: 1, total: 0xffffffff })))).toBe('TOO_LARGE');
    const open = Array.from({ length: MAX_OPEN_FRAMES + 1 }, (_, i) => ({ channel: i, flags: PIECE_START, data: 1, total: 2 }));
    expect(code(read(raw(...open)))).toBe('MALFORMED');
    expect(() => read(raw(...open.slice(0, MAX_OPEN_FRAMES)))()).not.toThrow();
  });

  it('the same refusals when the record comes in parts', () => {
    const parts = (r: Uint8Array, at: number) => () => new RecordReader(1000).read([r.subarray(0, at), r.subarray(at)], () => {});
    expect(code(parts(raw({ channel: 2, flags: whole, data: 3, length: 4 }), 2))).toBe('MALFORMED');
    expect(code(parts(raw({ channel: 2, flags: PIECE_START, data: 1, total: 1001 }), 5))).toBe('TOO_LARGE');
    expect(code(parts(Uint8Array.from([2, PIECE_START, 0, 1, 0, 0]), 3))).toBe('MALFORMED');
    expect(code(() => new RecordReader(10).read([new Uint8Array(0), new Uint8Array(0)], () => {}))).toBe('MALFORMED');
  });

  it('after a refusal the reader stays refused', () => {
    const reader = new RecordReader(1000);
    expect(() => reader.read(new Uint8Array(0), () => {})).toThrow(WireError);
    expect(() => reader.read(raw({ channel: 2, flags: whole, data: 1 }), () => {})).toThrow(/empty record/);
  });

  it('attacker bytes give a frame or a WireError, never anything else (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { minLength: 1, maxLength: 6 }), (records) => {
        const reader = new RecordReader(200);
        for (const r of records) {
          try {
            reader.read(r, (channel, f) => {
              expect(channel).toBeLessThan(256);
              expect(f.length).toBeGreaterThan(0);
            });
          } catch (err) {
            if (!(err instanceof WireError)) throw err;
            return;
          }
        }
      }),
      seeded('record fuzz', 2000),
    );
  });
});
