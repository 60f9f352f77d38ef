// A node's identity: one X25519 key pair, stored as one line of text, shown as an ssh-style
// fingerprint.
import { decodeBase64, encodeBase64 } from './base64.ts';
import { defaultProvider } from './crypto/default-provider.ts';
import type { CryptoProvider, KeyPair } from './crypto/provider.ts';
import { HandshakeError } from './errors.ts';

/** X25519 key length: public keys, private keys and node ids. */
export const KEY_BYTES = 32;
/** First field of a private key file. */
export const PRIVATE_KEY_TAG = 'distkit-x25519-private';
/** First field of a public key line. */
export const PUBLIC_KEY_TAG = 'distkit-x25519';

/** A fresh X25519 identity from the provider's secure randomness. */
export function generateIdentity(provider: CryptoProvider = defaultProvider()): KeyPair {
  return x25519(provider).generateKeyPair();
}

function x25519(provider: CryptoProvider) {
  const dh = provider.dh('25519');
  if (!dh) throw new HandshakeError('UNSUPPORTED_PROTOCOL', `crypto provider '${provider.name}' lacks X25519`);
  return dh;
}

/**
 * The private key file: `distkit-x25519-private <base64>` and a newline. Callers write it with
 * mode 0600, atomically; it is the node's identity.
 */
export function formatPrivateKey(identity: KeyPair): string {
  checkKey(identity?.privateKey, 'privateKey');
  return `${PRIVATE_KEY_TAG} ${encodeBase64(identity.privateKey)}\n`;
}

/** The public key line: `distkit-x25519 <base64> [comment]` and a newline. */
export function formatPublicKey(publicKey: Uint8Array, comment?: string): string {
  checkKey(publicKey, 'publicKey');
  if (comment !== undefined && (typeof comment !== 'string' || !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(comment))) {
    throw bad('comment must be printable ASCII words separated by single spaces');
  }
  return `${PUBLIC_KEY_TAG} ${encodeBase64(publicKey)}${comment ? ` ${comment}` : ''}\n`;
}

/** Parses a private key file; refuses anything but exactly one well-formed line. */
export function parsePrivateKey(text: string, provider: CryptoProvider = defaultProvider()): KeyPair {
  const fields = oneLine(text, 'private key file');
  if (fields[0] === PUBLIC_KEY_TAG) throw bad('private key file holds a public key (distkit-x25519), not a private key');
  if (fields[0] !== PRIVATE_KEY_TAG) throw bad(`private key file must start with '${PRIVATE_KEY_TAG}', found '${clip(fields[0])}'`);
  if (fields.length !== 2) throw bad(`private key file must have 2 fields ('${PRIVATE_KEY_TAG} <base64>'), found ${fields.length}`);
  const privateKey = decodeKey(fields[1]!, 'private key');
  return x25519(provider).keyPairFromPrivate(privateKey);
}

/** Parses a public key line (`distkit-x25519 <base64> [comment]`). */
export function parsePublicKey(text: string): { publicKey: Uint8Array; comment: string | null } {
  const fields = oneLine(text, 'public key');
  if (fields[0] === PRIVATE_KEY_TAG) throw bad('this is a private key, not a public key');
  if (fields[0] !== PUBLIC_KEY_TAG) throw bad(`public key must start with '${PUBLIC_KEY_TAG}', found '${clip(fields[0])}'`);
  if (fields.length < 2) throw bad('public key line has no key after its type');
  return { publicKey: decodeKey(fields[1]!, 'public key'), comment: fields.length > 2 ? fields.slice(2).join(' ') : null };
}

/** `SHA256:` + unpadded base64 of SHA-256(public key), as `ssh-keygen -l` prints fingerprints. */
export function fingerprint(publicKey: Uint8Array, provider: CryptoProvider = defaultProvider()): string {
  checkKey(publicKey, 'publicKey');
  const sha256 = provider.hash('SHA256');
  if (!sha256) throw new HandshakeError('UNSUPPORTED_PROTOCOL', `crypto provider '${provider.name}' lacks SHA256`);
  return `SHA256:${encodeBase64(sha256.hash(publicKey), false)}`;
}

/** A 32-byte key from canonical padded base64, or MALFORMED_KEY_FILE naming `what`. */
export function decodeKey(text: string, what: string): Uint8Array {
  const key = decodeBase64(text);
  if (!key) throw bad(`${what} is not valid base64: '${clip(text)}'`);
  if (key.length !== KEY_BYTES) throw bad(`${what} must be ${KEY_BYTES} bytes, found ${key.length}`);
  return key;
}

/** The key as it appears in trust files: padded base64 of the 32 bytes. */
export function encodeKey(key: Uint8Array): string {
  checkKey(key, 'key');
  return encodeBase64(key);
}

function checkKey(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) throw bad(`${what} must be a ${KEY_BYTES}-byte Uint8Array`);
}

function oneLine(text: string, what: string): string[] {
  if (typeof text !== 'string') throw bad(`${what} must be a string`);
  // One optional line ending at the very end; nothing else may break the line.
  const line = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (line.length === 0) throw bad(`${what} is empty`);
  if (/[\r\n]/.test(line)) throw bad(`${what} must be exactly one line`);
  if (/^\s|\s$/.test(line)) throw bad(`${what} has leading or trailing whitespace`);
  if (/[^\x20-\x7e]/.test(line)) throw bad(`${what} contains a control or non-ASCII character`);
  const fields = line.split(' ');
  if (fields.includes('')) throw bad(`${what} fields must be separated by single spaces`);
  return fields;
}

const clip = (s: string | undefined) => (s === undefined ? '' : s.length > 40 ? `${s.slice(0, 40)}...` : s);
const bad = (message: string) => new HandshakeError('MALFORMED_KEY_FILE', message);
