// The native provider: node:crypto (OpenSSL on Node; Deno 2 implements the same module). The only
// core file allowed to import node:crypto (tooling/scripts/check-sans-io.mjs).
import * as nodeCrypto from 'node:crypto';
import {
  createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman,
  randomFillSync, type KeyObject,
} from 'node:crypto';
import { encodeBase64 } from '../base64.ts';
import type {
  AeadFunction, CipherName, CryptoProvider, DhFunction, DhName, HashFunction, HashName, KeyPair,
} from './provider.ts';

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
/** Node returns Buffers, some of them views into a shared pool; callers get plain Uint8Arrays. */
const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

// DER prefixes of PKCS#8 private keys for the RFC 8410 algorithms (id-X25519 = 1.3.101.110,
// id-X448 = 1.3.101.111): the raw key bytes follow the prefix.
const DER = {
  '25519': { pkcs8: fromHex('302e020100300506032b656e04220420'), len: 32 },
  '448': { pkcs8: fromHex('3046020100300506032b656f043a0438'), len: 56 },
} as const;

// node:crypto takes any Uint8Array at run time, but @types/node (which Deno type-checks against)
// narrows DER input to Buffer, and the cores are compiled without Buffer.
const importPrivate = createPrivateKey as unknown as (input: { key: Uint8Array; format: 'der'; type: 'pkcs8' }) => KeyObject;

// The AEAD methods exist on what createCipheriv returns for GCM and ChaCha20-Poly1305; @types/node
// only exposes them through per-algorithm overloads that a `string` algorithm cannot select.
interface AeadCipher {
  setAAD(ad: Uint8Array): unknown;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
  getAuthTag(): Uint8Array;
}
interface AeadDecipher {
  setAAD(ad: Uint8Array): unknown;
  setAuthTag(tag: Uint8Array): unknown;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}
const aeadCipher = createCipheriv as unknown as (algorithm: string, key: Uint8Array, iv: Uint8Array) => AeadCipher;
const aeadDecipher = createDecipheriv as unknown as (algorithm: string, key: Uint8Array, iv: Uint8Array) => AeadDecipher;

function withPrefix(prefix: Uint8Array, raw: Uint8Array): Uint8Array {
  const der = new Uint8Array(prefix.length + raw.length);
  der.set(prefix);
  der.set(raw, prefix.length);
  return der;
}

