import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { seeded } from './arbitraries.test-support.ts';
import { WireError, scanMsgpack, type WireLimits } from './index.ts';

// The scanner against an independent count over the value itself: it accepts exactly the values
// within the limits, refuses every truncation, and a refused scan leaves nothing behind for the
// next one (its container stack is shared by every scan).
const packr = new Packr({ useRecords: false, structuredClone: false, variableMapSize: true });

type Value = null | boolean | number | string | Uint8Array | Value[] | { [k: string]: Value };
const valueArb: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true }), fc.string({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** Nesting depth (non-empty containers, as the scanner counts it) and items (elements plus map entries). */
function measure(v: Value): { depth: number; items: number } {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return { depth: 0, items: 0 };
  const children = Array.isArray(v) ? v : Object.values(v);
  let depth = 0;
  let items = children.length;
  for (const c of children) {
    const m = measure(c);
    depth = Math.max(depth, m.depth);
    items += m.items;
  }
  return { depth: children.length > 0 ? depth + 1 : 0, items };
}

function codeOf(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    return (err as WireError).code;
  }
}

describe('scanMsgpack', () => {
  it('accepts a value exactly when it is within the depth and item limits', () => {
    fc.assert(
      fc.property(valueArb, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 40 }), (v, maxDepth, maxItems) => {
        const bytes = packr.pack(v);
        const { depth, items } = measure(v);
        const limits: WireLimits = { maxBytes: 1 << 20, maxDepth, maxItems };
        const code = codeOf(() => scanMsgpack(bytes, limits));
        if (items > maxItems) expect(['TOO_MANY_ITEMS', 'TOO_DEEP']).toContain(code);
        else if (depth > maxDepth) expect(code).toBe('TOO_DEEP');
        else expect(code).toBeNull();
      }),
      seeded('scan limits', 400),
    );
  });

  it('refuses every truncation and any trailing byte; a refused scan does not disturb the next one', () => {
    const limits: WireLimits = { maxBytes: 1 << 20, maxDepth: 32, maxItems: 100_000 };
    fc.assert(
      fc.property(valueArb, valueArb, (v, w) => {
        const bytes = packr.pack(v);
        const other = packr.pack(w);
        for (let cut = 0; cut < bytes.length; cut++) {
          expect(codeOf(() => scanMsgpack(bytes.subarray(0, cut), limits))).toBe('MALFORMED');
          // Straight after a scan that failed inside its containers, a whole value still scans.
          expect(codeOf(() => scanMsgpack(other, limits))).toBeNull();
        }
        const longer = new Uint8Array(bytes.length + 1);
        longer.set(bytes);
        expect(codeOf(() => scanMsgpack(longer, limits))).toBe('TRAILING_BYTES');
      }),
      seeded('scan truncation', 150),
    );
  });

  it('reads 16- and 32-bit lengths and counts in network byte order', () => {
    const limits: WireLimits = { maxBytes: 1 << 20, maxDepth: 4, maxItems: 100_000 };
    for (const v of ['x'.repeat(300), 'y'.repeat(70_000), new Uint8Array(300), new Uint8Array(70_000), Array(300).fill(1), Array(70_000).fill(1)]) {
      expect(codeOf(() => scanMsgpack(packr.pack(v), limits))).toBeNull();
    }
    // An array32 header claiming 2^32 - 1 elements is refused before anything is built.
    expect(codeOf(() => scanMsgpack(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]), limits))).toBe('MALFORMED');
  });
});
