// Noise §5.1 CipherState and §5.2 SymmetricState.
import type { AeadFunction, CipherName, HashFunction } from './crypto/provider.ts';
import { HandshakeError } from './errors.ts';

/** Noise's largest message (§3). */
export const MAX_MESSAGE_BYTES = 65535;
/** AEAD tag length (§5). */
export const TAG_BYTES = 16;
/**
 * Nonces are counted in a JavaScript number, so this implementation stops at 2^53 - 1 rather than
 * Noise's 2^64 - 1 (§5.1 allows signalling exhaustion earlier; at 10^7 messages/s it is 28 years).
 */
export const MAX_NONCE: number = Number.MAX_SAFE_INTEGER;

const EMPTY = new Uint8Array(0);
const ZEROS32 = new Uint8Array(32);

/** A transport cipher: one direction of a session after `split()`. */
export interface CipherState {
  /** ENCRYPT with the next nonce; throws NONCE_EXHAUSTED when nonces run out. */
  encrypt(plaintext: Uint8Array, ad?: Uint8Array): Uint8Array;
  /** DECRYPT with the next nonce; throws DECRYPT_FAILED (nonce not advanced) on a bad tag. */
  decrypt(ciphertext: Uint8Array, ad?: Uint8Array): Uint8Array;
  /** Noise §11.3 Rekey(): k = REKEY(k). The nonce is unchanged. */
  rekey(): void;
  /** The nonce the next encrypt/decrypt will use. */
  readonly nonce: number;
  /** Noise §5.1 SetNonce(): for out-of-order transports; ordinary sessions never call it. */
  setNonce(nonce: number): void;
}

export class NoiseCipherState implements CipherState {
  #key: Uint8Array | null = null;
  #n = 0;
  readonly #aead: AeadFunction;
  readonly #nonce = new Uint8Array(12);
  readonly #littleEndian: boolean;

  constructor(aead: AeadFunction, key: Uint8Array | null = null) {
    this.#aead = aead;
    // ChaChaPoly: 32 zero bits + 64-bit little-endian counter; AESGCM: big-endian (Noise §12.3/12.4).
    this.#littleEndian = (aead.name as CipherName) === 'ChaChaPoly';
    this.#key = key;
  }

  get hasKey(): boolean {
    return this.#key !== null;
  }

  get nonce(): number {
    return this.#n;
  }

  initializeKey(key: Uint8Array | null): void {
    this.#key = key;
    this.#n = 0;
  }

  setNonce(nonce: number): void {
    if (!Number.isSafeInteger(nonce) || nonce < 0) throw new HandshakeError('INVALID_CONFIG', `nonce must be a safe non-negative integer, got ${nonce}`);
    this.#n = nonce;
  }

