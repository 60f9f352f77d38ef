import {
  MessageType, WIRE_MAJOR, WIRE_MINOR, checkString, checkUint, packAfter, packEnvelope, readString, readUint, unpackLast, unpackWhole,
} from './codec.ts';
import { allocUnsafe } from './alloc.ts';
import { WireError } from './errors.ts';
import { DEFAULT_FRAME_LIMITS, type WireLimits } from './limits.ts';
import { FIRST_NAMED_CHANNEL, MAX_CHANNELS, MAX_CHANNEL_NAME_BYTES } from './record.ts';
import { decodeSystem, encodeSystem, type SystemMessage } from './system.ts';

/** Why a link is closed on purpose, as told to the peer in the closing `disconnect` frame. */
export type DisconnectReason = 'disconnect' | 'shutdown' | 'leave';
export const DISCONNECT_REASONS: readonly DisconnectReason[] = Object.freeze(['disconnect', 'shutdown', 'leave'] as const);

/**
 * Link control: `welcome` confirms the session keys; `ready` says the sender's trust decision is
 * durable (a key learned on first use is on disk), so the link may come up; `disconnect` closes the
 * link on purpose; `open` names a user channel the sender is about to use (its number,
 * FIRST_NAMED_CHANNEL up, is the sender's own: each direction numbers its channels); `ack` tells
 * the sender how many record bytes the receiver has read so far (its flow-control window).
 */
export type ControlFrame =
  | { readonly kind: 'control'; readonly counter: number; readonly op: 'welcome' }
  | { readonly kind: 'control'; readonly counter: number; readonly op: 'ready' }
  | { readonly kind: 'control'; readonly counter: number; readonly op: 'disconnect'; readonly reason: DisconnectReason }
  | { readonly kind: 'control'; readonly counter: number; readonly op: 'open'; readonly channel: number; readonly name: string }
  | { readonly kind: 'control'; readonly counter: number; readonly op: 'ack'; readonly bytes: number };

/** What a session frame carries, after decryption. */
export type Frame =
  /** A user value from `send(node, value)`: any msgpack value within the limits. */
  | { readonly kind: 'message'; readonly counter: number; readonly value: unknown }
  /** A link tick (Erlang's net_ticktime): proves the link is alive when no message flows. */
  | { readonly kind: 'tick'; readonly counter: number }
  | ControlFrame
  /** Kernel-to-kernel requests and replies: never delivered as user messages. */
  | { readonly kind: 'system'; readonly counter: number; readonly message: SystemMessage };

export type FrameKind = Frame['kind'];

// Kind codes are part of the protocol.
const KIND_CODE = { message: 0, tick: 1, control: 2, system: 3 } as const;

/**
 * Encodes a frame. `counter` numbers the frames of one channel of a link (the receiver checks that
 * each is the next: a frame lost or reordered by a bug is a protocol error, not a silent gap).
 * Limits default to a 64 KiB frame.
 */
export function encodeFrame(frame: Frame, limits: WireLimits = DEFAULT_FRAME_LIMITS): Uint8Array {
  checkUint(frame.counter, 'counter');
  switch (frame.kind) {
    case 'message':
      return encodeMessageFrame(frame.counter, frame.value, limits);
    case 'tick': {
      // What msgpackr writes for [3, 1, 0, counter, 1, null], without it: every idle link end
      // sends one every tickTime/4 (the tests compare the bytes with the general encoder's).
      const head = headerLength(frame.counter);
      if (head + 1 > limits.maxBytes || limits.maxItems < 6 || limits.maxDepth < 1) {
        return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.tick, null], limits);
      }
      const out = allocUnsafe(head + 1);
      writeHeader(out, frame.counter);
      out[head - 1] = KIND_CODE.tick;
      out[head] = 0xc0; // nil: a tick has no body
      return out;
    }
    case 'control':
      if (frame.op === 'welcome' || frame.op === 'ready') return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.control, [frame.op, null]], limits);
      if (frame.op === 'disconnect') {
        if (!DISCONNECT_REASONS.includes(frame.reason)) throw new WireError('INVALID_VALUE', `disconnect reason must be one of ${DISCONNECT_REASONS.join(', ')}`);
        checkString(frame.reason, 'reason', 32);
        return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.control, ['disconnect', frame.reason]], limits);
      }
      if (frame.op === 'open') {
        checkChannel(frame.channel);
        checkString(frame.name, 'channel name', MAX_CHANNEL_NAME_BYTES);
        return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.control, ['open', [frame.channel, frame.name]]], limits);
      }
      if (frame.op === 'ack') {
        checkUint(frame.bytes, 'bytes');
        return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.control, ['ack', frame.bytes]], limits);
      }
      throw new WireError('INVALID_VALUE', `unknown control op ${String((frame as { op: unknown }).op)}`);
    case 'system':
      return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.system, encodeSystem(frame.message)], limits);
    default:
      throw new WireError('INVALID_VALUE', `unknown frame kind ${String((frame as { kind: unknown }).kind)}`);
  }
}