// Raw keys travel as JWK (RFC 8037 OKP): OpenSSL 3 imports a JWK public key about 30x faster than
// the same key wrapped in DER (its DER decoders are slow; measured 64k/s vs 2k/s).
const toBase64url = (b: Uint8Array): string => encodeBase64(b, false).replace(/\+/g, '-').replace(/\//g, '_');

// The base point of each curve (RFC 7748 §4.1, §4.2: u = 9 and u = 5): X25519(k, base) is k's
// public key. Public keys are computed this way, with a DH, because exporting a freshly generated
// KeyObject can deadlock Node 20 (generateKeyPairSync followed by .export() hangs for good when a GC
// runs between them; a tight loop of the two hangs within a few thousand iterations).
const BASE_U = { '25519': 9, '448': 5 } as const;

function nativeDh(name: DhName): DhFunction {
  const spec = DER[name];
  const crv = name === '25519' ? 'X25519' : 'X448';
  // KeyObjects are costly to build; a key pair or a received public key is often used for more than
  // one DH (XX uses the remote ephemeral twice), so they are cached per byte array.
  const privates = new WeakMap<Uint8Array, KeyObject>();
  const publics = new WeakMap<Uint8Array, KeyObject>();
  const publicObject = (raw: Uint8Array): KeyObject => {
    let key = publics.get(raw);
    if (!key) {
      key = createPublicKey({ key: { kty: 'OKP', crv, x: toBase64url(raw) }, format: 'jwk' });
      publics.set(raw, key);
    }
    return key;
  };
  const base = new Uint8Array(spec.len);
  base[0] = BASE_U[name];
  const baseObject = publicObject(base);
  // A raw private key imports as a JWK about 5x faster than as PKCS#8 DER. Node's JWK reader
  // insists on an `x` member but builds a private key from `d` alone (OpenSSL derives the public
  // half; checked on Node 20 and Deno 2), so any well-formed `x` will do; if a runtime ever checks
  // it, the probe below fails and the DER path is used instead.
  const placeholderX = toBase64url(base);
  const importJwk = (raw: Uint8Array): KeyObject =>
    createPrivateKey({ key: { kty: 'OKP', crv, d: toBase64url(raw), x: placeholderX }, format: 'jwk' });
  const importDer = (raw: Uint8Array): KeyObject =>
    importPrivate({ key: withPrefix(spec.pkcs8, raw), format: 'der', type: 'pkcs8' });
  let importRaw = importJwk;
  try {
    const probeKey = new Uint8Array(spec.len).fill(3);
    const viaJwk = diffieHellman({ privateKey: importJwk(probeKey), publicKey: baseObject });
    const viaDer = diffieHellman({ privateKey: importDer(probeKey), publicKey: baseObject });
    if (!equalBytes(viaJwk, viaDer)) importRaw = importDer;
  } catch {
    importRaw = importDer;
  }
  const privateObject = (raw: Uint8Array): KeyObject => {
    let key = privates.get(raw);
    if (!key) {
      key = importRaw(raw);
      privates.set(raw, key);
    }
    return key;
  };
  const keyPairFromPrivate = (privateKey: Uint8Array): KeyPair => {
    if (privateKey.length !== spec.len) throw new RangeError(`private key must be ${spec.len} bytes`);
    const publicKey = plain(diffieHellman({ privateKey: privateObject(privateKey), publicKey: baseObject }));
    return { publicKey, privateKey };
  };
  return {
    name,
    dhLen: spec.len,
    // OpenSSL's CSPRNG, the same source as randomBytes below; no KeyObject is ever exported.
    generateKeyPair: () => keyPairFromPrivate(randomFillSync(new Uint8Array(spec.len))),
    keyPairFromPrivate,
    dh: (keyPair, publicKey) => {
      if (publicKey.length !== spec.len) throw new RangeError(`public key must be ${spec.len} bytes`);
      return plain(diffieHellman({ privateKey: privateObject(keyPair.privateKey), publicKey: publicObject(publicKey) }));
    },
  };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const EMPTY = new Uint8Array(0);

function nativeAead(name: CipherName, algorithm: string): AeadFunction {
  return {
    name,
    encrypt(key, nonce, ad, plaintext, headroom = 0) {
      const c = aeadCipher(algorithm, key, nonce);
      if (ad.length) c.setAAD(ad);
      const out = new Uint8Array(headroom + plaintext.length + 16);
      let at = headroom;
      if (plaintext.length) {
        const body = c.update(plaintext);
        out.set(body, at);
        at += body.length;
      }
      const rest = c.final();
      out.set(rest, at);
      out.set(c.getAuthTag(), headroom + plaintext.length);
      return out;
    },
    encryptDetached(key, nonce, ad, plaintext) {
      const c = aeadCipher(algorithm, key, nonce);
      if (ad.length) c.setAAD(ad);
      let ciphertext = plaintext.length ? c.update(plaintext) : EMPTY;
      const rest = c.final(); // empty for these stream-mode AEADs; kept for correctness
      if (rest.length) {
        const joined = new Uint8Array(ciphertext.length + rest.length);
        joined.set(ciphertext);
        joined.set(rest, ciphertext.length);
        ciphertext = joined;
      }
      return { ciphertext: plain(ciphertext), tag: plain(c.getAuthTag()) };
    },
    decrypt(key, nonce, ad, ciphertext) {
      if (ciphertext.length < 16) return null;
      const d = aeadDecipher(algorithm, key, nonce);
      const bodyLength = ciphertext.length - 16;
      d.setAuthTag(ciphertext.subarray(bodyLength));
      if (ad.length) d.setAAD(ad);
      const body = bodyLength ? d.update(ciphertext.subarray(0, bodyLength)) : EMPTY;
      try {
        d.final();
      } catch {
        return null;
      }
      return plain(body);
    },
  };
}

// The one-shot digest (Node >= 20.12, Deno 2): one call into OpenSSL, no Hash object and no
// stream machinery, which is most of the cost of hashing a short message with createHash/createHmac.
type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array;
const oneShot = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

function nativeHash(name: HashName, algorithm: string, hashLen: number, blockLen: number): HashFunction {
  return {
    name,
    hashLen,
    hash(...parts) {
      const h = createHash(algorithm);
      for (const p of parts) h.update(p);
      return plain(h.digest());
    },
    hmac(key, ...parts) {
      const h = createHmac(algorithm, key);
      for (const p of parts) h.update(p);
      return plain(h.digest());
    },
    keyedHmac(key) {
      if (!oneShot) return (data) => plain(createHmac(algorithm, key).update(data).digest());
      // RFC 2104 on the one-shot hash: H((K ^ opad) || H((K ^ ipad) || m)), both padded keys
      // built once. Two calls into OpenSSL a message instead of an Hmac object each: about 20%
      // less time for a heartbeat, and far less garbage.
      const k = key.length > blockLen ? oneShot(algorithm, key, 'buffer') : key;
      let inner = new Uint8Array(blockLen + 256);
      const outer = new Uint8Array(blockLen + hashLen);
      for (let i = 0; i < blockLen; i++) {
        inner[i] = (k[i] ?? 0) ^ 0x36;
        outer[i] = (k[i] ?? 0) ^ 0x5c;
      }
      return (data) => {
        if (blockLen + data.length > inner.length) {
          const grown = new Uint8Array(blockLen + data.length);
          grown.set(inner.subarray(0, blockLen));
          inner = grown;
        }
        inner.set(data, blockLen);
        outer.set(oneShot(algorithm, inner.subarray(0, blockLen + data.length), 'buffer'), blockLen);
        return plain(oneShot(algorithm, outer, 'buffer'));
      };
    },
  };
}

/** Builds a function only if this runtime's node:crypto really has it (Deno's may lack some). */
function probe<T>(build: () => T, works: (f: T) => unknown): T | undefined {
  try {
    const f = build();
    works(f);
    return f;
  } catch {
    return undefined;
  }
}

const ONE = new Uint8Array([1]);
const KEY = new Uint8Array(32).fill(7);
const NONCE = new Uint8Array(12);

function createNativeProvider(): CryptoProvider {
  const dhs = new Map<DhName, DhFunction | undefined>();
  const ciphers = new Map<CipherName, AeadFunction | undefined>();
  const hashes = new Map<HashName, HashFunction | undefined>();
  const lazy = <K, V>(cache: Map<K, V | undefined>, key: K, make: () => V | undefined): V | undefined => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key);
  };
  return {
    name: 'native',
    dh: (name) =>
      lazy(dhs, name, () =>
        name in DER ? probe(() => nativeDh(name), (f) => f.dh(f.generateKeyPair(), f.generateKeyPair().publicKey)) : undefined),
    cipher: (name) =>
      lazy(ciphers, name, () => {
        const algorithm = name === 'ChaChaPoly' ? 'chacha20-poly1305' : name === 'AESGCM' ? 'aes-256-gcm' : undefined;
        if (!algorithm) return undefined;
        return probe(() => nativeAead(name, algorithm), (f) => {
          if (!f.decrypt(KEY, NONCE, ONE, f.encrypt(KEY, NONCE, ONE, ONE))) throw new Error('round trip failed');
        });
      }),
    hash: (name) =>
      lazy(hashes, name, () => {
        // Name, digest length and block length (HMAC's B: FIPS 180-4 for SHA-2, RFC 7693 for BLAKE2).
        const spec = ({ SHA256: ['sha256', 32, 64], SHA512: ['sha512', 64, 128], BLAKE2b: ['blake2b512', 64, 128], BLAKE2s: ['blake2s256', 32, 64] } as const)[name];
        if (!spec) return undefined;
        return probe(() => nativeHash(name, spec[0], spec[1], spec[2]), (f) => {
          if (f.hash(ONE).length !== spec[1] || f.hmac(KEY, ONE).length !== spec[1]) throw new Error('wrong length');
          if (!equalBytes(f.keyedHmac!(KEY)(ONE), f.hmac(KEY, ONE))) throw new Error('keyed HMAC differs');
        });
      }),
    randomBytes: (n) => randomFillSync(new Uint8Array(n)),
  };
}

/** node:crypto behind the provider seam. Functions the runtime lacks are reported as unsupported. */
export const nativeProvider: CryptoProvider = createNativeProvider();
