// A session after the handshake: payloads of any size (up to a limit) over Noise transport
// messages, framed for a byte stream, with a rekey every `rekeyInterval` messages.
import { MAX_MESSAGE_BYTES, NoiseCipherState, TAG_BYTES, joinParts, type CipherState } from './cipher-state.ts';
import { HandshakeError } from './errors.ts';
import { FRAME_HEADER_BYTES, FrameDecoder } from './framing.ts';
import type { TransportCiphers } from './handshake.ts';

/**
 * Plaintext bytes per Noise message. A payload is sent as full chunks followed by one shorter
 * chunk (possibly empty): a message shorter than this ends the payload, so no flag byte (and no
 * copy of the payload to prepend one) is needed.
 */
export const CHUNK_BYTES: number = MAX_MESSAGE_BYTES - TAG_BYTES;
/** Chunks at least this large are sealed without joining ciphertext and tag (copying costs more). */
const DETACH_FROM = 4096;
/** Default: both directions rekey (Noise §11.3) every 2^16 messages. */
export const DEFAULT_REKEY_INTERVAL = 65_536;
/** Default largest reassembled payload: 16 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES: number = 16 * 1024 * 1024;

export interface SessionOptions {
  /** Messages per direction between rekeys; both sides must use the same value. */
  readonly rekeyInterval?: number;
  /** Largest payload `open` reassembles; a peer sending more fails the session (FRAME_TOO_LARGE). */
  readonly maxPayloadBytes?: number;
  /** Continue with this decoder (and the bytes it holds), e.g. the one that carried the handshake. */
  readonly decoder?: FrameDecoder;
}

export interface Session {
  /**
   * The bytes carrying `payload`, as arrays to write in order: their concatenation is one or more
   * frames (2-byte length + Noise message). A small payload is one array; a large chunk is three
   * (header, ciphertext, tag), so that it is never copied (use writev / cork, or write each).
   */
  seal(payload: Uint8Array): Uint8Array[];
  /** Feeds stream bytes; returns every payload they complete, in order. */
  open(chunk: Uint8Array): Uint8Array[];
  /** Feeds one Noise message (already unframed); returns the payload if it completes one. */
  openMessage(message: Uint8Array): Uint8Array | null;
  /**
   * Record mode, for a caller that frames its own data in units of one Noise message (the kernel's
   * links): seals `plaintext` (at most CHUNK_BYTES) as exactly one framed message, with no
   * continuation rule, as arrays to write in order. Not to be mixed with `seal` on one session.
   */
  sealRecord(plaintext: Uint8Array): Uint8Array[];
  /** Opens one Noise message (already unframed) sealed by `sealRecord`: its plaintext. */
  openRecord(message: Uint8Array): Uint8Array;
  /**
   * openRecord() of a message given in consecutive parts (FrameDecoder.nextParts): the plaintext
   * in parts, with no copy to join them.
   */
  openRecordParts(parts: readonly Uint8Array[]): Uint8Array[];
  /** Messages sent and received so far (each payload is one or more messages). */
  readonly messagesSent: number;
  readonly messagesReceived: number;
}

export function createSession(ciphers: TransportCiphers, options: SessionOptions = {}): Session {
  return new NoiseSession(ciphers, options);
}

class NoiseSession implements Session {
  readonly #send: NoiseCipherState;
  readonly #receive: NoiseCipherState;
  readonly #rekeyInterval: number;
  readonly #maxPayload: number;
  readonly #decoder: FrameDecoder;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #sent = 0;
  #received = 0;
  #failure: HandshakeError | null = null;

  constructor(ciphers: TransportCiphers, o: SessionOptions) {
    const own = (c: CipherState | undefined, what: string): NoiseCipherState => {
      if (!(c instanceof NoiseCipherState)) throw new HandshakeError('INVALID_CONFIG', `ciphers.${what} must come from handshake.split()`);
      return c;
    };
    this.#send = own(ciphers?.send, 'send');
    this.#receive = own(ciphers?.receive, 'receive');
    this.#rekeyInterval = o.rekeyInterval ?? DEFAULT_REKEY_INTERVAL;
    this.#maxPayload = o.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    if (!Number.isSafeInteger(this.#rekeyInterval) || this.#rekeyInterval < 1) {
      throw new HandshakeError('INVALID_CONFIG', `rekeyInterval must be a positive integer, got ${o.rekeyInterval}`);
    }
    if (!Number.isSafeInteger(this.#maxPayload) || this.#maxPayload < 0) {
      throw new HandshakeError('INVALID_CONFIG', `maxPayloadBytes must be a non-negative integer, got ${o.maxPayloadBytes}`);
    }
    this.#decoder = o.decoder ?? new FrameDecoder();
  }

  get messagesSent(): number {
    return this.#sent;
  }

