// The cluster secret ("cookie"): 32 bytes mixed into the handshake as the Noise PSK, so a node
// without it cannot complete a handshake. Rotation is a keyring, as in memberlist.
import { decodeBase64, encodeBase64 } from './base64.ts';
import { defaultProvider } from './crypto/default-provider.ts';
import type { CryptoProvider } from './crypto/provider.ts';
import { HandshakeError } from './errors.ts';

/** Noise PSKs are 32 bytes (Noise §9.1). */
export const CLUSTER_SECRET_BYTES = 32;
export const CLUSTER_SECRET_TAG = 'distkit-cluster-secret';

/**
 * Secrets newest (or: the one to send) first. The side that writes the psk message uses the
 * first; the side that reads it tries each in order. Rotate in three rollouts: append the new
 * secret everywhere, then move it first everywhere, then drop the old one.
 */
export type ClusterKeyring = readonly Uint8Array[];

export function generateClusterSecret(provider: CryptoProvider = defaultProvider()): Uint8Array {
  return provider.randomBytes(CLUSTER_SECRET_BYTES);
}

/** The keyring file: one `distkit-cluster-secret <base64>` line per secret, first line first. */
export function formatClusterKeyring(keyring: ClusterKeyring): string {
  checkKeyring(keyring);
  return keyring.map((s) => `${CLUSTER_SECRET_TAG} ${encodeBase64(s)}\n`).join('');
}

/** Parses a keyring file (comments `#` and blank lines allowed); at least one secret, no repeats. */
export function parseClusterKeyring(text: string): ClusterKeyring {
  if (typeof text !== 'string') throw bad('cluster secret file must be a string');
  const secrets: Uint8Array[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/[ \t]+/);
    if (fields[0] !== CLUSTER_SECRET_TAG || fields.length !== 2) {
      throw bad(`cluster secret file line ${i + 1}: expected '${CLUSTER_SECRET_TAG} <base64>'`);
    }
    const secret = decodeBase64(fields[1]!);
    if (!secret || secret.length !== CLUSTER_SECRET_BYTES) {
      throw bad(`cluster secret file line ${i + 1}: secret must be ${CLUSTER_SECRET_BYTES} bytes of base64`);
    }
    secrets.push(secret);
  });
  checkKeyring(secrets);
  return secrets;
}

function checkKeyring(keyring: ClusterKeyring): void {
  if (!Array.isArray(keyring) || keyring.length === 0) throw bad('a cluster keyring needs at least one secret');
  const seen = new Set<string>();
  for (const [i, s] of keyring.entries()) {
    if (!(s instanceof Uint8Array) || s.length !== CLUSTER_SECRET_BYTES) throw bad(`secret ${i + 1} must be a ${CLUSTER_SECRET_BYTES}-byte Uint8Array`);
    const k = encodeBase64(s);
    if (seen.has(k)) throw bad(`secret ${i + 1} repeats an earlier one`);
    seen.add(k);
  }
}

const bad = (message: string) => new HandshakeError('MALFORMED_KEY_FILE', message);

const SECRET_ID_LABEL = new TextEncoder().encode('distkit/1 cluster secret id');
/** Bytes of a cluster secret's id. */
export const CLUSTER_SECRET_ID_BYTES = 4;

/**
 * Which cluster secret an initiator uses, as 4 bytes of SHA-256 over a label and the secret. The
 * responder needs it to rotate secrets: in IKpsk2 the psk enters the message the responder writes,
 * so it cannot try its keyring entries one by one; it picks the one the initiator named. A hash of
 * a 32-byte random secret tells an observer nothing it could use.
 */
export function clusterSecretId(secret: Uint8Array, provider: CryptoProvider = defaultProvider()): Uint8Array {
  const sha = provider.hash('SHA256');
  if (!sha) throw new HandshakeError('UNSUPPORTED_PROTOCOL', `crypto provider '${provider.name}' lacks SHA256`);
  return sha.hash(SECRET_ID_LABEL, secret).subarray(0, CLUSTER_SECRET_ID_BYTES);
}

const FIRST_MAC_LABEL = new TextEncoder().encode('distkit/1 first record');

/**
 * The first record's MAC with the cluster secret (@distkit/wire `firstRecordSigned` gives the
 * parts): HMAC-SHA256 truncated to 16 bytes. Checked before any DH, so a node without the secret
 * gets no answer and costs the responder one hash.
 */
export function firstRecordMac(secret: Uint8Array, parts: readonly Uint8Array[], provider: CryptoProvider = defaultProvider()): Uint8Array {
  const sha = provider.hash('SHA256');
  if (!sha) throw new HandshakeError('UNSUPPORTED_PROTOCOL', `crypto provider '${provider.name}' lacks SHA256`);
  return sha.hmac(secret, FIRST_MAC_LABEL, ...parts).subarray(0, 16);
}