  #nonceBytes(n: number): Uint8Array {
    const b = this.#nonce;
    const lo = n >>> 0;
    const hi = Math.floor(n / 0x1_0000_0000) >>> 0;
    if (this.#littleEndian) {
      b[4] = lo; b[5] = lo >>> 8; b[6] = lo >>> 16; b[7] = lo >>> 24;
      b[8] = hi; b[9] = hi >>> 8; b[10] = hi >>> 16; b[11] = hi >>> 24;
    } else {
      b[4] = hi >>> 24; b[5] = hi >>> 16; b[6] = hi >>> 8; b[7] = hi;
      b[8] = lo >>> 24; b[9] = lo >>> 16; b[10] = lo >>> 8; b[11] = lo;
    }
    return b;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array, headroom = 0): Uint8Array {
    if (this.#key === null) return plaintext;
    if (this.#n >= MAX_NONCE) throw new HandshakeError('NONCE_EXHAUSTED', 'cipher state used every nonce; start a new session');
    const out = this.#aead.encrypt(this.#key, this.#nonceBytes(this.#n), ad, plaintext, headroom);
    this.#n++;
    return out;
  }

  /** A transport message as [ciphertext, tag] (no copy joins them), for large session chunks. */
  encryptDetached(plaintext: Uint8Array): [Uint8Array, Uint8Array] {
    if (plaintext.length > MAX_MESSAGE_BYTES - TAG_BYTES) {
      throw new HandshakeError('BAD_MESSAGE_LENGTH', `plaintext of ${plaintext.length} bytes exceeds ${MAX_MESSAGE_BYTES - TAG_BYTES} (Noise's 65535-byte message limit)`);
    }
    if (this.#key === null) throw new HandshakeError('UNEXPECTED_MESSAGE', 'cipher state has no key');
    if (this.#n >= MAX_NONCE) throw new HandshakeError('NONCE_EXHAUSTED', 'cipher state used every nonce; start a new session');
    const { ciphertext, tag } = this.#aead.encryptDetached(this.#key, this.#nonceBytes(this.#n), EMPTY, plaintext);
    this.#n++;
    return [ciphertext, tag];
  }

  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#key === null) return ciphertext;
    if (this.#n >= MAX_NONCE) throw new HandshakeError('NONCE_EXHAUSTED', 'cipher state used every nonce; start a new session');
    if (ciphertext.length < TAG_BYTES) {
      throw new HandshakeError('BAD_MESSAGE_LENGTH', `ciphertext of ${ciphertext.length} bytes is shorter than its ${TAG_BYTES}-byte tag`);
    }
    const out = this.#aead.decrypt(this.#key, this.#nonceBytes(this.#n), ad, ciphertext);
    if (out === null) throw new HandshakeError('DECRYPT_FAILED', 'authentication tag did not verify');
    this.#n++;
    return out;
  }

  encrypt(plaintext: Uint8Array, ad: Uint8Array = EMPTY): Uint8Array {
    return this.encryptFramed(plaintext, ad, 0);
  }

  /** encrypt(), with `headroom` spare bytes before the ciphertext for a frame header. */
  encryptFramed(plaintext: Uint8Array, ad: Uint8Array, headroom: number): Uint8Array {
    if (plaintext.length > MAX_MESSAGE_BYTES - TAG_BYTES) {
      throw new HandshakeError('BAD_MESSAGE_LENGTH', `plaintext of ${plaintext.length} bytes exceeds ${MAX_MESSAGE_BYTES - TAG_BYTES} (Noise's 65535-byte message limit)`);
    }
    if (this.#key === null) throw new HandshakeError('UNEXPECTED_MESSAGE', 'cipher state has no key');
    return this.encryptWithAd(ad, plaintext, headroom);
  }

  decrypt(ciphertext: Uint8Array, ad: Uint8Array = EMPTY): Uint8Array {
    if (ciphertext.length > MAX_MESSAGE_BYTES) {
      throw new HandshakeError('BAD_MESSAGE_LENGTH', `message of ${ciphertext.length} bytes exceeds Noise's ${MAX_MESSAGE_BYTES}`);
    }
    if (this.#key === null) throw new HandshakeError('UNEXPECTED_MESSAGE', 'cipher state has no key');
    return this.decryptWithAd(ad, ciphertext);
  }

  /** decrypt() of a message given in consecutive parts (as a stream delivered it): the plaintext in parts. */
  decryptParts(parts: readonly Uint8Array[]): Uint8Array[] {
    if (parts.length === 1) return [this.decrypt(parts[0]!)];
    let total = 0;
    for (const p of parts) total += p.length;
    if (total > MAX_MESSAGE_BYTES) {
      throw new HandshakeError('BAD_MESSAGE_LENGTH', `message of ${total} bytes exceeds Noise's ${MAX_MESSAGE_BYTES}`);
    }
    if (this.#key === null) throw new HandshakeError('UNEXPECTED_MESSAGE', 'cipher state has no key');
    if (!this.#aead.decryptParts) return [this.decrypt(joinParts(parts, total))];
    if (this.#n >= MAX_NONCE) throw new HandshakeError('NONCE_EXHAUSTED', 'cipher state used every nonce; start a new session');
    if (total < TAG_BYTES) throw new HandshakeError('BAD_MESSAGE_LENGTH', `ciphertext of ${total} bytes is shorter than its ${TAG_BYTES}-byte tag`);
    const out = this.#aead.decryptParts(this.#key, this.#nonceBytes(this.#n), EMPTY, parts);
    if (out === null) throw new HandshakeError('DECRYPT_FAILED', 'authentication tag did not verify');
    this.#n++;
    return out;
  }

  rekey(): void {
    if (this.#key === null) throw new HandshakeError('UNEXPECTED_MESSAGE', 'cipher state has no key');
    // REKEY(k) = first 32 bytes of ENCRYPT(k, maxnonce = 2^64 - 1, zerolen, zeros) (Noise §4.2).
    const nonce = new Uint8Array(12).fill(0xff, 4);
    this.#key = this.#aead.encrypt(this.#key, nonce, EMPTY, ZEROS32).subarray(0, 32);
  }

  /** For the keyring retry: the state to restore when a candidate pre-shared key fails. */
  snapshot(): { key: Uint8Array | null; n: number } {
    return { key: this.#key, n: this.#n };
  }

  restore(s: { key: Uint8Array | null; n: number }): void {
    this.#key = s.key;
    this.#n = s.n;
  }
}

/** `parts` (`total` bytes in all) joined into one new array. */
export function joinParts(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class SymmetricState {
  ck: Uint8Array;
  h: Uint8Array;
  readonly cipher: NoiseCipherState;
  readonly #hash: HashFunction;
  readonly #aead: AeadFunction;

  constructor(protocolName: string, hash: HashFunction, aead: AeadFunction) {
    this.#hash = hash;
    this.#aead = aead;
    const name = new TextEncoder().encode(protocolName);
    // Noise §5.2 InitializeSymmetric: the name zero-padded to HASHLEN, or hashed if longer.
    if (name.length <= hash.hashLen) {
      this.h = new Uint8Array(hash.hashLen);
      this.h.set(name);
    } else {
      this.h = hash.hash(name);
    }
    this.ck = this.h;
    this.cipher = new NoiseCipherState(aead);
  }

  /** Noise §4.3 HKDF with HMAC-HASH: 2 or 3 outputs of HASHLEN bytes. */
  hkdf(ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
    const tempKey = this.#hash.hmac(this.ck, ikm);
    const o1 = this.#hash.hmac(tempKey, ONE);
    const o2 = this.#hash.hmac(tempKey, o1, TWO);
    return outputs === 2 ? [o1, o2] : [o1, o2, this.#hash.hmac(tempKey, o2, THREE)];
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = this.hkdf(ikm, 2) as [Uint8Array, Uint8Array];
    this.ck = ck;
    this.cipher.initializeKey(k.subarray(0, 32));
  }

  mixHash(data: Uint8Array): void {
    this.h = this.#hash.hash(this.h, data);
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, th, k] = this.hkdf(ikm, 3) as [Uint8Array, Uint8Array, Uint8Array];
    this.ck = ck;
    this.mixHash(th);
    this.cipher.initializeKey(k.subarray(0, 32));
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const c = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(c);
    return c;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const p = this.cipher.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return p;
  }

  /** Noise §5.2 Split: (initiator → responder, responder → initiator). */
  split(): [NoiseCipherState, NoiseCipherState] {
    const [k1, k2] = this.hkdf(EMPTY, 2) as [Uint8Array, Uint8Array];
    return [new NoiseCipherState(this.#aead, k1.subarray(0, 32)), new NoiseCipherState(this.#aead, k2.subarray(0, 32))];
  }
}

const ONE = new Uint8Array([1]);
const TWO = new Uint8Array([2]);
const THREE = new Uint8Array([3]);
