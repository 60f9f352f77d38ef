// Noise messages on a byte stream: a 2-byte big-endian length, then the message (Noise §13 suggests
// exactly this). Pure: the kernel pushes whatever chunks the socket gives and writes what it gets.
import { MAX_MESSAGE_BYTES } from './cipher-state.ts';
import { HandshakeError } from './errors.ts';

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 2;

/** `message` with its length prefix. Refuses messages over 65535 bytes (Noise's limit). */
export function frameMessage(message: Uint8Array): Uint8Array {
  if (message.length > MAX_MESSAGE_BYTES) {
    throw new HandshakeError('FRAME_TOO_LARGE', `message of ${message.length} bytes exceeds Noise's ${MAX_MESSAGE_BYTES}`);
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + message.length);
  out[0] = message.length >>> 8;
  out[1] = message.length & 0xff;
  out.set(message, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Splits a byte stream into messages, whatever the chunking. A length above `maxFrameBytes` is
 * refused as soon as its two header bytes arrive, before any of its body is buffered; the decoder
 * is then dead (every later push throws the same error). Messages may share memory with the
 * pushed chunk; copy them if you keep them past the chunk's life.
 */
export class FrameDecoder {
  /** Largest message accepted (at most 65535). Lower it during a handshake if you like. */
  maxFrameBytes: number;
  #header = -1; // first header byte when only one has arrived
  #body: Uint8Array | null = null;
  #filled = 0;
  #failure: HandshakeError | null = null;

  constructor(maxFrameBytes: number = MAX_MESSAGE_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_MESSAGE_BYTES) {
      throw new HandshakeError('INVALID_CONFIG', `maxFrameBytes must be an integer in 0..${MAX_MESSAGE_BYTES}, got ${maxFrameBytes}`);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for an incomplete message (header included). */
  get buffered(): number {
    return (this.#header >= 0 ? 1 : 0) + (this.#body ? FRAME_HEADER_BYTES + this.#filled : 0);
  }

  /** Feeds bytes; returns every message they complete, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failure) throw this.#failure;
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#body) {
        const n = Math.min(this.#body.length - this.#filled, chunk.length - at);
        this.#body.set(chunk.subarray(at, at + n), this.#filled);
        this.#filled += n;
        at += n;
        if (this.#filled === this.#body.length) {
          out.push(this.#body);
          this.#body = null;
        }
        continue;
      }
      let length: number;
      if (this.#header >= 0) {
        length = (this.#header << 8) | chunk[at]!;
        this.#header = -1;
        at += 1;
      } else if (chunk.length - at >= FRAME_HEADER_BYTES) {
        length = (chunk[at]! << 8) | chunk[at + 1]!;
        at += FRAME_HEADER_BYTES;
      } else {
        this.#header = chunk[at]!;
        at += 1;
        break;
      }
      if (length > this.maxFrameBytes) {
        this.#failure = new HandshakeError('FRAME_TOO_LARGE', `frame of ${length} bytes announced, limit is ${this.maxFrameBytes}`);
        throw this.#failure;
      }
      if (chunk.length - at >= length) {
        // The whole message is in this chunk: hand out a view, no copy.
        out.push(chunk.subarray(at, at + length));
        at += length;
      } else {
        this.#body = new Uint8Array(length);
        this.#filled = 0;
      }
    }
    return out;
  }
}
