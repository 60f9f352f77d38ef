import { sha256 } from '@noble/hashes/sha2';
import { NODE_ID_BYTES, VIEW_HASH_BYTES, type NodeId, type ViewSummary } from '@distkit/wire';
import { DetectorError } from './errors.ts';

/** A node as the view summary needs it: its id (X25519 public key) and start time (ms since epoch). */
export interface Member {
  readonly id: NodeId;
  readonly startedAt: number;
}

export interface ViewInput {
  /** This node. */
  readonly self: Member;
  /** The visible nodes this node holds a link to (hidden nodes are never counted). */
  readonly peers: readonly Member[];
  /** The configured referee's id, if the cluster has one. */
  readonly referee?: NodeId | null;
}

/** Bytewise order of node ids (shorter first on a common prefix); the order `lowest` means. */
export function compareIds(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Older first: earlier start time, then lower id, so that "the oldest" is never ambiguous. */
export function compareAge(a: Member, b: Member): number {
  return a.startedAt !== b.startedAt ? (a.startedAt < b.startedAt ? -1 : 1) : compareIds(a.id, b.id);
}

const DOMAIN = new TextEncoder().encode('distkit/view/1');

function checkMember(m: Member, key: string): void {
  if (!(m?.id instanceof Uint8Array) || m.id.length !== NODE_ID_BYTES) {
    throw new DetectorError('INVALID_INPUT', key, `${key}.id must be a ${NODE_ID_BYTES}-byte Uint8Array`);
  }
  if (typeof m.startedAt !== 'number' || !Number.isFinite(m.startedAt)) {
    throw new DetectorError('INVALID_INPUT', key, `${key}.startedAt must be a finite number`);
  }
}

/**
 * A node's own view summary, computed from its member set: the same function on every node (and
 * in the simulator), so two nodes holding the same set produce byte-identical summaries.
 * `hash` is SHA-256 over a domain tag and the sorted, de-duplicated member ids, truncated to 16
 * bytes: equal hashes mean the same member set.
 */
export function viewSummary(input: ViewInput): ViewSummary {
  checkMember(input.self, 'self');
  input.peers.forEach((p, i) => checkMember(p, `peers[${i}]`));
  const members = [input.self, ...input.peers].sort((a, b) => compareIds(a.id, b.id));
  const unique: Member[] = [];
  for (const m of members) if (unique.length === 0 || compareIds(unique[unique.length - 1]!.id, m.id) !== 0) unique.push(m);
  const h = sha256.create().update(DOMAIN);
  for (const m of unique) h.update(m.id);
  let oldest = unique[0]!;
  for (const m of unique) if (compareAge(m, oldest) < 0) oldest = m;
  const referee = input.referee ?? null;
  return {
    connected: unique.length - 1,
    lowest: Uint8Array.from(unique[0]!.id),
    oldest: { id: Uint8Array.from(oldest.id), startedAt: oldest.startedAt },
    referee: referee !== null && unique.some((m) => compareIds(m.id, referee) === 0),
    hash: h.digest().slice(0, VIEW_HASH_BYTES),
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Lower-case hex of bytes (view hashes in partition keys and events, keys in the kernel's maps).
 * Built with one join: V8 keeps the result of a `+=` loop as a rope, one 32-byte node per step,
 * and these strings are kept for the life of a link (about 2 kB for a 32-byte key instead of 80).
 */
export function toHex(bytes: Uint8Array): string {
  const parts = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) parts[i] = HEX[bytes[i]!]!;
  return parts.join('');
}