/**
 * `encodeFrame({ kind: 'message', counter, value })` without building the frame: the per-message
 * path, with no structural scan for a flat value (a primitive or bytes), only the size check.
 */
export function encodeMessageFrame(counter: number, value: unknown, limits: WireLimits = DEFAULT_FRAME_LIMITS): Uint8Array {
  checkUint(counter, 'counter');
  const head = headerLength(counter);
  if (value instanceof Uint8Array) return encodeBytes(counter, head, value, limits);
  const out = packAfter(head, value, limits, 6);
  writeHeader(out, counter);
  return out;
}

const COUNTER_BYTES = (counter: number): number => (counter <= 0x7f ? 1 : counter <= 0xff ? 2 : counter <= 0xffff ? 3 : counter <= 0xffffffff ? 5 : 9);
/** Bytes of a message frame's envelope before its value. */
const headerLength = (counter: number): number => 5 + COUNTER_BYTES(counter);
const F64 = new DataView(new ArrayBuffer(8));

/**
 * Writes the envelope of a message frame up to its value at the start of `out`: what msgpackr
 * writes for `[3, 1, 0, counter, 0, ...]` (integers past 2^32 as float64, as msgpackr does).
 */
function writeHeader(out: Uint8Array, counter: number, at = 0): void {
  out[at] = 0x96; // fixarray of 6
  out[at + 1] = MessageType.frame;
  out[at + 2] = WIRE_MAJOR;
  out[at + 3] = WIRE_MINOR;
  const n = COUNTER_BYTES(counter);
  const c = at + 4;
  if (n === 1) out[c] = counter;
  else if (n === 2) { out[c] = 0xcc; out[c + 1] = counter; }
  else if (n === 3) { out[c] = 0xcd; out[c + 1] = counter >>> 8; out[c + 2] = counter & 0xff; }
  else if (n === 5) { out[c] = 0xce; out[c + 1] = counter >>> 24; out[c + 2] = (counter >>> 16) & 0xff; out[c + 3] = (counter >>> 8) & 0xff; out[c + 4] = counter & 0xff; }
  else {
    out[c] = 0xcb;
    F64.setFloat64(0, counter);
    for (let i = 0; i < 8; i++) out[c + 1 + i] = F64.getUint8(i);
  }
  out[c + n] = KIND_CODE.message;
}

/**
 * A message whose value is bytes, in one buffer of exactly the right size, byte for byte what
 * msgpackr writes: msgpackr would first grow its own buffer to twice a large value and copy it
 * there (a 32 MiB allocation for a 16 MiB message, which stalls the event loop and the collector).
 */
function encodeBytes(counter: number, head: number, value: Uint8Array, limits: WireLimits): Uint8Array {
  const out = bytesFrameHead(counter, head, value.length, limits, value.length);
  out.set(value, out.length - value.length);
  return out;
}

/**
 * The start of a message frame whose value is `length` bytes, up to the value itself (envelope and
 * bin header), with `room` spare bytes after it; throws as encodeMessageFrame would.
 */
function bytesFrameHead(counter: number, head: number, length: number, limits: WireLimits, room: number): Uint8Array {
  const binHeader = length <= 0xff ? 2 : length <= 0xffff ? 3 : 5;
  const size = head + binHeader + length;
  if (size > limits.maxBytes) throw new WireError('TOO_LARGE', `value would be refused by the decoder: value is ${size} bytes, limit is ${limits.maxBytes}`);
  const out = allocUnsafe(head + binHeader + room);
  writeHeader(out, counter);
  let at = head;
  const n = length;
  if (binHeader === 2) { out[at++] = 0xc4; out[at++] = n; }
  else if (binHeader === 3) { out[at++] = 0xc5; out[at++] = n >>> 8; out[at++] = n & 0xff; }
  else { out[at++] = 0xc6; out[at++] = n >>> 24; out[at++] = (n >>> 16) & 0xff; out[at++] = (n >>> 8) & 0xff; out[at++] = n & 0xff; }
  return out;
}

