import { MessageType, checkString, checkUint, packEnvelope, readString, readUint, unpackEnvelope } from './codec.ts';
import { WireError } from './errors.ts';
import { DEFAULT_FRAME_LIMITS, type WireLimits } from './limits.ts';
import { decodeSystem, encodeSystem, type SystemMessage } from './system.ts';

/** Why a link is closed on purpose, as told to the peer in the closing `disconnect` frame. */
export type DisconnectReason = 'disconnect' | 'shutdown' | 'leave';
export const DISCONNECT_REASONS: readonly DisconnectReason[] = Object.freeze(['disconnect', 'shutdown', 'leave'] as const);

/**
 * Link control: `welcome` confirms the session keys; `ready` says the sender's trust decision is
 * durable (a key learned on first use is on disk), so the link may come up; `disconnect` closes the
 * link on purpose.
 */
export type ControlFrame =
  | { readonly kind: 'control'; readonly counter: number; readonly op: 'welcome' }
  | { readonly kind: 'control'; readonly counter: number; readonly op: 'ready' }
  | { readonly kind: 'control'; readonly counter: number; readonly op: 'disconnect'; readonly reason: DisconnectReason };

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
 * Encodes a frame. `counter` is the per-session frame number (it lets the receiver see a gap or
 * a replay even before the cipher's nonce would). Limits default to a 64 KiB frame.
 */
export function encodeFrame(frame: Frame, limits: WireLimits = DEFAULT_FRAME_LIMITS): Uint8Array {
  checkUint(frame.counter, 'counter');
  switch (frame.kind) {
    case 'message':
      return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.message, frame.value], limits);
    case 'tick':
      return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.tick, null], limits);
    case 'control':
      if (frame.op === 'welcome' || frame.op === 'ready') return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.control, [frame.op, null]], limits);
      if (frame.op === 'disconnect') {
        if (!DISCONNECT_REASONS.includes(frame.reason)) throw new WireError('INVALID_VALUE', `disconnect reason must be one of ${DISCONNECT_REASONS.join(', ')}`);
        checkString(frame.reason, 'reason', 32);
        return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.control, ['disconnect', frame.reason]], limits);
      }
      throw new WireError('INVALID_VALUE', `unknown control op ${String((frame as { op: unknown }).op)}`);
    case 'system':
      return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.system, encodeSystem(frame.message)], limits);
    default:
      throw new WireError('INVALID_VALUE', `unknown frame kind ${String((frame as { kind: unknown }).kind)}`);
  }
}

export function decodeFrame(bytes: Uint8Array, limits: WireLimits = DEFAULT_FRAME_LIMITS): Frame {
  const f = unpackEnvelope(bytes, MessageType.frame, 3, limits);
  const counter = readUint(f[0], 'counter');
  const kind = readUint(f[1], 'kind');
  const body = f[2];
  switch (kind) {
    case KIND_CODE.message:
      return { kind: 'message', counter, value: body };
    case KIND_CODE.tick:
      if (body !== null) throw new WireError('MALFORMED', 'tick frame must have an empty body');
      return { kind: 'tick', counter };
    case KIND_CODE.control: {
      if (!Array.isArray(body) || body.length !== 2) throw new WireError('MALFORMED', 'control body must be [op, reason]');
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
      throw new WireError('UNKNOWN_TYPE', `unknown control op ${JSON.stringify(op)}`);
    }
    case KIND_CODE.system:
      return { kind: 'system', counter, message: decodeSystem(body) };
    default:
      throw new WireError('UNKNOWN_TYPE', `unknown frame kind ${kind}`);
  }
}

/** Bytes of the length in front of each frame of a batch. */
const BATCH_LENGTH_BYTES = 4;

/** Frames sent together in one session payload, each behind a 4-byte big-endian length. */
export function encodeBatch(frames: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += BATCH_LENGTH_BYTES + f.length;
  const batch = new Uint8Array(total);
  const view = new DataView(batch.buffer);
  let at = 0;
  for (const f of frames) {
    view.setUint32(at, f.length);
    batch.set(f, at + BATCH_LENGTH_BYTES);
    at += BATCH_LENGTH_BYTES + f.length;
  }
  return batch;
}

/** The frames of a batch, as views into it. Throws MALFORMED on a truncated or empty batch. */
export function decodeBatch(batch: Uint8Array): Uint8Array[] {
  if (batch.length === 0) throw new WireError('MALFORMED', 'empty batch');
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < batch.length) {
    if (at + BATCH_LENGTH_BYTES > batch.length) throw new WireError('MALFORMED', 'truncated frame length in a batch');
    const length = view.getUint32(at);
    const start = at + BATCH_LENGTH_BYTES;
    if (start + length > batch.length) throw new WireError('MALFORMED', 'truncated frame in a batch');
    out.push(batch.subarray(start, start + length));
    at = start + length;
  }
  return out;
}
