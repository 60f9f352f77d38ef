// Identity, key files, fingerprints and the trust files' text format: the one seam between the
// daemon and @distkit/handshake. Until handshake exports these, node:crypto provides the key pair
// and the hash, and the line formats below stand in; swapping to the handshake functions is a
// change to this file only.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { DaemonError } from './errors.ts';

export interface Identity {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

const KEY_BYTES = 32;
const PRIVATE_TAG = 'distkit-x25519-private';

/** A fresh X25519 key pair. */
export function generateIdentity(): Identity {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const pub = publicKey.export({ format: 'jwk' });
  const priv = privateKey.export({ format: 'jwk' });
  return { publicKey: fromBase64Url(pub.x ?? ''), privateKey: fromBase64Url(priv.d ?? '') };
}

/** `SHA256:` + unpadded base64 of SHA-256(public key), as `ssh-keygen -l` prints. */
export function fingerprint(publicKey: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(publicKey).digest('base64').replace(/=+$/, '')}`;
}

/** The public key as it appears in authorized_nodes, known_nodes, config and flags. */
export function encodePublicKey(publicKey: Uint8Array): string {
  return Buffer.from(publicKey).toString('base64');
}

/** Parses a base64 X25519 public key; `what` names it in the error. */
export function parsePublicKey(text: string, what = 'public key'): Uint8Array {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) {
    throw new DaemonError('KEY_MALFORMED', `${what}: expected 44 characters of base64 (a 32-byte X25519 key), got ${JSON.stringify(abbreviate(trimmed))}`);
  }
  return new Uint8Array(Buffer.from(trimmed, 'base64'));
}

/** The private key file: one line of text. Written 0600 by the caller. */
export function encodePrivateKeyFile(identity: Identity): string {
  return `${PRIVATE_TAG} ${encodePublicKey(identity.privateKey)} ${encodePublicKey(identity.publicKey)}\n`;
}

export function parsePrivateKeyFile(text: string, path: string): Identity {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const fields = lines.length === 1 ? (lines[0] ?? '').trim().split(/\s+/) : [];
  if (fields.length !== 3 || fields[0] !== PRIVATE_TAG) {
    throw new DaemonError('KEY_MALFORMED', `${path}: not a distkit private key file (expected one line "${PRIVATE_TAG} <private> <public>")`);
  }
  const privateKey = parsePublicKey(fields[1] ?? '', `${path}: private key`);
  const publicKey = parsePublicKey(fields[2] ?? '', `${path}: public key`);
  return { privateKey, publicKey };
}

export interface TrustEntry {
  readonly name: string;
  readonly publicKey: Uint8Array;
  /** Options after the key (authorized_nodes only), kept verbatim. */
  readonly options: readonly string[];
}

/**
 * authorized_nodes and known_nodes: `name key-base64 [options]` per line, `#` comments and blank
 * lines allowed. Strict: any malformed line is an error naming the file and line.
 */
export function parseTrustFile(text: string, path: string): TrustEntry[] {
  const entries: TrustEntry[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [name, key, ...options] = line.split(/\s+/);
    if (name === undefined || key === undefined || !NODE_NAME.test(name)) {
      throw new DaemonError('TRUST_FILE', `${path}:${i + 1}: expected "name key [options]", got ${JSON.stringify(abbreviate(line))}`);
    }
    let publicKey: Uint8Array;
    try {
      publicKey = parsePublicKey(key, `${path}:${i + 1}: key of ${name}`);
    } catch (err) {
      throw new DaemonError('TRUST_FILE', (err as Error).message);
    }
    if (seen.has(name)) throw new DaemonError('TRUST_FILE', `${path}:${i + 1}: ${name} is listed twice`);
    seen.add(name);
    entries.push({ name, publicKey, options });
  });
  return entries;
}

export function serializeTrustFile(entries: readonly TrustEntry[], header: string): string {
  const body = entries.map((e) => [e.name, encodePublicKey(e.publicKey), ...e.options].join(' ')).join('\n');
  return `${header.split('\n').map((l) => `# ${l}`).join('\n')}\n${body}${body ? '\n' : ''}`;
}

/** Node names: Erlang-like `alive@host` style, no spaces or separators used by the files. */
export const NODE_NAME: RegExp = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$/;

export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function fromBase64Url(text: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  if (bytes.length !== KEY_BYTES) throw new Error(`node:crypto returned a ${bytes.length}-byte X25519 key`);
  return bytes;
}

function abbreviate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