/** Bytes of the message frame encodeMessageFrame writes for a byte value of `valueLength` bytes. */
export function messageFrameBytes(counter: number, valueLength: number): number {
  return headerLength(counter) + (valueLength <= 0xff ? 2 : valueLength <= 0xffff ? 3 : 5) + valueLength;
}

/**
 * encodeMessageFrame for a byte value, written into `target` at `at` (messageFrameBytes of it,
 * which must fit): the same bytes, with no buffer of its own. For a sender that packs many small
 * frames into one buffer. Returns the frame's length; throws as encodeMessageFrame would.
 */
export function encodeMessageFrameInto(target: Uint8Array, at: number, counter: number, value: Uint8Array, limits: WireLimits = DEFAULT_FRAME_LIMITS): number {
  checkUint(counter, 'counter');
  const size = messageFrameBytes(counter, value.length);
  if (size > limits.maxBytes) throw new WireError('TOO_LARGE', `value would be refused by the decoder: value is ${size} bytes, limit is ${limits.maxBytes}`);
  if (at + size > target.length) throw new RangeError(`a frame of ${size} bytes does not fit at ${at} of ${target.length}`);
  writeHeader(target, counter, at);
  const n = value.length;
  let i = at + headerLength(counter);
  if (n <= 0xff) { target[i++] = 0xc4; target[i++] = n; }
  else if (n <= 0xffff) { target[i++] = 0xc5; target[i++] = n >>> 8; target[i++] = n & 0xff; }
  else { target[i++] = 0xc6; target[i++] = n >>> 24; target[i++] = (n >>> 16) & 0xff; target[i++] = (n >>> 8) & 0xff; target[i++] = n & 0xff; }
  target.set(value, i);
  return size;
}

/**
 * encodeMessageFrame for a byte value, as two parts: the frame is `head` followed by `value`
 * itself (not copied), byte for byte what encodeMessageFrame writes. For a sender that reads the
 * value as it goes out (a large message is not copied at send).
 */
export function encodeMessageFrameHead(counter: number, value: Uint8Array, limits: WireLimits = DEFAULT_FRAME_LIMITS): Uint8Array {
  checkUint(counter, 'counter');
  return bytesFrameHead(counter, headerLength(counter), value.length, limits, 0);
}

/**
 * decodeFrame for a message or tick frame in the form our encoder writes (fixarray envelope,
 * canonical counter): a message's value is decoded alone, and a byte value is a view of `bytes`
 * with no msgpack decoding at all. Null for anything else, which the general decoder then judges: both accept
 * and refuse exactly the same inputs, with the same limits.
 */
