import { describe, expect, it } from 'vitest';
import { Buffer } from 'node:buffer';
import { decodeBase64, encodeBase64 } from './base64.ts';

// Node's Buffer is the oracle: an independent base64 (RFC 4648 §4) implementation.
describe('base64', () => {
  it('encodes as Buffer does, padded and unpadded, for every length up to 67 bytes', () => {
    const seed = Date.now() >>> 0;
    console.log(`base64 property seed ${seed}`);
    let x = seed || 1;
    const next = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let length = 0; length <= 67; length++) {
      for (let round = 0; round < 8; round++) {
        const bytes = Uint8Array.from({ length }, next);
        const expected = Buffer.from(bytes).toString('base64');
        expect(encodeBase64(bytes), `seed ${seed}, length ${length}`).toBe(expected);
        expect(encodeBase64(bytes, false)).toBe(expected.replace(/=+$/, ''));
        expect(decodeBase64(expected)).toEqual(bytes);
      }
    }
  });
});
