import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { WireError } from './errors.ts';
import type { WireLimits } from './limits.ts';
import { scanMsgpack } from './scan.ts';

// msgpackr's record and structured-clone extensions are what make it fast for trusted data and
// dangerous for untrusted data (they let the sender shape objects). Both are off here, and the
// scanner refuses any extension byte before msgpackr sees it.
const packr = new Packr({
  useRecords: false,
  structuredClone: false,
  encodeUndefinedAsNil: true,
  variableMapSize: true,
});
const unpackr = new Unpackr({
  useRecords: false,
  structuredClone: false,
  mapsAsObjects: true,
});

/** Wire protocol version this build speaks. A newer major is refused; a newer minor may append fields. */
export const WIRE_MAJOR = 1;
export const WIRE_MINOR = 0;

/** The first element of every envelope: what the rest is. */
export const MessageType: { readonly heartbeat: 1; readonly hello: 2; readonly frame: 3; readonly probe: 4 } = Object.freeze({
  heartbeat: 1,
  hello: 2,
  frame: 3,
  probe: 4,
} as const);
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Packs an envelope `[type, major, minor, ...fields]` and checks it against the decoder's limits. */
export function packEnvelope(type: MessageType, fields: unknown[], limits: WireLimits): Uint8Array {
  return packChecked([type, WIRE_MAJOR, WIRE_MINOR, ...fields], limits, false);
}

/**
 * Whether a value packs to plain msgpack of a single level whatever it holds: a primitive or a
 * byte array (msgpackr writes nil, a boolean, a number, a string or bin for these, never an
 * extension). An envelope holding only such values needs no structural scan, only a size check.
 */
export function isFlatValue(v: unknown): boolean {
  return v === null || v === undefined || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof Uint8Array;
}

/** Packs `array` (a whole envelope); `flat`: every element is `isFlatValue`, so only the size is checked. */
export function packChecked(array: unknown[], limits: WireLimits, flat: boolean): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = packr.pack(array);
  } catch (cause) {
    throw new WireError('INVALID_VALUE', `cannot encode value: ${(cause as Error).message}`, { cause });
  }
  if (flat) {
    if (bytes.length > limits.maxBytes) throw new WireError('TOO_LARGE', `value would be refused by the decoder: value is ${bytes.length} bytes, limit is ${limits.maxBytes}`);
    return bytes;
  }
  try {
    scanMsgpack(bytes, limits);
  } catch (cause) {
    const err = cause as WireError;
    throw new WireError(err.code === 'TOO_LARGE' ? 'TOO_LARGE' : 'INVALID_VALUE', `value would be refused by the decoder: ${err.message}`, { cause });
  }
  return bytes;
}

/**
 * Scans, unpacks and checks the envelope of `bytes`; returns the fields after the version. For a
 * newer minor version the extra trailing fields are kept (callers ignore what they do not know).
 */
export function unpackEnvelope(bytes: Uint8Array, expected: MessageType, minFields: number, limits: WireLimits): unknown[] {
  return unpackWhole(bytes, expected, minFields, limits).slice(3);
}

/** unpackEnvelope without dropping the header: the fields start at index 3 (one array less per frame). */
export function unpackWhole(bytes: Uint8Array, expected: MessageType, minFields: number, limits: WireLimits): unknown[] {
  if (!(bytes instanceof Uint8Array)) throw new WireError('MALFORMED', 'input is not a Uint8Array');
  scanMsgpack(bytes, limits);
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (cause) {
    throw new WireError('MALFORMED', `undecodable msgpack: ${(cause as Error).message}`, { cause });
  }
  if (!Array.isArray(value) || value.length < 3) throw new WireError('MALFORMED', 'envelope is not [type, major, minor, ...]');
  const [type, major, minor] = value as [unknown, unknown, unknown];
  if (!isUint(type) || !isUint(major) || !isUint(minor)) throw new WireError('MALFORMED', 'envelope header is not three unsigned integers');
  if (type !== expected) {
    const known = Object.values(MessageType).includes(type as MessageType);
    throw new WireError(known ? 'MALFORMED' : 'UNKNOWN_TYPE', known ? `expected message type ${expected}, got ${type}` : `unknown message type ${type}`);
  }
  if (major !== WIRE_MAJOR) {
    throw new WireError('UNSUPPORTED_VERSION', `wire version ${major}.${minor} is not supported (this build speaks ${WIRE_MAJOR}.x)`);
  }
  if (value.length < 3 + minFields || (minor === WIRE_MINOR && value.length !== 3 + minFields)) {
    throw new WireError('MALFORMED', `expected ${minFields} fields, got ${value.length - 3}`);
  }
  return value;
}

