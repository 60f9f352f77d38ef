import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { seeded } from './bytes.test-support.ts';

// Node's Buffer is the oracle: an independent base64 (RFC 4648 §4) implementation.
describe('base64', () => {
  it('encodes as Buffer does, padded and unpadded, and decodes back (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 67 }), (bytes) => {
        const expected = Buffer.from(bytes).toString('base64');
        expect(encodeBase64(bytes)).toBe(expected);
        expect(encodeBase64(bytes, false)).toBe(expected.replace(/=+$/, ''));
        expect(decodeBase64(expected)).toEqual(bytes);
      }),
      seeded('base64', 2000),
    );
  });
});
