import {
  MessageType, WIRE_MAJOR, WIRE_MINOR, checkString, checkUint, isFlatValue, packChecked, packEnvelope, readString, readUint, unpackWhole,
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
 * Link control: `welcome` confirms the session keys; `disconnect` closes the link on purpose;
 * `open` names a user channel the sender is about to use (its number, FIRST_NAMED_CHANNEL up, is
 * the sender's own: each direction numbers its channels); `ack` tells the sender how many record
 * bytes the receiver has read so far (its flow-control window).
 */
export type ControlFrame =
  | { readonly kind: 'control'; readonly counter: number; readonly op: 'welcome' }
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
    case 'tick':
      return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.tick, null], limits);
    case 'control':
      if (frame.op === 'welcome') return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.control, ['welcome', null]], limits);
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
  if (value instanceof Uint8Array && value.length >= LARGE_BYTES) return encodeLargeBytes(counter, value, limits);
  return packChecked([MessageType.frame, WIRE_MAJOR, WIRE_MINOR, counter, KIND_CODE.message, value], limits, isFlatValue(value));
}

/** From this size a byte-array message is encoded by hand (what msgpackr would write, byte for byte). */
const LARGE_BYTES = 64 * 1024;

/**
 * The same bytes msgpackr writes for `[3, 1, 0, counter, 0, value]`, in one buffer of exactly the
 * right size: msgpackr would first grow its own buffer to twice a large value and copy it there
 * (a 32 MiB allocation for a 16 MiB message, which stalls the event loop and the collector).
 */
function encodeLargeBytes(counter: number, value: Uint8Array, limits: WireLimits): Uint8Array {
  const counterBytes = counter <= 0x7f ? 1 : counter <= 0xff ? 2 : counter <= 0xffff ? 3 : counter <= 0xffffffff ? 5 : 9;
  const binHeader = value.length <= 0xff ? 2 : value.length <= 0xffff ? 3 : 5;
  const size = 4 + counterBytes + 1 + binHeader + value.length;
  if (size > limits.maxBytes) throw new WireError('TOO_LARGE', `value would be refused by the decoder: value is ${size} bytes, limit is ${limits.maxBytes}`);
  const out = allocUnsafe(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = 0x96; // fixarray of 6
  out[1] = MessageType.frame;
  out[2] = WIRE_MAJOR;
  out[3] = WIRE_MINOR;
  let at = 4;
  if (counterBytes === 1) out[at++] = counter;
  else if (counterBytes === 2) { out[at++] = 0xcc; out[at++] = counter; }
  else if (counterBytes === 3) { out[at++] = 0xcd; view.setUint16(at, counter); at += 2; }
  else if (counterBytes === 5) { out[at++] = 0xce; view.setUint32(at, counter); at += 4; }
  else { out[at++] = 0xcb; view.setFloat64(at, counter); at += 8; } // msgpackr writes integers past 2^32 as float64
  out[at++] = KIND_CODE.message;
  if (binHeader === 2) { out[at++] = 0xc4; out[at++] = value.length; }
  else if (binHeader === 3) { out[at++] = 0xc5; view.setUint16(at, value.length); at += 2; }
  else { out[at++] = 0xc6; view.setUint32(at, value.length); at += 4; }
  out.set(value, at);
  return out;
}

export function decodeFrame(bytes: Uint8Array, limits: WireLimits = DEFAULT_FRAME_LIMITS): Frame {
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
      if (op === 'welcome') {
        if (body[1] !== null) throw new WireError('MALFORMED', 'welcome takes no reason');
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
