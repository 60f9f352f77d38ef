import {
  MessageType, checkNumber, checkString, checkUint, isUint, packEnvelope, readNumber, readString, readUint,
  unpackEnvelope,
} from './codec.ts';
import { WireError } from './errors.ts';
import { DATAGRAM_LIMITS, MAX_NAME_BYTES, type WireLimits } from './limits.ts';

/** Flags a node announces in its hello. Bit positions are part of the protocol. */
const FLAG_HIDDEN = 1;

/** The handshake payload each side sends (encrypted) once the Noise keys allow it. */
export interface Hello {
  readonly name: string;
  readonly incarnation: number;
  /** A hidden node is never counted in others' views nor connected to transitively. */
  readonly hidden: boolean;
  /** Session protocol versions the sender speaks, newest first. */
  readonly versions: readonly number[];
  /** Wall-clock start time of the sender, ms since epoch ("oldest member" resolution). */
  readonly startedAt: number;
  /**
   * The UDP port the sender receives heartbeats on, at the address its link comes from; null for
   * a node that takes no heartbeats (a hidden client). Lets a node heartbeat peers that linked in
   * without being configured.
   */
  readonly heartbeatPort: number | null;
  /**
   * The TCP port the sender takes links on, at the address its link comes from; null for a node
   * that takes none. Lets the peer (and, through it, the rest of the mesh) dial a node that joined
   * by address without being configured anywhere.
   */
  readonly listenPort: number | null;
  /**
   * When the sender wrote this hello: its start time plus its monotonic clock, strictly growing
   * per incarnation. A responder refuses an IK first message whose (incarnation, time) is not
   * newer than the last one it saw from that key: a replay costs nothing (WireGuard's TAI64N).
   */
  readonly time: number;
  /** Operator metadata (`role = "db"`): at most 32 tags, keys up to 64 bytes, values up to 256. */
  readonly tags: Readonly<Record<string, string>>;
}

const MAX_VERSIONS = 8;
export const MAX_TAGS = 32;
const MAX_TAG_KEY_BYTES = 64;
const MAX_TAG_VALUE_BYTES = 256;

/** Checks operator tags (keys: letters, digits, `._-/`; values: any non-empty text); throws INVALID_VALUE. */
export function checkTags(tags: unknown, field = 'tags'): Readonly<Record<string, string>> {
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) throw new WireError('INVALID_VALUE', `${field} must be an object of strings`);
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw new WireError('INVALID_VALUE', `${field}: at most ${MAX_TAGS} tags`);
  for (const [k, v] of entries) {
    checkString(k, `${field} key`, MAX_TAG_KEY_BYTES);
    if (!/^[A-Za-z0-9._/-]+$/.test(k)) throw new WireError('INVALID_VALUE', `${field} key ${JSON.stringify(k)} may hold letters, digits and . _ - / only`);
    checkString(v, `${field}.${k}`, MAX_TAG_VALUE_BYTES);
  }
  return tags as Readonly<Record<string, string>>;
}

export function encodeHello(hello: Hello): Uint8Array {
  checkString(hello.name, 'name', MAX_NAME_BYTES);
  checkUint(hello.incarnation, 'incarnation');
  if (typeof hello.hidden !== 'boolean') throw new WireError('INVALID_VALUE', 'hidden must be a boolean');
  if (!Array.isArray(hello.versions) || hello.versions.length === 0 || hello.versions.length > MAX_VERSIONS) {
    throw new WireError('INVALID_VALUE', `versions must list 1 to ${MAX_VERSIONS} versions`);
  }
  hello.versions.forEach((v, i) => checkUint(v, `versions[${i}]`));
  checkNumber(hello.startedAt, 'startedAt');
  for (const field of ['heartbeatPort', 'listenPort'] as const) {
    const v = hello[field];
    if (v !== null && !(Number.isInteger(v) && v > 0 && v < 65536)) throw new WireError('INVALID_VALUE', `${field} must be a port number 1..65535 or null`);
  }
  checkNumber(hello.time, 'time');
  checkTags(hello.tags);
  const flags = hello.hidden ? FLAG_HIDDEN : 0;
  return packEnvelope(
    MessageType.hello,
    [hello.name, hello.incarnation, flags, hello.versions, hello.startedAt, hello.heartbeatPort, hello.time, hello.tags, hello.listenPort],
    HELLO_LIMITS,
  );
}

/** A hello is small, but its tags need more items than a heartbeat. */
const HELLO_LIMITS: WireLimits = Object.freeze({ ...DATAGRAM_LIMITS, maxBytes: 16 * 1024, maxItems: 2 * MAX_TAGS + 32 });

export function decodeHello(bytes: Uint8Array, limits: WireLimits = HELLO_LIMITS): Hello {
  const f = unpackEnvelope(bytes, MessageType.hello, 9, limits);
  const port = readPort(f[5], 'heartbeatPort');
  const flags = readUint(f[2], 'flags');
  const versions = f[3];
  if (!Array.isArray(versions) || versions.length === 0 || versions.length > MAX_VERSIONS) {
    throw new WireError('MALFORMED', `versions must list 1 to ${MAX_VERSIONS} versions`);
  }
  return {
    name: readString(f[0], 'name', MAX_NAME_BYTES),
    incarnation: readUint(f[1], 'incarnation'),
    // Unknown flag bits are ignored: a newer peer may set more.
    hidden: (flags & FLAG_HIDDEN) !== 0,
    versions: versions.map((v, i) => readUint(v, `versions[${i}]`)),
    startedAt: readNumber(f[4], 'startedAt'),
    heartbeatPort: port,
    listenPort: readPort(f[8], 'listenPort'),
    time: readNumber(f[6], 'time'),
    tags: readTags(f[7]),
  };
}

function readPort(v: unknown, field: string): number | null {
  if (v !== null && !(isUint(v) && v > 0 && v < 65536)) throw new WireError('MALFORMED', `${field} must be a port number or nil`);
  return v as number | null;
}

function readTags(v: unknown): Readonly<Record<string, string>> {
  try {
    return checkTags(v);
  } catch (err) {
    throw new WireError('MALFORMED', (err as Error).message);
  }
}
