import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameArb, heartbeatArb, helloArb, probeArb, seeded } from './arbitraries.test-support.ts';
import {
  WireError, decodeFrame, decodeHeartbeat, decodeHello, decodeProbe, encodeFrame, encodeHeartbeat, encodeHello, encodeProbe,
} from './index.ts';
import { decodeHeartbeatFields } from './heartbeat.ts';

// Every outcome of decoding attacker bytes must be a value or a WireError: never a TypeError from
// deep inside msgpackr, never a hang, never a polluted prototype.
const decoders = [decodeHeartbeat, decodeHello, decodeFrame, decodeProbe] as const;
const outcomes = { value: 0, wireError: 0 };

function decodeAll(bytes: Uint8Array): void {
  for (const decode of decoders) {
    try {
      decode(bytes);
      outcomes.value++;
    } catch (err) {
      if (!(err instanceof WireError)) {
        throw new Error(`non-WireError for input ${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}: ${String(err)}`);
      }
      outcomes.wireError++;
    }
  }
}

const valid = fc.oneof(
  heartbeatArb.map(encodeHeartbeat), helloArb.map(encodeHello), frameArb.map((f) => encodeFrame(f)), probeArb.map(encodeProbe),
);
const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('flip', 'set', 'cut', 'insert', 'swap'),
  byte: fc.integer({ min: 0, max: 255 }),
});

function mutate(bytes: Uint8Array, muts: { at: number; op: string; byte: number }[]): Uint8Array {
  let out = Uint8Array.from(bytes);
  for (const m of muts) {
    if (out.length === 0) break;
    const i = m.at % out.length;
    if (m.op === 'flip') out[i]! ^= 1 << (m.byte & 7);
    else if (m.op === 'set') out[i] = m.byte;
    else if (m.op === 'cut') out = out.subarray(0, i);
    else if (m.op === 'insert') out = Uint8Array.from([...out.subarray(0, i), m.byte, ...out.subarray(i)]);
    else { const j = m.byte % out.length; const t = out[i]!; out[i] = out[j]!; out[j] = t; }
  }
  return out;
}

/** The value, or the WireError's code. */
function outcome(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return decode(bytes);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    return `WireError ${err.code}`;
  }
}

describe('the plain heartbeat reader (the layout every heartbeat has, read in place)', () => {
  it('accepts what the general decoder accepts, with the same value, and nothing it refuses', () => {
    const heartbeats = heartbeatArb.map(encodeHeartbeat);
    fc.assert(
      fc.property(heartbeats, fc.array(mutation, { minLength: 0, maxLength: 3 }), (b, m) => {
        const bytes = m.length === 0 ? b : mutate(b, m);
        expect(outcome(decodeHeartbeat, bytes)).toEqual(outcome(decodeHeartbeatFields, bytes));
      }),
      seeded('plain heartbeat reader', 20_000),
    );
  });
});

describe('fuzz: decoders return a value or throw a WireError', () => {
  it('random bytes (40k cases x 4 decoders)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodeAll(b)), seeded('fuzz random', 40_000));
  });

  it('mutated valid encodings (60k cases x 4 decoders)', () => {
    fc.assert(
      fc.property(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }), (b, m) => decodeAll(mutate(b, m))),
      seeded('fuzz mutated', 60_000),
    );
    console.log(`[fuzz] outcomes so far: ${outcomes.value} values, ${outcomes.wireError} WireErrors`);
    expect(outcomes.wireError).toBeGreaterThan(0);
    expect(outcomes.value).toBeGreaterThan(0);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
