// The native provider: node:crypto (OpenSSL on Node; Deno 2 implements the same module). The only
// core file allowed to import node:crypto (tooling/scripts/check-sans-io.mjs).
import * as nodeCrypto from 'node:crypto';
import {
  createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman,
  randomFillSync, type KeyObject,
} from 'node:crypto';
import { decodeBase64 } from '../base64.ts';
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
const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** RFC 4648 §5 without padding, as JWK members are written (one per key import: kept tight). */
function toBase64url(b: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += URL_ALPHABET[n >>> 18]! + URL_ALPHABET[(n >>> 12) & 63]! + URL_ALPHABET[(n >>> 6) & 63]! + URL_ALPHABET[n & 63]!;
  }
  const rest = b.length - i;
  if (rest > 0) {
    const n = (b[i]! << 16) | ((rest > 1 ? b[i + 1]! : 0) << 8);
    out += URL_ALPHABET[n >>> 18]! + URL_ALPHABET[(n >>> 12) & 63]! + (rest > 1 ? URL_ALPHABET[(n >>> 6) & 63]! : '');
  }
  return out;
}

/**
 * Small random draws (ephemeral keys, nonces) come from a pool refilled 4 KiB at a time: one
 * randomFillSync call costs several microseconds whatever its size. Each draw is a copy, so no
 * caller shares (or keeps alive) the pool's memory, and no byte is handed out twice.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let poolAt = 0;
function secureRandom(n: number): Uint8Array {
  if (n > 256) return randomFillSync(new Uint8Array(n));
  if (poolAt + n > pool.length) {
    pool = randomFillSync(new Uint8Array(POOL_BYTES));
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + n);
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

// The base point of each curve (RFC 7748 §4.1, §4.2: u = 9 and u = 5): X25519(k, base) is k's
// public key. A freshly *generated* KeyObject is never exported: generateKeyPairSync followed by
// .export() can deadlock Node 20 for good when a GC runs between them (a tight loop of the two hangs
// within a few thousand iterations). Private keys are drawn as random bytes and imported instead.
const BASE_U = { '25519': 9, '448': 5 } as const;

/** Public keys seen recently, by their base64url text: peers' static keys come back on every link. */
const PUBLIC_CACHE_SIZE = 64;

function nativeDh(name: DhName): DhFunction {
  const spec = DER[name];
  const crv = name === '25519' ? 'X25519' : 'X448';
  // KeyObjects are costly to build; a key pair or a received public key is often used for more than
  // one DH (XX uses the remote ephemeral twice), so they are cached per byte array, and public keys
  // also by value (a peer's static key arrives in a new array on every handshake).
  const privates = new WeakMap<Uint8Array, KeyObject>();
  const publics = new WeakMap<Uint8Array, KeyObject>();
  const recent = new Map<string, KeyObject>();
  const publicObject = (raw: Uint8Array): KeyObject => {
    let key = publics.get(raw);
    if (key) return key;
    const x = toBase64url(raw);
    key = recent.get(x);
    if (key) {
      recent.delete(x); // most recently used last
    } else {
      key = createPublicKey({ key: { kty: 'OKP', crv, x }, format: 'jwk' });
      if (recent.size >= PUBLIC_CACHE_SIZE) recent.delete(recent.keys().next().value!);
    }
    recent.set(x, key);
    publics.set(raw, key);
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
  // OpenSSL derives the public key when it imports a private one (a scalar multiplication), so
  // reading it back from the imported key saves the second one a DH with the base point costs
  // (measured: 1 µs against 35 µs for X25519). Only imported keys are exported, never generated
  // ones (see above); keygen-liveness.node.test.ts runs this path under constant GC pressure.
  const viaExport = (key: KeyObject): Uint8Array | null => {
    const x = (key as unknown as { export(o: { format: 'jwk' }): { x?: string } }).export({ format: 'jwk' }).x;
    return typeof x === 'string' ? fromBase64url(x) : null;
  };
  const viaBase = (key: KeyObject): Uint8Array => plain(diffieHellman({ privateKey: key, publicKey: baseObject }));
  let importRaw = importJwk;
  let publicOf: (key: KeyObject) => Uint8Array | null = viaExport;
  try {
    const probeKey = new Uint8Array(spec.len).fill(3);
    const expected = viaBase(importDer(probeKey));
    if (!equalBytes(viaBase(importJwk(probeKey)), expected)) importRaw = importDer;
    const exported = viaExport(importRaw(probeKey));
    if (!exported || !equalBytes(exported, expected)) publicOf = viaBase;
  } catch {
    importRaw = importDer;
    publicOf = viaBase;
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
    const key = privateObject(privateKey);
    const publicKey = publicOf(key) ?? viaBase(key);
    return { publicKey, privateKey };
  };
  return {
    name,
    dhLen: spec.len,
    // OpenSSL's CSPRNG, the same source as randomBytes below; no generated KeyObject is exported.
    generateKeyPair: () => keyPairFromPrivate(secureRandom(spec.len)),
    keyPairFromPrivate,
    dh: (keyPair, publicKey) => {
      if (publicKey.length !== spec.len) throw new RangeError(`public key must be ${spec.len} bytes`);
      return plain(diffieHellman({ privateKey: privateObject(keyPair.privateKey), publicKey: publicObject(publicKey) }));
    },
  };
}

/** RFC 4648 §5 text (as a JWK carries keys) to bytes; null when it is not canonical. */
function fromBase64url(text: string): Uint8Array | null {
  const std = text.replace(/-/g, '+').replace(/_/g, '/');
  return decodeBase64(std.padEnd(Math.ceil(std.length / 4) * 4, '='));
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
    decryptParts(key, nonce, ad, parts) {
      let total = 0;
      for (const p of parts) total += p.length;
      if (total < 16) return null;
      const bodyLength = total - 16;
      const d = aeadDecipher(algorithm, key, nonce);
      d.setAuthTag(lastBytes(parts, 16));
      if (ad.length) d.setAAD(ad);
      const out: Uint8Array[] = [];
      let left = bodyLength;
      for (const p of parts) {
        if (left === 0) break;
        const n = Math.min(p.length, left);
        if (n > 0) out.push(plain(d.update(n === p.length ? p : p.subarray(0, n))));
        left -= n;
      }
      try {
        d.final();
      } catch {
        return null;
      }
      return out;
    },
  };
}

