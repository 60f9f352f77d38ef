// What distkit itself speaks: four Noise protocols and a prologue that binds the cluster.
import { MAX_CLUSTER_ID_BYTES } from '@distkit/wire';
import { HandshakeError } from './errors.ts';
import { createHandshake, type Handshake } from './handshake.ts';
import type { ClusterKeyring } from './cluster-secret.ts';
import type { CryptoProvider, KeyPair } from './crypto/provider.ts';

/** The default: mutual authentication, nothing known in advance. */
export const DEFAULT_PROTOCOL_NAME = 'Noise_XX_25519_ChaChaPoly_SHA256';

/**
 * XX: nothing known in advance. XXpsk3: XX with the cluster secret. IK: 1-RTT when the initiator
 * has the responder's key pinned. IKpsk2: IK with the cluster secret.
 */
export type DistkitPattern = 'XX' | 'XXpsk3' | 'IK' | 'IKpsk2';
export type DistkitHash = 'SHA256' | 'BLAKE2b';

export const DISTKIT_PATTERNS: readonly DistkitPattern[] = Object.freeze(['XX', 'XXpsk3', 'IK', 'IKpsk2'] as const);

/** `Noise_<pattern>_25519_ChaChaPoly_<hash>`: the suites of DESIGN.md. */
export function distkitProtocolName(pattern: DistkitPattern, hash: DistkitHash = 'SHA256'): string {
  if (!DISTKIT_PATTERNS.includes(pattern)) throw new HandshakeError('UNSUPPORTED_PROTOCOL', `distkit pattern must be one of ${DISTKIT_PATTERNS.join(', ')}, got '${pattern}'`);
  if (hash !== 'SHA256' && hash !== 'BLAKE2b') throw new HandshakeError('UNSUPPORTED_PROTOCOL', `distkit hash must be SHA256 or BLAKE2b, got '${hash}'`);
  return `Noise_${pattern}_25519_ChaChaPoly_${hash}`;
}

const VERSION = new TextEncoder().encode('distkit/1');

/**
 * The prologue: `distkit/1`, a zero byte, the cluster id (UTF-8). Nodes of different clusters, or
 * of another protocol version, fail the handshake at its first encrypted payload.
 */
export function distkitPrologue(clusterId: string): Uint8Array {
  const id = typeof clusterId === 'string' ? new TextEncoder().encode(clusterId) : null;
  if (!id || id.length === 0 || id.length > MAX_CLUSTER_ID_BYTES) {
    throw new HandshakeError('INVALID_CONFIG', `clusterId must be a non-empty string of at most ${MAX_CLUSTER_ID_BYTES} UTF-8 bytes`);
  }
  const out = new Uint8Array(VERSION.length + 1 + id.length);
  out.set(VERSION);
  out.set(id, VERSION.length + 1);
  return out;
}

export interface DistkitHandshakeOptions {
  readonly initiator: boolean;
  readonly clusterId: string;
  readonly identity: KeyPair;
  /**
   * Initiator: the peer's pinned key selects IK (1-RTT) instead of XX. Responder of XX: pins the
   * key the initiator must present. Responder of IK: leave out (the key arrives in message 1).
   */
  readonly remoteStaticKey?: Uint8Array;
  /** Which pattern; default: IK when the initiator gives `remoteStaticKey`, XX otherwise. */
  readonly pattern?: 'XX' | 'IK';
  /** Cluster secrets: selects the psk variant (XXpsk3 / IKpsk2). */
  readonly clusterSecrets?: ClusterKeyring;
  readonly hash?: DistkitHash;
  readonly provider?: CryptoProvider;
}

/**
 * A handshake for one of distkit's four protocols. Both sides must pick the same pattern: the
 * kernel tells the responder which one the initiator chose (outside Noise).
 */
export function createDistkitHandshake(o: DistkitHandshakeOptions): Handshake {
  const base = o.pattern ?? (o.initiator && o.remoteStaticKey ? 'IK' : 'XX');
  const psk = o.clusterSecrets !== undefined;
  const pattern: DistkitPattern = base === 'XX' ? (psk ? 'XXpsk3' : 'XX') : (psk ? 'IKpsk2' : 'IK');
  return createHandshake({
    protocolName: distkitProtocolName(pattern, o.hash),
    initiator: o.initiator,
    prologue: distkitPrologue(o.clusterId),
    staticKeyPair: o.identity,
    ...(o.remoteStaticKey ? { remoteStaticKey: o.remoteStaticKey } : {}),
    ...(psk ? { psks: [o.clusterSecrets] } : {}),
    ...(o.provider ? { provider: o.provider } : {}),
  });
}
