// Identity, key files, fingerprints and the trust files' text: the one seam between the daemon
// and @distkit/handshake, which owns the formats (one-line key files, `name key [options]` trust
// lines, ssh-style fingerprints). Here its errors become DaemonErrors with the daemon's exit codes.
import {
  decodeKey, encodeKey, fingerprint as handshakeFingerprint, formatPrivateKey, formatPublicKey, formatTrustEntry,
  generateIdentity as handshakeGenerateIdentity, isValidNodeName, parsePrivateKey, parsePublicKey as parsePublicKeyLine,
  parseClusterKeyring, parseTrustFile as handshakeParseTrustFile, PUBLIC_KEY_TAG, TrustStore, type TrustEntry as HandshakeTrustEntry,
} from '@distkit/handshake';
import { DaemonError, type DaemonErrorCode } from './errors.ts';
import { redactKeyMaterial, type RedactOptions } from './redact.ts';

export interface Identity {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

export type TrustEntry = HandshakeTrustEntry;
export { TrustStore };

/** A fresh X25519 key pair. */
export function generateIdentity(): Identity {
  return handshakeGenerateIdentity();
}

/** `SHA256:` + unpadded base64 of SHA-256(public key), as `ssh-keygen -l` prints. */
export function fingerprint(publicKey: Uint8Array): string {
  return handshakeFingerprint(publicKey);
}

/** The bare base64 form used in config, flags and trust files. */
export function encodePublicKey(publicKey: Uint8Array): string {
  return encodeKey(publicKey);
}

/** The public key file line: `distkit-x25519 <base64> [comment]`. */
export function publicKeyLine(publicKey: Uint8Array, comment?: string): string {
  return formatPublicKey(publicKey, comment);
}

/**
 * A public key given by a person: bare base64 (as in authorized_nodes) or a whole public key line
 * (`distkit-x25519 <base64> [comment]`, the content of identity.pub). `what` names it in errors.
 */
export function parsePublicKey(text: string, what = 'public key'): Uint8Array {
  const trimmed = text.trim();
  return rethrow('KEY_MALFORMED', what, text, () =>
    trimmed.startsWith(`${PUBLIC_KEY_TAG} `) ? parsePublicKeyLine(trimmed).publicKey : decodeKey(trimmed, 'key'),
  );
}

/** The private key file's text (one line). Written 0600 by the caller. */
export function encodePrivateKeyFile(identity: Identity): string {
  return formatPrivateKey(identity);
}

export function parsePrivateKeyFile(text: string, path: string): Identity {
  return rethrow('KEY_MALFORMED', path, text, () => parsePrivateKey(text));
}

/** authorized_nodes / known_nodes: entries in file order; a bad line is an error naming file and line. */
export function parseTrustFile(text: string, path: string): TrustEntry[] {
  const lines = rethrow('TRUST_FILE', null, text, () => handshakeParseTrustFile(text, path), TRUST_LINES);
  return lines.flatMap((l) => (l.entry ? [l.entry] : []));
}

/** One trust file line for `entry` (no newline). */
export function formatTrustLine(entry: TrustEntry): string {
  return formatTrustEntry(entry);
}

export function serializeTrustFile(entries: readonly TrustEntry[], header: string): string {
  const body = entries.map((e) => formatTrustEntry(e)).join('\n');
  return `${header.split('\n').map((l) => `# ${l}`).join('\n')}\n${body}${body ? '\n' : ''}`;
}

/** The cluster secret file: `distkit-cluster-secret <base64>` lines, newest first. */
export function parseClusterSecrets(text: string, path: string): Uint8Array[] {
  return [...rethrow('KEY_MALFORMED', path, text, () => parseClusterKeyring(text))];
}

/** A handshake TrustStore from the two files' text; a bad line names the file and line. */
export function createTrustStore(mode: 'tofu' | 'strict', files: { readonly authorized: string; readonly known: string }, paths: { readonly authorized: string; readonly known: string }): TrustStore {
  // Parse first with the real paths, so an error names the file on disk.
  parseTrustFile(files.authorized, paths.authorized);
  parseTrustFile(files.known, paths.known);
  return rethrow('TRUST_FILE', null, `${files.authorized}\n${files.known}`, () => new TrustStore({ mode, authorizedNodes: files.authorized, knownNodes: files.known }), TRUST_LINES);
}

export function isNodeName(name: string): boolean {
  return isValidNodeName(name);
}

export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** In trust files the first field is a node name, which errors may show. */
const TRUST_LINES: RedactOptions = { isName: (field) => isValidNodeName(field) };

/**
 * A HandshakeError from parsing `source` becomes a DaemonError whose message holds no key
 * material. The handshake error is not kept as `cause`: its message quotes part of the key, and
 * a logger or an uncaught-error printer would show it.
 */
function rethrow<T>(code: DaemonErrorCode, prefix: string | null, source: string, fn: () => T, options?: RedactOptions): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error && err.name === 'HandshakeError') {
      const message = redactKeyMaterial(err.message, source, options);
      throw new DaemonError(code, prefix === null ? message : `${prefix}: ${message}`);
    }
    throw err;
  }
}
