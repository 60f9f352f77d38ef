// The first record of a link, before Noise message 1: which pattern and suite the initiator chose
// and, with a cluster secret, which secret it uses. Outside Noise (the responder needs it to build
// its handshake), so it carries nothing secret: a pattern code, a suite code, and a 4-byte id that
// is a hash of the secret.
import { WireError } from './errors.ts';

/** Noise patterns a link may use, by their code on the wire. */
export const LINK_PATTERNS: { readonly XX: 1; readonly XXpsk3: 2; readonly IK: 3; readonly IKpsk2: 4 } = Object.freeze({
  XX: 1,
  XXpsk3: 2,
  IK: 3,
  IKpsk2: 4,
} as const);
export type LinkPattern = keyof typeof LINK_PATTERNS;

/** Noise cipher suites (DH_cipher_hash) a link may use, by their code on the wire. */
export const LINK_SUITES: { readonly '25519_ChaChaPoly_SHA256': 1; readonly '25519_AESGCM_SHA256': 2 } = Object.freeze({
  '25519_ChaChaPoly_SHA256': 1,
  '25519_AESGCM_SHA256': 2,
} as const);
export type LinkSuite = keyof typeof LINK_SUITES;

/** Bytes of the cluster-secret id (present exactly when the pattern has a psk). */
export const SECRET_ID_BYTES = 4;
/**
 * Bytes of the first record's MAC (psk patterns): a MAC with the cluster secret over the rest of
 * the record, checked before any DH, so a node without the secret learns nothing and costs one
 * hash (WireGuard's mac1, keyed by the secret rather than the responder's public key).
 */
export const FIRST_MAC_BYTES = 16;

export interface LinkPreamble {
  readonly pattern: LinkPattern;
  readonly suite: LinkSuite;
  /** The id of the cluster secret in use (psk patterns), else null. */
  readonly secretId: Uint8Array | null;
}

/** What the first record's MAC covers: pattern, suite, secret id and Noise message 1. */
export function firstRecordSigned(p: LinkPreamble, message: Uint8Array): Uint8Array[] {
  return [Uint8Array.of(LINK_PATTERNS[p.pattern], LINK_SUITES[p.suite]), p.secretId ?? new Uint8Array(0), message];
}

const PATTERN_BY_CODE = new Map(Object.entries(LINK_PATTERNS).map(([k, v]) => [v as number, k as LinkPattern]));
const SUITE_BY_CODE = new Map(Object.entries(LINK_SUITES).map(([k, v]) => [v as number, k as LinkSuite]));

/** Whether a pattern mixes in the cluster secret. */
export function hasPsk(pattern: LinkPattern): boolean {
  return pattern === 'XXpsk3' || pattern === 'IKpsk2';
}

/** The first record: pattern code, suite code, secret id and MAC (psk patterns), then Noise message 1. */
export function encodeLinkPreamble(p: LinkPreamble, message: Uint8Array, mac: Uint8Array | null = null): Uint8Array {
  const pattern = LINK_PATTERNS[p.pattern];
  const suite = LINK_SUITES[p.suite];
  if (pattern === undefined) throw new WireError('INVALID_VALUE', `unknown link pattern ${String(p.pattern)}`);
  if (suite === undefined) throw new WireError('INVALID_VALUE', `unknown link suite ${String(p.suite)}`);
  const idLength = hasPsk(p.pattern) ? SECRET_ID_BYTES : 0;
  if ((p.secretId?.length ?? 0) !== idLength) {
    throw new WireError('INVALID_VALUE', idLength ? `pattern ${p.pattern} needs a ${SECRET_ID_BYTES}-byte secret id` : `pattern ${p.pattern} takes no secret id`);
  }
  const macLength = idLength ? FIRST_MAC_BYTES : 0;
  if ((mac?.length ?? 0) !== macLength) {
    throw new WireError('INVALID_VALUE', macLength ? `pattern ${p.pattern} needs a ${FIRST_MAC_BYTES}-byte first-record MAC` : `pattern ${p.pattern} takes no MAC`);
  }
  const out = new Uint8Array(2 + idLength + macLength + message.length);
  out[0] = pattern;
  out[1] = suite;
  if (p.secretId) out.set(p.secretId, 2);
  if (mac) out.set(mac, 2 + idLength);
  out.set(message, 2 + idLength + macLength);
  return out;
}

/** Splits a first record into its preamble, its MAC (psk patterns) and Noise message 1. Throws WireError. */
export function decodeLinkPreamble(record: Uint8Array): { readonly preamble: LinkPreamble; readonly mac: Uint8Array | null; readonly message: Uint8Array } {
  if (!(record instanceof Uint8Array) || record.length < 2) throw new WireError('MALFORMED', 'link preamble is shorter than 2 bytes');
  const pattern = PATTERN_BY_CODE.get(record[0]!);
  if (pattern === undefined) throw new WireError('UNKNOWN_TYPE', `unknown link pattern code ${record[0]}`);
  const suite = SUITE_BY_CODE.get(record[1]!);
  if (suite === undefined) throw new WireError('UNKNOWN_TYPE', `unknown link suite code ${record[1]}`);
  const idLength = hasPsk(pattern) ? SECRET_ID_BYTES : 0;
  const macLength = idLength ? FIRST_MAC_BYTES : 0;
  if (record.length < 2 + idLength + macLength) throw new WireError('MALFORMED', `link preamble for ${pattern} is truncated`);
  return {
    preamble: { pattern, suite, secretId: idLength ? record.slice(2, 2 + idLength) : null },
    mac: macLength ? record.slice(2 + idLength, 2 + idLength + macLength) : null,
    message: record.subarray(2 + idLength + macLength),
  };
}
