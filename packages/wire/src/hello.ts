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
}

const MAX_VERSIONS = 8;

export function encodeHello(hello: Hello): Uint8Array {
  checkString(hello.name, 'name', MAX_NAME_BYTES);
  checkUint(hello.incarnation, 'incarnation');
  if (typeof hello.hidden !== 'boolean') throw new WireError('INVALID_VALUE', 'hidden must be a boolean');
  if (!Array.isArray(hello.versions) || hello.versions.length === 0 || hello.versions.length > MAX_VERSIONS) {
    throw new WireError('INVALID_VALUE', `versions must list 1 to ${MAX_VERSIONS} versions`);
  }
  hello.versions.forEach((v, i) => checkUint(v, `versions[${i}]`));
  checkNumber(hello.startedAt, 'startedAt');
  if (hello.heartbeatPort !== null && !(Number.isInteger(hello.heartbeatPort) && hello.heartbeatPort > 0 && hello.heartbeatPort < 65536)) {
    throw new WireError('INVALID_VALUE', 'heartbeatPort must be a port number 1..65535 or null');
  }
  const flags = hello.hidden ? FLAG_HIDDEN : 0;
  return packEnvelope(
    MessageType.hello,
    [hello.name, hello.incarnation, flags, hello.versions, hello.startedAt, hello.heartbeatPort],
    DATAGRAM_LIMITS,
  );
}

export function decodeHello(bytes: Uint8Array, limits: WireLimits = DATAGRAM_LIMITS): Hello {
  const f = unpackEnvelope(bytes, MessageType.hello, 6, limits);
  const port = f[5];
  if (port !== null && !(isUint(port) && port > 0 && port < 65536)) throw new WireError('MALFORMED', 'heartbeatPort must be a port number or nil');
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
    heartbeatPort: port as number | null,
  };
}