/** The last `n` bytes of consecutive parts: a view when they lie in the last part, else a copy. */
function lastBytes(parts: readonly Uint8Array[], n: number): Uint8Array {
  const last = parts[parts.length - 1]!;
  if (last.length >= n) return last.subarray(last.length - n);
  const out = new Uint8Array(n);
  let at = n;
  for (let i = parts.length - 1; i >= 0 && at > 0; i--) {
    const p = parts[i]!;
    const k = Math.min(at, p.length);
    out.set(p.subarray(p.length - k), at - k);
    at -= k;
  }
  return out;
}

/** node:crypto's one-shot digest (Node >= 20.12; absent on older runtimes): no Hash object per call. */
const oneShot = (nodeCrypto as unknown as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array }).hash;

/** Whether the one-shot digest exists here and agrees with the streaming one (Deno's may differ). */
function oneShotWorks(algorithm: string, streaming: (parts: readonly Uint8Array[]) => Uint8Array): boolean {
  try {
    const got = oneShot!(algorithm, KEY, 'buffer');
    return got instanceof Uint8Array && equalBytes(got, streaming([KEY]));
  } catch {
    return false;
  }
}

function nativeHash(name: HashName, algorithm: string, hashLen: number, blockLen: number): HashFunction {
  const streaming = (parts: readonly Uint8Array[]): Uint8Array => {
    const h = createHash(algorithm);
    for (const p of parts) h.update(p);
    return plain(h.digest());
  };
  // Noise hashes short inputs (h || data, a few dozen bytes): joining them and hashing once costs
  // less than building a Hash object (0.8 µs against 1.3 µs for SHA-256).
  const fast = oneShot !== undefined && oneShotWorks(algorithm, streaming);
  const hash = fast
    ? (...parts: Uint8Array[]): Uint8Array => {
      if (parts.length === 1) return plain(oneShot(algorithm, parts[0]!, 'buffer'));
      let length = 0;
      for (const p of parts) length += p.length;
      if (length > 4096) return streaming(parts);
      const joined = new Uint8Array(length);
      let at = 0;
      for (const p of parts) {
        joined.set(p, at);
        at += p.length;
      }
      return plain(oneShot(algorithm, joined, 'buffer'));
    }
    : (...parts: Uint8Array[]): Uint8Array => streaming(parts);
  return {
    name,
    hashLen,
    hash,
    hmac(key, ...parts) {
      const h = createHmac(algorithm, key);
      for (const p of parts) h.update(p);
      return plain(h.digest());
    },
    keyedHmac(key) {
      if (!fast) return (data) => plain(createHmac(algorithm, key).update(data).digest());
      const once = oneShot!;
      // RFC 2104 on the one-shot hash: H((K ^ opad) || H((K ^ ipad) || m)), both padded keys
      // built once. Two calls into OpenSSL a message instead of an Hmac object each. The digests
      // come back as latin1 strings, one char a byte: a 'buffer' digest is a Buffer with its own
      // ArrayBuffer, and at thousands of heartbeats a second those ArrayBuffers (two a MAC) cost
      // more than the hashing (measured: 2.6 µs a MAC with Buffers, 1.0 µs with strings).
      const text = latinOneShot;
      const k = key.length > blockLen ? once(algorithm, key, 'buffer') : key;
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
        if (text) {
          const h = text(algorithm, inner.subarray(0, blockLen + data.length));
          for (let i = 0; i < hashLen; i++) outer[blockLen + i] = h.charCodeAt(i);
          const t = text(algorithm, outer);
          const out = new Uint8Array(hashLen);
          for (let i = 0; i < hashLen; i++) out[i] = t.charCodeAt(i);
          return out;
        }
        outer.set(once(algorithm, inner.subarray(0, blockLen + data.length), 'buffer'), blockLen);
        return plain(once(algorithm, outer, 'buffer'));
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

/**
 * The one-shot digest as a latin1 string (one char a byte), when this runtime gives one that
 * agrees with the 'buffer' digest; undefined otherwise.
 */
const latinOneShot = ((): ((algorithm: string, data: Uint8Array) => string) | undefined => {
  if (oneShot === undefined) return undefined;
  const f = (algorithm: string, data: Uint8Array): string => (oneShot as unknown as (a: string, d: Uint8Array, e: 'latin1') => string)(algorithm, data, 'latin1');
  try {
    const s = f('sha256', KEY);
    const b = oneShot('sha256', KEY, 'buffer');
    if (typeof s !== 'string' || s.length !== b.length) return undefined;
    for (let i = 0; i < b.length; i++) if (s.charCodeAt(i) !== b[i]) return undefined;
    return f;
  } catch {
    return undefined;
  }
})();
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
    randomBytes: (n) => secureRandom(n),
  };
}

/** node:crypto behind the provider seam. Functions the runtime lacks are reported as unsupported. */
export const nativeProvider: CryptoProvider = createNativeProvider();
