// The crypto seam: the Noise engine, identities and pairwise keys only ever call these interfaces.
// Two implementations: `native` (node:crypto, on Node and Deno 2) and `noble` (pure JS).

/** Noise DH function names (Noise §12.1, §12.2). */
export type DhName = '25519' | '448';
/** Noise cipher function names (Noise §12.3, §12.4). */
export type CipherName = 'ChaChaPoly' | 'AESGCM';
/** Noise hash function names (Noise §12.5 - §12.8). */
export type HashName = 'SHA256' | 'SHA512' | 'BLAKE2b' | 'BLAKE2s';

/** A DH key pair as raw bytes (32 bytes each for 25519, 56 for 448). */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

export interface DhFunction {
  readonly name: DhName;
  /** DHLEN: bytes of a public key and of a shared secret. */
  readonly dhLen: number;
  /** A fresh key pair from the provider's secure randomness. */
  generateKeyPair(): KeyPair;
  /** The key pair whose private key is `privateKey` (DHLEN bytes). */
  keyPairFromPrivate(privateKey: Uint8Array): KeyPair;
  /**
   * The shared secret. Throws (any error) when the public key yields an all-zero secret, as both
   * node:crypto and noble do for low-order points; callers map that to `INVALID_KEY`.
   */
  dh(keyPair: KeyPair, publicKey: Uint8Array): Uint8Array;
}

/** An AEAD with a 32-byte key, a 12-byte nonce and a 16-byte tag appended to the ciphertext. */
export interface AeadFunction {
  readonly name: CipherName;
  /**
   * Ciphertext with the tag appended. With `headroom`, the result starts with that many spare
   * bytes (zero) before the ciphertext, so a caller can write a frame header there without a copy.
   */
  encrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array, headroom?: number): Uint8Array;
  /**
   * encrypt() with the ciphertext and the tag returned apart, as the implementation produced them:
   * a large payload can then go to the socket without being copied next to its tag. They may be
   * the runtime's own byte arrays (a Node Buffer): they are meant for a stream, not to be kept.
   */
  encryptDetached(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): { ciphertext: Uint8Array; tag: Uint8Array };
  /** The plaintext, or null when the tag does not verify. */
  decrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null;
  /**
   * Optional: decrypt() of a ciphertext (tag last) given in consecutive parts, as they came off a
   * stream, without joining them first: the plaintext in parts, or null when the tag does not
   * verify (nothing is returned before it has).
   */
  decryptParts?(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, parts: readonly Uint8Array[]): Uint8Array[] | null;
}

export interface HashFunction {
  readonly name: HashName;
  /** HASHLEN: 32 or 64. */
  readonly hashLen: number;
  /** HASH(a || b || ...). */
  hash(...parts: Uint8Array[]): Uint8Array;
  /** HMAC-HASH(key, a || b || ...) (RFC 2104 with this hash's block length). */
  hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /**
   * HMAC-HASH under one fixed key: `keyedHmac(key)(data)` equals `hmac(key, data)`, with what
   * depends on the key alone done once. For many short messages under a long-lived key (every
   * heartbeat datagram is tagged and checked with its pair's key). Optional: callers fall back to
   * `hmac` for a provider without it.
   */
  keyedHmac?(key: Uint8Array): (data: Uint8Array) => Uint8Array;
}

export interface CryptoProvider {
  /** 'native' or 'noble' for the built-in ones. */
  readonly name: string;
  /** The DH function, or undefined when this provider lacks it on this runtime. */
  dh(name: DhName): DhFunction | undefined;
  cipher(name: CipherName): AeadFunction | undefined;
  hash(name: HashName): HashFunction | undefined;
  /** `n` bytes from a cryptographically secure source. */
  randomBytes(n: number): Uint8Array;
}
