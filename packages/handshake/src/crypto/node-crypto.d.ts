// The few node:crypto signatures the native provider uses. The cores compile without @types/node
// (so that no other `node:` import slips in unseen); src/crypto/native.ts is the one file allowed
// to import node:crypto, and this declares just what it needs.
declare module 'node:crypto' {
  interface JsonWebKey {
    kty?: string;
    crv?: string;
    x?: string;
    d?: string;
  }
  // No export(): exporting a fresh KeyObject can deadlock Node 20 (see native.ts).
  interface KeyObject {
    readonly type: 'secret' | 'public' | 'private';
  }
  interface Cipher {
    setAAD(buffer: Uint8Array): this;
    update(data: Uint8Array): Uint8Array;
    final(): Uint8Array;
    getAuthTag(): Uint8Array;
  }
  interface Decipher {
    setAAD(buffer: Uint8Array): this;
    setAuthTag(tag: Uint8Array): this;
    update(data: Uint8Array): Uint8Array;
    final(): Uint8Array;
  }
  interface Hash {
    update(data: Uint8Array): this;
    digest(): Uint8Array;
  }
  interface Hmac {
    update(data: Uint8Array): this;
    digest(): Uint8Array;
  }
  export function createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): Cipher;
  export function createDecipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): Decipher;
  export function createHash(algorithm: string): Hash;
  export function createHmac(algorithm: string, key: Uint8Array): Hmac;
  export function createPrivateKey(key: { key: Uint8Array; format: 'der'; type: 'pkcs8' }): KeyObject;
  export function createPrivateKey(key: { key: JsonWebKey; format: 'jwk' }): KeyObject;
  export function createPublicKey(key: { key: JsonWebKey; format: 'jwk' }): KeyObject;
  export function diffieHellman(options: { privateKey: KeyObject; publicKey: KeyObject }): Uint8Array;
  export function randomFillSync<T extends Uint8Array>(buffer: T): T;
  export type { KeyObject };
}
