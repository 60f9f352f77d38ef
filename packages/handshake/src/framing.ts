// Noise messages on a byte stream: a 2-byte big-endian length, then the message (Noise §13 suggests
// exactly this). Pure: the kernel pushes whatever chunks the socket gives and writes what it gets.
import { MAX_MESSAGE_BYTES } from './cipher-state.ts';
import { HandshakeError } from './errors.ts';

/** Unread chunks held before they are joined into one (bounds memory and work per byte). */
const MAX_PENDING_CHUNKS = 64;

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
 * Splits a byte stream into messages, whatever the chunking. `feed` stores chunks (as views, no
 * copy); `next` returns one message at a time, checking each length against `maxFrameBytes` as
 * soon as its two header bytes are there, before its body is awaited. `push` does both and returns
 * every complete message. Pulling one message at a time lets a caller change the limit between
 * messages (small during a handshake, 65535 after). After a refusal the decoder is dead: every
 * later call throws the same error. A message may share memory with a fed chunk; copy it if you
 * keep it past the chunk's life.
 */
export class FrameDecoder {
  /** Largest message accepted (at most 65535). */
  maxFrameBytes: number;
  #chunks: Uint8Array[] = [];
  #head = 0; // first unread chunk
  #offset = 0; // read position in #chunks[#head]
  #available = 0;
  #failure: HandshakeError | null = null;

  constructor(maxFrameBytes: number = MAX_MESSAGE_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_MESSAGE_BYTES) {
      throw new HandshakeError('INVALID_CONFIG', `maxFrameBytes must be an integer in 0..${MAX_MESSAGE_BYTES}, got ${maxFrameBytes}`);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received and not yet returned as messages. */
  get buffered(): number {
    return this.#available;
  }

  /** Stores a chunk; call `next` to take messages out. */
  feed(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    if (chunk.length) {
      this.#chunks.push(chunk);
      this.#available += chunk.length;
      // A peer trickling one byte at a time must not make us hold (and walk) thousands of views.
      if (this.#chunks.length - this.#head > MAX_PENDING_CHUNKS) this.#compact();
    }
  }

  #compact(): void {
    const all = new Uint8Array(this.#available);
    let at = 0;
    for (let i = this.#head; i < this.#chunks.length; i++) {
      const c = i === this.#head ? this.#chunks[i]!.subarray(this.#offset) : this.#chunks[i]!;
      all.set(c, at);
      at += c.length;
    }
    this.#chunks = [all];
    this.#head = 0;
    this.#offset = 0;
  }

  /** The length of the next message once all of it is here (its header then consumed), else null; throws past the limit. */
  #frameReady(): number | null {
    if (this.#failure) throw this.#failure;
    if (this.#available < FRAME_HEADER_BYTES) return null;
    const length = (this.#byteAt(0) << 8) | this.#byteAt(1);
    if (length > this.maxFrameBytes) {
      this.#failure = new HandshakeError('FRAME_TOO_LARGE', `frame of ${length} bytes announced, limit is ${this.maxFrameBytes}`);
      throw this.#failure;
    }
    if (this.#available < FRAME_HEADER_BYTES + length) return null;
    this.#skip(FRAME_HEADER_BYTES);
    return length;
  }

  /** The next complete message, or null until more bytes arrive. */
  next(): Uint8Array | null {
    const length = this.#frameReady();
    if (length === null) return null;
    return this.#take(length);
  }

  /**
   * next(), without joining a message that spans chunks: its bytes as views of the chunks, in
   * order (one view when it lies within one chunk). For a reader that can take parts (the record
   * layer decrypts part by part), this saves a copy of nearly every message of a bulk transfer.
   */
  nextParts(): Uint8Array[] | null {
    const length = this.#frameReady();
    if (length === null) return null;
    const parts: Uint8Array[] = [];
    let left = length;
    while (left > 0) {
      const c = this.#chunks[this.#head]!;
      const n = Math.min(left, c.length - this.#offset);
      parts.push(c.subarray(this.#offset, this.#offset + n));
      this.#skip(n);
      left -= n;
    }
    if (parts.length === 0) parts.push(new Uint8Array(0));
    return parts;
  }

  /** feed() then every complete message, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.feed(chunk);
    const out: Uint8Array[] = [];
    for (let m = this.next(); m !== null; m = this.next()) out.push(m);
    return out;
  }

  #byteAt(i: number): number {
    let at = this.#offset + i;
    for (let k = this.#head; k < this.#chunks.length; k++) {
      const c = this.#chunks[k]!;
      if (at < c.length) return c[at]!;
      at -= c.length;
    }
    throw new RangeError('read past the buffered bytes');
  }

  #skip(n: number): void {
    this.#available -= n;
    while (n > 0) {
      const first = this.#chunks[this.#head]!;
      const left = first.length - this.#offset;
      if (n < left) {
        this.#offset += n;
        return;
      }
      n -= left;
      this.#head++;
      this.#offset = 0;
    }
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    }
  }

  #take(n: number): Uint8Array {
    const first = this.#chunks[this.#head];
    if (n === 0 || !first) return new Uint8Array(0);
    if (first.length - this.#offset >= n) {
      // Within one chunk: a view, no copy.
      const view = first.subarray(this.#offset, this.#offset + n);
      this.#skip(n);
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[this.#head]!;
      const part = c.subarray(this.#offset, this.#offset + Math.min(n - filled, c.length - this.#offset));
      out.set(part, filled);
      filled += part.length;
      this.#skip(part.length);
    }
    return out;
  }
}
