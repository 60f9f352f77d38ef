// The pure-JS provider: @noble/curves, @noble/ciphers, @noble/hashes. Works wherever JavaScript
// runs; the fallback when node:crypto is missing or lacks a function.
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { montgomery } from '@noble/curves/abstract/montgomery.js';
import { pow } from '@noble/curves/abstract/modular.js';
import { blake2b } from '@noble/hashes/blake2b.js';
import { blake2s } from '@noble/hashes/blake2s.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type {
  AeadFunction, CipherName, CryptoProvider, DhFunction, DhName, HashFunction, HashName, KeyPair,
} from './provider.ts';

// X448 built from noble's Montgomery-ladder factory with the curve448 constants of RFC 7748 §4.2
// and §5, instead of importing @noble/curves/ed448.js: that module sets up all of Ed448 on import
// (about 130 ms), which every process paid at startup although links use X25519.
const P448 = 2n ** 448n - 2n ** 224n - 1n;
const x448 = montgomery({
  P: P448,
  type: 'x448',
  powPminus2: (x: bigint) => pow(x, P448 - 2n, P448),
  adjustScalarBytes: (bytes: Uint8Array) => {
    bytes[0]! &= 252; // RFC 7748 §5 decodeScalar448: clear the two low bits...
    bytes[55]! |= 128; // ...and set the high bit
    return bytes;
  },
});

type Curve = { getPublicKey(priv: Uint8Array): Uint8Array; getSharedSecret(priv: Uint8Array, pub: Uint8Array): Uint8Array };
// deno-lint-ignore no-explicit-any
type NobleHash = any;

function randomBytes(n: number): Uint8Array {
  // Web Crypto's CSPRNG: a global on Node >= 20, Deno and browsers.
  const web = (globalThis as unknown as { crypto: { getRandomValues<T extends Uint8Array>(a: T): T } }).crypto;
  return web.getRandomValues(new Uint8Array(n));
}

function nobleDh(name: DhName, curve: Curve, dhLen: number): DhFunction {
  const keyPairFromPrivate = (privateKey: Uint8Array): KeyPair => {
    if (privateKey.length !== dhLen) throw new RangeError(`private key must be ${dhLen} bytes`);
    return { publicKey: curve.getPublicKey(privateKey), privateKey };
  };
  return {
    name,
    dhLen,
    generateKeyPair: () => keyPairFromPrivate(randomBytes(dhLen)),
    keyPairFromPrivate,
    // noble throws on an all-zero shared secret (a low-order public key).
    dh: (keyPair, publicKey) => curve.getSharedSecret(keyPair.privateKey, publicKey),
  };
}

function nobleAead(
  name: CipherName,
  make: (key: Uint8Array, nonce: Uint8Array, ad?: Uint8Array) => {
    encrypt(p: Uint8Array, output?: Uint8Array): Uint8Array;
    decrypt(c: Uint8Array): Uint8Array;
  },
): AeadFunction {
  return {
    name,
    encrypt(key, nonce, ad, plaintext, headroom = 0) {
      if (!headroom) return make(key, nonce, ad).encrypt(plaintext);
      const out = new Uint8Array(headroom + plaintext.length + 16);
      // noble's GCM takes no output buffer ("cipher output not supported"); ChaCha20-Poly1305 does.
      if (name === 'AESGCM') out.set(make(key, nonce, ad).encrypt(plaintext), headroom);
      else make(key, nonce, ad).encrypt(plaintext, out.subarray(headroom));
      return out;
    },
    encryptDetached(key, nonce, ad, plaintext) {
      const sealed = make(key, nonce, ad).encrypt(plaintext);
      return { ciphertext: sealed.subarray(0, plaintext.length), tag: sealed.subarray(plaintext.length) };
    },
    decrypt(key, nonce, ad, ciphertext) {
      if (ciphertext.length < 16) return null;
      try {
        return make(key, nonce, ad).decrypt(ciphertext);
      } catch {
        return null;
      }
    },
  };
}

function nobleHash(name: HashName, fn: NobleHash, hashLen: number): HashFunction {
  return {
    name,
    hashLen,
    hash(...parts) {
      const h = fn.create();
      for (const p of parts) h.update(p);
      return h.digest();
    },
    hmac(key, ...parts) {
      const h = hmac.create(fn, key);
      for (const p of parts) h.update(p);
      return h.digest();
    },
    keyedHmac(key) {
      // The padded keys hashed once; each message starts from a copy of that state.
      const base = hmac.create(fn, key);
      return (data) => base.clone().update(data).digest();
    },
  };
}

const dhs: Record<DhName, DhFunction> = {
  '25519': nobleDh('25519', x25519, 32),
  '448': nobleDh('448', x448, 56),
};
const ciphers: Record<CipherName, AeadFunction> = {
  ChaChaPoly: nobleAead('ChaChaPoly', chacha20poly1305),
  AESGCM: nobleAead('AESGCM', gcm),
};
const hashes: Record<HashName, HashFunction> = {
  SHA256: nobleHash('SHA256', sha256, 32),
  SHA512: nobleHash('SHA512', sha512, 64),
  BLAKE2b: nobleHash('BLAKE2b', blake2b, 64),
  BLAKE2s: nobleHash('BLAKE2s', blake2s, 32),
};

/** @noble/* behind the provider seam: every Noise function, pure JavaScript. */
export const nobleProvider: CryptoProvider = {
  name: 'noble',
  dh: (name) => dhs[name],
  cipher: (name) => ciphers[name],
  hash: (name) => hashes[name],
  randomBytes,
};
