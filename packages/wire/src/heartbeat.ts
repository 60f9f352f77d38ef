import {
  MessageType, checkBytes, checkNumber, checkString, checkUint, packEnvelope, readBool, readBytes,
  readNumber, readString, readUint, unpackEnvelope,
} from './codec.ts';
import { WireError } from './errors.ts';
import {
  DATAGRAM_LIMITS, MAX_CLUSTER_ID_BYTES, MAX_NAME_BYTES, NODE_ID_BYTES, VIEW_HASH_BYTES, type WireLimits,
} from './limits.ts';

/** A node's id: its 32-byte X25519 public key. */
export type NodeId = Uint8Array;

/**
 * What the sender sees of the cluster, compact enough for every datagram. Both sides of a
 * partition hold their own and the other's, so each can compute the same "who restarts" answer.
 */
export interface ViewSummary {
  /** Nodes the sender holds a link to (visible nodes only; hidden ones are never counted). */
  readonly connected: number;
  /** Lowest node id on the sender's side (itself included), or null when unknown. */
  readonly lowest: NodeId | null;
  /** Oldest member on the sender's side (itself included): id and start time (ms since epoch). */
  readonly oldest: { readonly id: NodeId; readonly startedAt: number } | null;
  /** Whether a configured referee node is on the sender's side. */
  readonly referee: boolean;
  /** Hash of the sorted member set, truncated: equal hashes mean the same view. */
  readonly hash: Uint8Array;
}

/** The "I am here" datagram body. The kernel appends a 16-byte tag computed with the pairwise key. */
export interface Heartbeat {
  readonly cluster: string;
  readonly from: { readonly id: NodeId; readonly name: string };
  /** Grows on every restart of the sender; persisted by the daemon. */
  readonly incarnation: number;
  /** Grows with every datagram within one incarnation. */
  readonly seq: number;
  /** Sender's monotonic clock, ms: lets the receiver see pauses without trusting wall clocks. */
  readonly sentAt: number;
  readonly view: ViewSummary;
}

/** A view summary as the six msgpack fields it travels as (heartbeats and forwarded events). */
export function viewFields(v: ViewSummary, field = 'view'): unknown[] {
  if (v === null || typeof v !== 'object') throw new WireError('INVALID_VALUE', `${field} must be an object`);
  checkUint(v.connected, `${field}.connected`);
  if (v.lowest !== null) checkBytes(v.lowest, `${field}.lowest`, NODE_ID_BYTES);
  if (v.oldest !== null) {
    checkBytes(v.oldest?.id, `${field}.oldest.id`, NODE_ID_BYTES);
    checkNumber(v.oldest.startedAt, `${field}.oldest.startedAt`);
  }
  if (typeof v.referee !== 'boolean') throw new WireError('INVALID_VALUE', `${field}.referee must be a boolean`);
  checkBytes(v.hash, `${field}.hash`, VIEW_HASH_BYTES);
  return [v.connected, v.lowest, v.oldest?.id ?? null, v.oldest?.startedAt ?? null, v.referee, v.hash];
}

/** The inverse of `viewFields`, from `f[at..at+6]`; throws MALFORMED naming the field. */
export function readViewFields(f: readonly unknown[], at: number, field = 'view'): ViewSummary {
  const oldestId = f[at + 2];
  const oldestAt = f[at + 3];
  if ((oldestId === null) !== (oldestAt === null)) {
    throw new WireError('MALFORMED', `${field}.oldest id and startedAt must both be present or both be nil`);
  }
  return {
    connected: readUint(f[at], `${field}.connected`),
    lowest: f[at + 1] === null ? null : readBytes(f[at + 1], `${field}.lowest`, NODE_ID_BYTES),
    oldest: oldestId === null ? null : {
      id: readBytes(oldestId, `${field}.oldest.id`, NODE_ID_BYTES),
      startedAt: readNumber(oldestAt, `${field}.oldest.startedAt`),
    },
    referee: readBool(f[at + 4], `${field}.referee`),
    hash: readBytes(f[at + 5], `${field}.hash`, VIEW_HASH_BYTES),
  };
}

export function encodeHeartbeat(hb: Heartbeat): Uint8Array {
  checkString(hb.cluster, 'cluster', MAX_CLUSTER_ID_BYTES);
  checkBytes(hb.from?.id, 'from.id', NODE_ID_BYTES);
  checkString(hb.from.name, 'from.name', MAX_NAME_BYTES);
  checkUint(hb.incarnation, 'incarnation');
  checkUint(hb.seq, 'seq');
  checkNumber(hb.sentAt, 'sentAt');
  return packEnvelope(
    MessageType.heartbeat,
    [hb.cluster, hb.from.id, hb.from.name, hb.incarnation, hb.seq, hb.sentAt, ...viewFields(hb.view)],
    DATAGRAM_LIMITS,
  );
}

export function decodeHeartbeat(bytes: Uint8Array, limits: WireLimits = DATAGRAM_LIMITS): Heartbeat {
  const f = unpackEnvelope(bytes, MessageType.heartbeat, 12, limits);
  return {
    cluster: readString(f[0], 'cluster', MAX_CLUSTER_ID_BYTES),
    from: { id: readBytes(f[1], 'from.id', NODE_ID_BYTES), name: readString(f[2], 'from.name', MAX_NAME_BYTES) },
    incarnation: readUint(f[3], 'incarnation'),
    seq: readUint(f[4], 'seq'),
    sentAt: readNumber(f[5], 'sentAt'),
    view: readViewFields(f, 6),
  };
}