function decodeFrameFast(bytes: Uint8Array, start: number, end: number, limits: WireLimits): Frame | null {
  const s = start;
  if (end - s < 7 || bytes[s] !== 0x96 || bytes[s + 1] !== MessageType.frame || bytes[s + 2] !== WIRE_MAJOR || bytes[s + 3] !== WIRE_MINOR) return null;
  if (end - s > limits.maxBytes) return null;
  let at = s + 4;
  const c = bytes[at]!;
  let counter: number;
  if (c <= 0x7f) { counter = c; at += 1; }
  else if (c === 0xcc) { counter = bytes[s + 5]!; at += 2; }
  else if (c === 0xcd) { counter = (bytes[s + 5]! << 8) | bytes[s + 6]!; at += 3; }
  else if (c === 0xce && end - s > 9) { counter = ((bytes[s + 5]! << 24) >>> 0) + ((bytes[s + 6]! << 16) | (bytes[s + 7]! << 8) | bytes[s + 8]!); at += 5; }
  else return null;
  if (at >= end || limits.maxDepth < 1 || limits.maxItems < 6) return null;
  // A tick in the one form there is: kind 1, a nil body, nothing after it.
  if (bytes[at] === KIND_CODE.tick) return at + 2 === end && bytes[at + 1] === 0xc0 ? { kind: 'tick', counter } : null;
  if (bytes[at] !== KIND_CODE.message) return null;
  at++;
  if (at >= end) return null;
  const t = bytes[at]!;
  // A byte value filling the rest exactly: a view, as msgpackr would hand back.
  let n = -1;
  let from = 0;
  if (t === 0xc4 && end - at >= 2) { n = bytes[at + 1]!; from = at + 2; }
  else if (t === 0xc5 && end - at >= 3) { n = (bytes[at + 1]! << 8) | bytes[at + 2]!; from = at + 3; }
  else if (t === 0xc6 && end - at >= 5) { n = ((bytes[at + 1]! << 24) >>> 0) + ((bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!); from = at + 5; }
  if (n >= 0 && from + n === end) return { kind: 'message', counter, value: bytes.subarray(from, end) };
  return { kind: 'message', counter, value: unpackLast(bytes.subarray(at, end), limits, 6) };
}

/**
 * decodeFrame of `bytes[start..end)`, without a view of the range for the common message frame
 * (for a reader that holds many frames in one record).
 */
export function decodeFrameAt(bytes: Uint8Array, start: number, end: number, limits: WireLimits = DEFAULT_FRAME_LIMITS): Frame {
  if (bytes instanceof Uint8Array) {
    const fast = decodeFrameFast(bytes, start, end, limits);
    if (fast) return fast;
  }
  return decodeFrame(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), limits);
}

export function decodeFrame(bytes: Uint8Array, limits: WireLimits = DEFAULT_FRAME_LIMITS): Frame {
  if (bytes instanceof Uint8Array) {
    const fast = decodeFrameFast(bytes, 0, bytes.length, limits);
    if (fast) return fast;
  }
  const f = unpackWhole(bytes, MessageType.frame, 3, limits);
  const counter = readUint(f[3], 'counter');
  const kind = readUint(f[4], 'kind');
  const body = f[5];
  switch (kind) {
    case KIND_CODE.message:
      return { kind: 'message', counter, value: body };
    case KIND_CODE.tick:
      if (body !== null) throw new WireError('MALFORMED', 'tick frame must have an empty body');
      return { kind: 'tick', counter };
    case KIND_CODE.control: {
      if (!Array.isArray(body) || body.length !== 2) throw new WireError('MALFORMED', 'control body must be [op, argument]');
      const op = readString(body[0], 'op', 32);
      if (op === 'welcome' || op === 'ready') {
        if (body[1] !== null) throw new WireError('MALFORMED', `${op} takes no reason`);
        return { kind: 'control', counter, op };
      }
      if (op === 'disconnect') {
        const reason = readString(body[1], 'reason', 32);
        if (!(DISCONNECT_REASONS as readonly string[]).includes(reason)) throw new WireError('MALFORMED', `unknown disconnect reason ${JSON.stringify(reason)}`);
        return { kind: 'control', counter, op, reason: reason as DisconnectReason };
      }
      if (op === 'open') {
        const arg = body[1];
        if (!Array.isArray(arg) || arg.length !== 2) throw new WireError('MALFORMED', 'open takes [channel, name]');
        const channel = readUint(arg[0], 'channel');
        if (channel < FIRST_NAMED_CHANNEL || channel >= MAX_CHANNELS) throw new WireError('MALFORMED', `channel ${channel} cannot be opened by name`);
        return { kind: 'control', counter, op, channel, name: readString(arg[1], 'channel name', MAX_CHANNEL_NAME_BYTES) };
      }
      if (op === 'ack') return { kind: 'control', counter, op, bytes: readUint(body[1], 'bytes') };
      throw new WireError('UNKNOWN_TYPE', `unknown control op ${JSON.stringify(op)}`);
    }
    case KIND_CODE.system:
      return { kind: 'system', counter, message: decodeSystem(body) };
    default:
      throw new WireError('UNKNOWN_TYPE', `unknown frame kind ${kind}`);
  }
}

function checkChannel(channel: number): void {
  if (!Number.isInteger(channel) || channel < FIRST_NAMED_CHANNEL || channel >= MAX_CHANNELS) {
    throw new WireError('INVALID_VALUE', `a named channel's number must be ${FIRST_NAMED_CHANNEL}..${MAX_CHANNELS - 1}, got ${String(channel)}`);
  }
}