  get messagesReceived(): number {
    return this.#received;
  }

  #guard<T>(step: () => T): T {
    if (this.#failure) throw this.#failure;
    try {
      return step();
    } catch (err) {
      this.#failure = err instanceof HandshakeError ? err : new HandshakeError('MALFORMED_FRAME', String(err), { cause: err });
      throw this.#failure;
    }
  }

  seal(payload: Uint8Array): Uint8Array[] {
    if (!(payload instanceof Uint8Array)) throw new HandshakeError('INVALID_CONFIG', 'payload must be a Uint8Array');
    if (payload.length > this.#maxPayload) {
      // The peer would refuse it; refusing here keeps the session usable.
      throw new HandshakeError('FRAME_TOO_LARGE', `payload of ${payload.length} bytes exceeds maxPayloadBytes ${this.#maxPayload}`);
    }
    return this.#guard(() => {
      const frames: Uint8Array[] = [];
      for (let at = 0; ; at += CHUNK_BYTES) {
        const chunk = payload.subarray(at, at + CHUNK_BYTES);
        this.#sealChunk(chunk, frames);
        if (chunk.length < CHUNK_BYTES) return frames;
      }
    });
  }

  sealRecord(plaintext: Uint8Array): Uint8Array[] {
    if (this.#failure) throw this.#failure;
    if (plaintext.length > CHUNK_BYTES) throw new HandshakeError('FRAME_TOO_LARGE', `record of ${plaintext.length} bytes exceeds ${CHUNK_BYTES}`);
    return this.#guard(() => {
      const frames: Uint8Array[] = [];
      this.#sealChunk(plaintext, frames);
      return frames;
    });
  }

  openRecord(message: Uint8Array): Uint8Array {
    return this.openRecordParts([message])[0]!; // one part decrypts with one call, no join
  }

  openRecordParts(parts: readonly Uint8Array[]): Uint8Array[] {
    if (this.#failure) throw this.#failure;
    return this.#guard(() => {
      if (this.#received > 0 && this.#received % this.#rekeyInterval === 0) this.#receive.rekey();
      const plain = this.#receive.decryptParts(parts);
      this.#received++;
      return plain;
    });
  }

  /** One Noise message for `chunk`, appended to `frames` (one array, or three for a large chunk). */
  #sealChunk(chunk: Uint8Array, frames: Uint8Array[]): void {
    if (this.#sent > 0 && this.#sent % this.#rekeyInterval === 0) this.#send.rekey();
    if (chunk.length < DETACH_FROM) {
      const frame = this.#send.encryptFramed(chunk, EMPTY, FRAME_HEADER_BYTES);
      frame[0] = (chunk.length + TAG_BYTES) >>> 8;
      frame[1] = (chunk.length + TAG_BYTES) & 0xff;
      frames.push(frame);
    } else {
      // Large chunk: header, ciphertext and tag as three arrays, so the payload is not copied.
      const [ciphertext, tag] = this.#send.encryptDetached(chunk);
      const length = chunk.length + TAG_BYTES;
      frames.push(new Uint8Array([length >>> 8, length & 0xff]), ciphertext, tag);
    }
    this.#sent++;
  }

  open(chunk: Uint8Array): Uint8Array[] {
    return this.#guard(() => {
      const out: Uint8Array[] = [];
      const decoder = this.#decoder;
      decoder.feed(chunk);
      // Messages as the chunks hold them: no copy to join one that spans two chunks.
      for (let parts = decoder.nextParts(); parts; parts = decoder.nextParts()) {
        const payload = this.#openParts(parts);
        if (payload) out.push(payload);
      }
      return out;
    });
  }

  openMessage(message: Uint8Array): Uint8Array | null {
    return this.#guard(() => this.#openMessage(message));
  }

  #openMessage(message: Uint8Array): Uint8Array | null {
    return this.#openParts([message]);
  }

  /** One Noise message, in consecutive parts: the payload, if it is the last of one. */
  #openParts(message: readonly Uint8Array[]): Uint8Array | null {
    if (this.#received > 0 && this.#received % this.#rekeyInterval === 0) this.#receive.rekey();
    const plain = this.#receive.decryptParts(message);
    this.#received++;
    let length = 0;
    for (const p of plain) length += p.length;
    if (this.#pendingBytes + length > this.#maxPayload) {
      throw new HandshakeError('FRAME_TOO_LARGE', `peer's payload exceeds maxPayloadBytes ${this.#maxPayload}`);
    }
    for (const p of plain) this.#pending.push(p);
    this.#pendingBytes += length;
    if (length === CHUNK_BYTES) return null;
    const pending = this.#pending;
    const total = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (pending.length === 1) return pending[0]!;
    if (pending.length === 0) return new Uint8Array(0);
    return joinParts(pending, total);
  }
}

const EMPTY = new Uint8Array(0);
