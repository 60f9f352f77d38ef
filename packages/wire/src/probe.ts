import {
  MessageType, checkBytes, checkString, checkUint, packEnvelope, readBool, readBytes, readString, readUint,
  unpackEnvelope,
} from './codec.ts';
import { WireError } from './errors.ts';
import { DATAGRAM_LIMITS, MAX_CLUSTER_ID_BYTES, MAX_NAME_BYTES, NODE_ID_BYTES, type WireLimits } from './limits.ts';
import type { NodeId } from './heartbeat.ts';

/**
 * Indirect confirmation over the datagram channel (SWIM's ping-req): "do you still hear
 * `target`?" and its answer. Sent and authenticated like heartbeats (pairwise-key tag), so it
 * works across a partition without any session.
 */
export type Probe =
  /** `last`: the newest heartbeat the asker holds from `target` (an answer must know of a newer one). */
  | {
    readonly kind: 'request'; readonly cluster: string; readonly from: NodeId; readonly id: number; readonly target: string;
    readonly last: { readonly incarnation: number; readonly seq: number } | null;
  }
  | { readonly kind: 'answer'; readonly cluster: string; readonly from: NodeId; readonly id: number; readonly target: string; readonly alive: boolean };

const KIND = { request: 0, answer: 1 } as const;

export function encodeProbe(probe: Probe): Uint8Array {
  checkString(probe.cluster, 'cluster', MAX_CLUSTER_ID_BYTES);
  checkBytes(probe.from, 'from', NODE_ID_BYTES);
  checkUint(probe.id, 'id');
  checkString(probe.target, 'target', MAX_NAME_BYTES);
  if (probe.kind !== 'request' && probe.kind !== 'answer') throw new WireError('INVALID_VALUE', 'kind must be request or answer');
  if (probe.kind === 'answer' && typeof probe.alive !== 'boolean') throw new WireError('INVALID_VALUE', 'alive must be a boolean');
  if (probe.kind === 'request' && probe.last !== null) {
    checkUint(probe.last?.incarnation, 'last.incarnation');
    checkUint(probe.last.seq, 'last.seq');
  }
  const body = probe.kind === 'answer' ? probe.alive : probe.last === null ? null : [probe.last.incarnation, probe.last.seq];
  return packEnvelope(MessageType.probe, [probe.cluster, probe.from, KIND[probe.kind], probe.id, probe.target, body], DATAGRAM_LIMITS);
}

export function decodeProbe(bytes: Uint8Array, limits: WireLimits = DATAGRAM_LIMITS): Probe {
  const f = unpackEnvelope(bytes, MessageType.probe, 6, limits);
  const cluster = readString(f[0], 'cluster', MAX_CLUSTER_ID_BYTES);
  const from = readBytes(f[1], 'from', NODE_ID_BYTES);
  const kind = readUint(f[2], 'kind');
  const id = readUint(f[3], 'id');
  const target = readString(f[4], 'target', MAX_NAME_BYTES);
  if (kind === KIND.request) {
    const last = f[5];
    if (last === null) return { kind: 'request', cluster, from, id, target, last: null };
    if (!Array.isArray(last) || last.length !== 2) throw new WireError('MALFORMED', 'last must be [incarnation, seq] or nil');
    return { kind: 'request', cluster, from, id, target, last: { incarnation: readUint(last[0], 'last.incarnation'), seq: readUint(last[1], 'last.seq') } };
  }
  if (kind === KIND.answer) return { kind: 'answer', cluster, from, id, target, alive: readBool(f[5], 'alive') };
  throw new WireError('UNKNOWN_TYPE', `unknown probe kind ${kind}`);
}