/**
 * Packs `value` behind `headerLength` bytes left for the caller to fill with the envelope up to
 * its last field (at most 255), without packing the envelope itself: msgpackr leaves the room in
 * front. Checked as `packChecked` would check the whole envelope, whose other elements are
 * `envelopeItems` - 1 unsigned integers.
 */
export function packAfter(headerLength: number, value: unknown, limits: WireLimits, envelopeItems: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = packr.pack(value, RESERVE_START_SPACE | headerLength);
  } catch (cause) {
    throw new WireError('INVALID_VALUE', `cannot encode value: ${(cause as Error).message}`, { cause });
  }
  if (bytes.length > limits.maxBytes) throw new WireError('TOO_LARGE', `value would be refused by the decoder: value is ${bytes.length} bytes, limit is ${limits.maxBytes}`);
  if (!isFlatValue(value)) {
    try {
      scanMsgpack(bytes.subarray(headerLength), inside(limits, envelopeItems));
    } catch (cause) {
      const err = cause as WireError;
      throw new WireError(err.code === 'TOO_LARGE' ? 'TOO_LARGE' : 'INVALID_VALUE', `value would be refused by the decoder: ${err.message}`, { cause });
    }
  }
  return bytes;
}

/**
 * Scans and unpacks the last field of an envelope on its own (`bytes` from where it starts to
 * the end of the envelope), with the limits the whole envelope is held to: one level and
 * `envelopeItems` items are the envelope's.
 */
export function unpackLast(bytes: Uint8Array, limits: WireLimits, envelopeItems: number): unknown {
  scanMsgpack(bytes, inside(limits, envelopeItems));
  try {
    return unpackr.unpack(bytes);
  } catch (cause) {
    throw new WireError('MALFORMED', `undecodable msgpack: ${(cause as Error).message}`, { cause });
  }
}

function inside(limits: WireLimits, envelopeItems: number): WireLimits {
  return { maxBytes: limits.maxBytes, maxDepth: limits.maxDepth - 1, maxItems: limits.maxItems - envelopeItems };
}

/** Peeks at the message type without decoding the rest (for dispatch). */
export function peekType(bytes: Uint8Array): number | undefined {
  // An envelope is a fixarray or array16 whose first element is a positive fixint.
  const b0 = bytes[0];
  if (b0 === undefined) return undefined;
  const at = b0 >= 0x90 && b0 <= 0x9f ? 1 : b0 === 0xdc ? 3 : -1;
  const t = at >= 0 ? bytes[at] : undefined;
  return t !== undefined && t <= 0x7f ? t : undefined;
}

export function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Field readers: each throws MALFORMED naming the field. */
export function readUint(v: unknown, field: string): number {
  if (!isUint(v)) throw new WireError('MALFORMED', `${field} must be an unsigned safe integer`);
  return v;
}

export function readNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new WireError('MALFORMED', `${field} must be a finite number`);
  return v;
}

export function readBool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new WireError('MALFORMED', `${field} must be a boolean`);
  return v;
}

const utf8 = new TextEncoder();

export function readString(v: unknown, field: string, maxBytes: number, allowEmpty = false): string {
  if (typeof v !== 'string') throw new WireError('MALFORMED', `${field} must be a string`);
  if (!allowEmpty && v.length === 0) throw new WireError('MALFORMED', `${field} must not be empty`);
  if (v.length > maxBytes || (v.length * 3 > maxBytes && utf8.encode(v).length > maxBytes)) {
    throw new WireError('TOO_LARGE', `${field} is longer than ${maxBytes} bytes`);
  }
  return v;
}

export function readBytes(v: unknown, field: string, length: number): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) {
    throw new WireError('MALFORMED', `${field} must be ${length} bytes`);
  }
  // msgpackr may hand back a view of the input buffer (a Buffer on Node): copy, so the value
  // neither pins nor aliases the datagram, and is a plain Uint8Array on every runtime.
  return new Uint8Array(v);
}

/** Same checks for values about to be encoded: a bad value never reaches the wire. */
export function checkString(v: unknown, field: string, maxBytes: number): void {
  // At most 3 UTF-8 bytes a UTF-16 unit: a short string needs no encoding to be measured.
  if (typeof v !== 'string' || v.length === 0 || (v.length * 3 > maxBytes && utf8.encode(v).length > maxBytes)) {
    throw new WireError('INVALID_VALUE', `${field} must be a non-empty string of at most ${maxBytes} UTF-8 bytes`);
  }
}
export function checkUint(v: unknown, field: string): void {
  if (!isUint(v)) throw new WireError('INVALID_VALUE', `${field} must be an unsigned safe integer`);
}
export function checkBytes(v: unknown, field: string, length: number): void {
  if (!(v instanceof Uint8Array) || v.length !== length) throw new WireError('INVALID_VALUE', `${field} must be ${length} bytes`);
}
export function checkNumber(v: unknown, field: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new WireError('INVALID_VALUE', `${field} must be a finite number`);
}
