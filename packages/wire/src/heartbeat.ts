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
  return (bytes instanceof Uint8Array && bytes.length <= limits.maxBytes && limits.maxItems >= 15 && limits.maxDepth >= 1 ? plainHeartbeat(bytes) : null)
    ?? decodeHeartbeatFields(bytes, limits);
}

/** The general decoder: scan, msgpackr, then every field checked (and its error when one is wrong). */
export function decodeHeartbeatFields(bytes: Uint8Array, limits: WireLimits = DATAGRAM_LIMITS): Heartbeat {
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

// ---- the plain heartbeat, read where it lies -----------------------------------------------
//
// Every heartbeat this version sends has one layout: a 15-element fixarray [1, 1, 0, cluster,
// id, name, incarnation, seq, sentAt, connected, lowest, oldest id, oldest startedAt, referee,
// hash] with ASCII strings. It is read here byte by byte, with no msgpackr value tree and no
// intermediate arrays: heartbeats are most of a cluster's datagrams (7,960 a second at N = 200).
// Anything else (another minor version, a non-ASCII name, a float32, a uint64, a malformed
// byte) returns null and goes through the general decoder, which also says what is wrong; what
// is accepted here is exactly what that decoder accepts, with the same result (wire's fuzz test
// checks both on the same inputs).

let at = 0;
const F64_BYTES = new Uint8Array(8);
const F64 = new DataView(F64_BYTES.buffer);

function asciiString(b: Uint8Array, maxBytes: number): string | null {
  const h = b[at];
  let n: number;
  if (h === undefined) return null;
  if (h >= 0xa0 && h <= 0xbf) {
    n = h & 0x1f;
    at += 1;
  } else if (h === 0xd9 && at + 1 < b.length) {
    n = b[at + 1]!;
    at += 2;
  } else return null;
  if (n === 0 || n > maxBytes || at + n > b.length) return null;
  let s = '';
  for (let i = at; i < at + n; i++) {
    const c = b[i]!;
    if (c >= 0x80) return null;
    s += String.fromCharCode(c);
  }
  at += n;
  return s;
}

/** bin8 of exactly `length` bytes, copied; undefined for nil; null for anything else. */
function fixedBin(b: Uint8Array, length: number, nil: boolean): Uint8Array | null | undefined {
  if (nil && b[at] === 0xc0) {
    at += 1;
    return undefined;
  }
  if (b[at] !== 0xc4 || b[at + 1] !== length || at + 2 + length > b.length) return null;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = b[at + 2 + i]!;
  at += 2 + length;
  return out;
}

/** A msgpack integer or float64 (NaN when it is something else, or an infinite or NaN float). */
function number(b: Uint8Array): number {
  const h = b[at];
  if (h === undefined) return Number.NaN;
  if (h <= 0x7f) {
    at += 1;
    return h;
  }
  if (h >= 0xe0) {
    at += 1;
    return h - 0x100;
  }
  const n = b.length;
  switch (h) {
    case 0xcc:
      if (at + 2 > n) return Number.NaN;
      at += 2;
      return b[at - 1]!;
    case 0xcd:
      if (at + 3 > n) return Number.NaN;
      at += 3;
      return (b[at - 2]! << 8) | b[at - 1]!;
    case 0xce:
      if (at + 5 > n) return Number.NaN;
      at += 5;
      return ((b[at - 4]! << 24) >>> 0) + ((b[at - 3]! << 16) | (b[at - 2]! << 8) | b[at - 1]!);
    case 0xd0:
      if (at + 2 > n) return Number.NaN;
      at += 2;
      return (b[at - 1]! << 24) >> 24;
    case 0xd1:
      if (at + 3 > n) return Number.NaN;
      at += 3;
      return (((b[at - 2]! << 8) | b[at - 1]!) << 16) >> 16;
    case 0xd2:
      if (at + 5 > n) return Number.NaN;
      at += 5;
      return (b[at - 4]! << 24) | (b[at - 3]! << 16) | (b[at - 2]! << 8) | b[at - 1]!;
    case 0xcb: {
      if (at + 9 > n) return Number.NaN;
      for (let i = 0; i < 8; i++) F64_BYTES[i] = b[at + 1 + i]!;
      const v = F64.getFloat64(0);
      at += 9;
      return Number.isFinite(v) ? v : Number.NaN;
    }
    default:
      return Number.NaN;
  }
}

function uint(b: Uint8Array): number {
  const v = number(b);
  return Number.isSafeInteger(v) && v >= 0 ? v : Number.NaN;
}

function plainHeartbeat(b: Uint8Array): Heartbeat | null {
  if (b.length < 4 || b[0] !== 0x9f || b[1] !== MessageType.heartbeat || b[2] !== 1 || b[3] !== 0) return null;
  at = 4;
  const cluster = asciiString(b, MAX_CLUSTER_ID_BYTES);
  if (cluster === null) return null;
  const id = fixedBin(b, NODE_ID_BYTES, false);
  if (!id) return null;
  const name = asciiString(b, MAX_NAME_BYTES);
  if (name === null) return null;
  const incarnation = uint(b);
  const seq = uint(b);
  const sentAt = number(b);
  const connected = uint(b);
  if (Number.isNaN(incarnation) || Number.isNaN(seq) || Number.isNaN(sentAt) || Number.isNaN(connected)) return null;
  const lowest = fixedBin(b, NODE_ID_BYTES, true);
  if (lowest === null) return null;
  const oldestId = fixedBin(b, NODE_ID_BYTES, true);
  if (oldestId === null) return null;
  let startedAt = Number.NaN;
  if (oldestId === undefined) {
    if (b[at] !== 0xc0) return null;
    at += 1;
  } else {
    startedAt = number(b);
    if (Number.isNaN(startedAt)) return null;
  }
  const r = b[at];
  if (r !== 0xc2 && r !== 0xc3) return null;
  at += 1;
  const hash = fixedBin(b, VIEW_HASH_BYTES, false);
  if (!hash || at !== b.length) return null;
  return {
    cluster,
    from: { id, name },
    incarnation,
    seq,
    sentAt,
    view: {
      connected,
      lowest: lowest ?? null,
      oldest: oldestId === undefined ? null : { id: oldestId, startedAt },
      referee: r === 0xc3,
      hash,
    },
  };
}
