import { MessageType, checkString, checkUint, packEnvelope, readString, readUint, unpackEnvelope } from './codec.ts';
import { WireError } from './errors.ts';
import { DEFAULT_FRAME_LIMITS, type WireLimits } from './limits.ts';

/** What a session frame carries, after decryption. */
export type Frame =
  /** A user value from `send(node, value)`: any msgpack value within the limits. */
  | { readonly kind: 'message'; readonly counter: number; readonly value: unknown }
  /** A link tick (Erlang's net_ticktime): proves the link is alive when no message flows. */
  | { readonly kind: 'tick'; readonly counter: number }
  /** Link control, e.g. `{ op: 'disconnect', reason: 'shutdown' }`. */
  | { readonly kind: 'control'; readonly counter: number; readonly op: string; readonly reason: string | null }
  /** Kernel-to-kernel requests and replies (e.g. `nodes?` / `nodes`): never delivered as user messages. */
  | { readonly kind: 'system'; readonly counter: number; readonly op: string; readonly body: unknown };

export type FrameKind = Frame['kind'];

// Kind codes are part of the protocol.
const KIND_CODE = { message: 0, tick: 1, control: 2, system: 3 } as const;
const MAX_OP_BYTES = 64;
const MAX_REASON_BYTES = 255;

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
      checkString(frame.op, 'op', MAX_OP_BYTES);
      if (frame.reason !== null) checkString(frame.reason, 'reason', MAX_REASON_BYTES);
      return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.control, [frame.op, frame.reason]], limits);
    case 'system':
      checkString(frame.op, 'op', MAX_OP_BYTES);
      return packEnvelope(MessageType.frame, [frame.counter, KIND_CODE.system, [frame.op, frame.body]], limits);
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
      return {
        kind: 'control',
        counter,
        op: readString(body[0], 'op', MAX_OP_BYTES),
        reason: body[1] === null ? null : readString(body[1], 'reason', MAX_REASON_BYTES),
      };
    }
    case KIND_CODE.system: {
      if (!Array.isArray(body) || body.length !== 2) throw new WireError('MALFORMED', 'system body must be [op, body]');
      return { kind: 'system', counter, op: readString(body[0], 'op', MAX_OP_BYTES), body: body[1] };
    }
    default:
      throw new WireError('UNKNOWN_TYPE', `unknown frame kind ${kind}`);
  }
}
