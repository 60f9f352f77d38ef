import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeProvider, nobleProvider, type HashName } from './index.ts';
import { hex, seeded, unhex } from './bytes.test-support.ts';

const text = (s: string) => new TextEncoder().encode(s);
const HASHES: HashName[] = ['SHA256', 'SHA512', 'BLAKE2b', 'BLAKE2s'];

// RFC 4231 §4.3 (test case 2: a key shorter than the block) and §4.7 (test case 6: a key longer
// than the block, hashed first).
const RFC4231 = [
  {
    key: text('Jefe'),
    data: text('what do ya want for nothing?'),
    SHA256: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    SHA512: '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  },
  {
    key: new Uint8Array(131).fill(0xaa),
    data: text('Test Using Larger Than Block-Size Key - Hash Key First'),
    SHA256: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    SHA512: '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
  },
] as const;

describe('keyedHmac (the same MAC as hmac, the key prepared once)', () => {
  for (const provider of [nativeProvider, nobleProvider]) {
    it(`${provider.name}: RFC 4231 vectors for SHA-256 and SHA-512`, () => {
      for (const v of RFC4231) {
        expect(hex(provider.hash('SHA256')!.keyedHmac!(v.key)(v.data))).toBe(v.SHA256);
        expect(hex(provider.hash('SHA512')!.keyedHmac!(v.key)(v.data))).toBe(v.SHA512);
      }
    });

    it(`${provider.name}: equals hmac(key, data) for every hash, key and message length, message after message`, () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...HASHES),
          fc.uint8Array({ minLength: 0, maxLength: 200 }),
          fc.array(fc.uint8Array({ minLength: 0, maxLength: 5000 }), { minLength: 1, maxLength: 4 }), // past 4096: the streamed path
          (name, key, messages) => {
            const h = provider.hash(name)!;
            const mac = h.keyedHmac!(key);
            for (const m of messages) expect(hex(mac(m))).toBe(hex(h.hmac(key, m)));
          },
        ),
        seeded(`keyedHmac ${provider.name}`, 150),
      );
    });
  }

  it('native hmac(key, ...parts) equals noble\'s (an independent implementation) and the RFC 4231 vectors', () => {
    for (const v of RFC4231) {
      expect(hex(nativeProvider.hash('SHA256')!.hmac(v.key, v.data))).toBe(v.SHA256);
      expect(hex(nativeProvider.hash('SHA512')!.hmac(v.key, v.data.subarray(0, 5), v.data.subarray(5)))).toBe(v.SHA512);
    }
    fc.assert(
      fc.property(
        fc.constantFrom(...HASHES),
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 3000 }), { minLength: 0, maxLength: 4 }),
        (name, key, parts) => {
          expect(hex(nativeProvider.hash(name)!.hmac(key, ...parts))).toBe(hex(nobleProvider.hash(name)!.hmac(key, ...parts)));
        },
      ),
      seeded('hmac native vs noble', 200),
    );
  });

  it('a result is the caller\'s own: the next message does not overwrite it', () => {
    const mac = nativeProvider.hash('SHA256')!.keyedHmac!(unhex('00'.repeat(32)));
    const first = mac(text('one'));
    const copy = hex(first);
    mac(text('two'));
    expect(hex(first)).toBe(copy);
  });
});
