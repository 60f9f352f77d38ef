import { describe, expect, it } from 'vitest';
import { DetectorError, toHex, viewSummary, type Member } from './index.ts';
import { Buffer } from 'node:buffer';

const member = (b: number, startedAt: number): Member => ({ id: new Uint8Array(32).fill(b), startedAt });

describe('viewSummary', () => {
  const a = member(5, 300);
  const b = member(2, 500);
  const c = member(9, 100);

  it('counts links, finds the lowest id, the oldest member and the referee', () => {
    const v = viewSummary({ self: a, peers: [b, c], referee: c.id });
    expect(v.connected).toBe(2);
    expect(v.lowest).toEqual(b.id);
    expect(v.oldest).toEqual({ id: c.id, startedAt: 100 });
    expect(v.referee).toBe(true);
    expect(v.hash).toHaveLength(16);
    expect(viewSummary({ self: a, peers: [b], referee: c.id }).referee).toBe(false);
  });

  it('is the same on every member of the same set, whatever the order', () => {
    const fromA = viewSummary({ self: a, peers: [b, c] });
    const fromC = viewSummary({ self: c, peers: [b, a] });
    expect(toHex(fromA.hash)).toBe(toHex(fromC.hash));
    expect(fromA).toEqual(fromC);
  });

  it('hashes different sets differently, and ignores duplicates', () => {
    const ab = viewSummary({ self: a, peers: [b] });
    expect(toHex(ab.hash)).not.toBe(toHex(viewSummary({ self: a, peers: [c] }).hash));
    expect(viewSummary({ self: a, peers: [b, b, a] })).toEqual(ab);
  });

  it('refuses a malformed member with a DetectorError naming it', () => {
    expect(() => viewSummary({ self: a, peers: [{ id: new Uint8Array(3), startedAt: 1 }] })).toThrow(DetectorError);
    expect(() => viewSummary({ self: a, peers: [{ id: b.id, startedAt: Number.NaN }] })).toThrow(/peers\[0\]\.startedAt/);
  });
});

describe('toHex', () => {
  it('is lower-case hex, two digits a byte, as Buffer writes it', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => (i * 167) & 0xff);
    expect(toHex(bytes)).toBe(Buffer.from(bytes).toString('hex'));
    expect(toHex(new Uint8Array(0))).toBe('');
  });
});
