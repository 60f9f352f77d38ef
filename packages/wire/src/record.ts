// After the handshake a link carries records, one per Noise transport message (so at most 65519
// plaintext bytes each). A record is a sequence of pieces; a piece belongs to a channel and holds
// a whole frame or a cut of one. Frames of different channels interleave piece by piece, so a small
// frame never waits behind the rest of a large one (Erlang's "busy dist port"; Partisan's
// channels); within a channel, pieces and frames keep their order.
//
//   piece  = channel (u8) | flags (u8) | length (u16, big-endian) | [total (u32)] | length bytes
//   flags  = START (1): the first piece of a frame; END (2): the last; both: a whole frame;
//            neither: a middle piece. A START piece that is not also END carries `total`, the
//            frame's length, so a receiver refuses an oversize frame from its first piece.
//
// Strict: unknown flag bits, an empty piece, a piece running past its record, a START on a channel
// whose frame is unfinished (or a middle piece on one with none), pieces adding up to more or less
// than `total`, and more than MAX_OPEN_FRAMES unfinished frames are all refused.
import { allocUnsafe } from './alloc.ts';
import { WireError } from './errors.ts';

/** Plaintext bytes of a record: Noise's 65535-byte message minus its 16-byte tag (Noise §3, §5.1). */
export const MAX_RECORD_BYTES = 65_519;
/** channel, flags, length. */
export const PIECE_HEADER_BYTES = 4;
/** The `total` a START-only piece adds to its header. */
export const PIECE_TOTAL_BYTES = 4;
export const PIECE_START = 1;
export const PIECE_END = 2;
/** Channel numbers are one byte. */
export const MAX_CHANNELS = 256;
/**
 * Frames a sender may have started and not finished at once, across all its channels: what a
 * receiver holds for reassembly is bounded by this many frames (each within the frame limit).
 */
export const MAX_OPEN_FRAMES = 16;

/**
 * The channels of a link. `control` carries the link's own frames (welcome, ticks, channel
 * announcements, the closing frame); `system` the kernel's requests; `default` the user messages
 * sent without a channel. Named user channels take the numbers from FIRST_NAMED_CHANNEL up, each
 * sender numbering its own and announcing each name once (an `open` control frame).
 */
export const CHANNELS: { readonly control: 0; readonly system: 1; readonly default: 2 } = Object.freeze({ control: 0, system: 1, default: 2 } as const);
export const FIRST_NAMED_CHANNEL = 3;
/** Longest channel name, in UTF-8 bytes. */
export const MAX_CHANNEL_NAME_BYTES = 64;

/**
 * Builds one record in a buffer it reuses: `put` copies a piece in, `take` returns the record so
 * far (a view, valid until the next `put`), `reset` starts the next one.
 */
export class RecordBuilder {
  readonly #buffer = new Uint8Array(MAX_RECORD_BYTES);
  #at = 0;

  /** Bytes used so far. */
  get length(): number {
    return this.#at;
  }

  /** Room for piece data after a header (of a START-only piece when `withTotal`); 0 when none. */
  room(withTotal: boolean): number {
    return Math.max(0, MAX_RECORD_BYTES - this.#at - PIECE_HEADER_BYTES - (withTotal ? PIECE_TOTAL_BYTES : 0));
  }

  /**
   * Appends a piece: `data`, followed by `tail` when the piece's bytes lie in two arrays. `total`
   * is the frame's length, written only for a START piece without END. The caller keeps within
   * `room`; a piece that cannot fit throws (a bug, not bad input).
   */
  put(channel: number, flags: number, data: Uint8Array, total: number, tail?: Uint8Array): void {
    const withTotal = flags === PIECE_START;
    const length = data.length + (tail ? tail.length : 0);
    if (length === 0 || length > this.room(withTotal)) throw new RangeError(`piece of ${length} bytes does not fit the record`);
    const b = this.#buffer;
    let at = this.#at;
    b[at] = channel;
    b[at + 1] = flags;
    b[at + 2] = length >>> 8;
    b[at + 3] = length & 0xff;
    at += PIECE_HEADER_BYTES;
    if (withTotal) {
      b[at] = total >>> 24;
      b[at + 1] = (total >>> 16) & 0xff;
      b[at + 2] = (total >>> 8) & 0xff;
      b[at + 3] = total & 0xff;
      at += PIECE_TOTAL_BYTES;
    }
    b.set(data, at);
    if (tail) b.set(tail, at + data.length);
    this.#at = at + length;
  }

  /** Bytes left in the record. */
  get free(): number {
    return MAX_RECORD_BYTES - this.#at;
  }

  /**
   * Appends whole pieces already in wire form (header and data, as `put` would write them): for a
   * sender that keeps small frames as ready pieces, one copy for many. The caller keeps within
   * `free` and writes well-formed pieces (a bug otherwise, not bad input).
   */
  putPieces(pieces: Uint8Array): void {
    if (pieces.length > MAX_RECORD_BYTES - this.#at) throw new RangeError(`${pieces.length} bytes of pieces do not fit the record`);
    this.#buffer.set(pieces, this.#at);
    this.#at += pieces.length;
  }

  take(): Uint8Array {
    return this.#buffer.subarray(0, this.#at);
  }

  reset(): void {
    this.#at = 0;
  }
}

/** A frame completed by a record, on `channel`: `bytes[start..end)`. */
export type FrameAt = (channel: number, bytes: Uint8Array, start: number, end: number) => void;

interface Unfinished {
  /** The frame being filled in, `total` bytes, `have` of them received. */
  frame: Uint8Array;
  have: number;
  total: number;
}

/**
 * The receiving side: takes records in order and hands back every frame they complete, with its
 * channel. Whole pieces are handed back as views into the record (no copy). A frame cut into
 * pieces is copied piece by piece, as they come, into a buffer of its announced size (so no
 * single long copy stalls the reader when a 16 MiB frame completes); that buffer is allocated
 * uninitialised, so its pages are only touched, and resident, as bytes arrive. Any violation throws
 * a WireError and the reader is then unusable.
 */
export class RecordReader {
  readonly #maxFrameBytes: number;
  readonly #unfinished: (Unfinished | undefined)[] = [];
  #open = 0;
  #buffered = 0;
  #failure: WireError | null = null;

  /** `maxFrameBytes`: the largest frame accepted (what the frame decoder would take). */
  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Frames started and not finished. */
  get open(): number {
    return this.#open;
  }

  /** Bytes held for unfinished frames. */
  get buffered(): number {
    return this.#buffered;
  }

  /**
   * Reads one record (its plaintext, or its plaintext in consecutive parts as a decryption of
   * stream parts gives it); calls `onFrame` for each frame it completes, in order.
   */
  read(record: Uint8Array | readonly Uint8Array[], onFrame: (channel: number, frame: Uint8Array) => void): void {
    this.readInPlace(record, (channel, bytes, start, end) => onFrame(channel, start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end)));
  }

  /**
   * read(), with each frame given as `bytes[start..end)`: a whole piece is handed over where it
   * lies in the record, with no view made of it (for a reader that decodes it in place).
   */
  readInPlace(record: Uint8Array | readonly Uint8Array[], onFrame: FrameAt): void {
    if (this.#failure) throw this.#failure;
    try {
      if (record instanceof Uint8Array) this.#read(record, onFrame);
      else if (record.length === 1) this.#read(record[0]!, onFrame);
      else this.#readParts(record, onFrame);
    } catch (err) {
      if (err instanceof WireError) this.#failure = err;
      throw err;
    }
  }

  #read(record: Uint8Array, onFrame: FrameAt): void {
    const end = record.length;
    if (end === 0) throw new WireError('MALFORMED', 'empty record');
    let at = 0;
    while (at < end) {
      if (end - at < PIECE_HEADER_BYTES) throw new WireError('MALFORMED', `truncated piece header at byte ${at} of a record`);
      const channel = record[at]!;
      const flags = record[at + 1]!;
      const length = (record[at + 2]! << 8) | record[at + 3]!;
      at += PIECE_HEADER_BYTES;
      let total = 0;
      if (flags === PIECE_START) {
        if (end - at < PIECE_TOTAL_BYTES) throw new WireError('MALFORMED', 'truncated frame length of a first piece');
        total = ((record[at]! << 24) >>> 0) + ((record[at + 1]! << 16) | (record[at + 2]! << 8) | record[at + 3]!);
        at += PIECE_TOTAL_BYTES;
      }
      if (end - at < length) throw new WireError('MALFORMED', `piece of ${length} bytes runs past its record`);
      if (flags === (PIECE_START | PIECE_END) && length > 0 && length <= this.#maxFrameBytes && this.#unfinished[channel] === undefined) {
        onFrame(channel, record, at, at + length); // a whole frame: where it lies (what #piece would accept)
      } else {
        this.#piece(channel, flags, length, total, record.subarray(at, at + length), onFrame);
      }
      at += length;
    }
  }

  /** The same as #read over consecutive parts: pieces are views of the parts, joined only where a whole frame straddles two. */
  #readParts(parts: readonly Uint8Array[], onFrame: FrameAt): void {
    let left = 0;
    for (const p of parts) left += p.length;
    if (left === 0) throw new WireError('MALFORMED', 'empty record');
    let pi = 0;
    let off = 0;
    let read = 0;
    const byte = (): number => {
      while (off >= parts[pi]!.length) {
        pi++;
        off = 0;
      }
      left--;
      read++;
      return parts[pi]![off++]!;
    };
    const views = (n: number): Uint8Array[] => {
      const out: Uint8Array[] = [];
      left -= n;
      read += n;
      while (n > 0) {
        const p = parts[pi]!;
        if (off >= p.length) {
          pi++;
          off = 0;
          continue;
        }
        const k = Math.min(n, p.length - off);
        out.push(p.subarray(off, off + k));
        off += k;
        n -= k;
      }
      return out;
    };
    while (left > 0) {
      if (left < PIECE_HEADER_BYTES) throw new WireError('MALFORMED', `truncated piece header at byte ${read} of a record`);
      const channel = byte();
      const flags = byte();
      const length = (byte() << 8) | byte();
      let total = 0;
      if (flags === PIECE_START) {
        if (left < PIECE_TOTAL_BYTES) throw new WireError('MALFORMED', 'truncated frame length of a first piece');
        total = ((byte() << 24) >>> 0) + ((byte() << 16) | (byte() << 8) | byte());
      }
      if (left < length) throw new WireError('MALFORMED', `piece of ${length} bytes runs past its record`);
      this.#piece(channel, flags, length, total, length > 0 ? views(length) : [], onFrame);
    }
  }

  /** One piece: `data` is its bytes, as one view or consecutive views. */
  #piece(channel: number, flags: number, length: number, total: number, data: Uint8Array | Uint8Array[], onFrame: FrameAt): void {
    if (flags > (PIECE_START | PIECE_END)) throw new WireError('MALFORMED', `unknown piece flags 0x${flags.toString(16)}`);
    if (length === 0) throw new WireError('MALFORMED', 'empty piece');
    const unfinished = this.#unfinished[channel];
    if (flags & PIECE_START) {
      if (unfinished) throw new WireError('MALFORMED', `channel ${channel} starts a frame before finishing the last one`);
      if (flags & PIECE_END) {
        if (length > this.#maxFrameBytes) throw new WireError('TOO_LARGE', `frame of ${length} bytes, limit is ${this.#maxFrameBytes}`);
        const frame = data instanceof Uint8Array ? data : data.length === 1 ? data[0]! : join(data, length);
        onFrame(channel, frame, 0, frame.length);
        return;
      }
      if (total > this.#maxFrameBytes) throw new WireError('TOO_LARGE', `frame of ${total} bytes announced, limit is ${this.#maxFrameBytes}`);
      if (total <= length) throw new WireError('MALFORMED', `first piece of ${length} bytes announces a frame of only ${total}`);
      if (this.#open >= MAX_OPEN_FRAMES) throw new WireError('MALFORMED', `more than ${MAX_OPEN_FRAMES} frames unfinished at once`);
      const frame = allocUnsafe(total);
      copyInto(frame, 0, data);
      this.#unfinished[channel] = { frame, have: length, total };
      this.#open++;
      this.#buffered += length;
      return;
    }
    if (!unfinished) throw new WireError('MALFORMED', `piece on channel ${channel}, which has no frame in progress`);
    const have = unfinished.have + length;
    if (have > unfinished.total || (flags & PIECE_END && have !== unfinished.total) || (!(flags & PIECE_END) && have === unfinished.total)) {
      throw new WireError('MALFORMED', `pieces of channel ${channel} do not add up to the announced ${unfinished.total} bytes`);
    }
    copyInto(unfinished.frame, unfinished.have, data);
    unfinished.have = have;
    this.#buffered += length;
    if (!(flags & PIECE_END)) return;
    this.#unfinished[channel] = undefined;
    this.#open--;
    this.#buffered -= have;
    onFrame(channel, unfinished.frame, 0, unfinished.frame.length);
  }
}

function join(parts: readonly Uint8Array[], length: number): Uint8Array {
  const frame = allocUnsafe(length);
  copyInto(frame, 0, parts);
  return frame;
}

function copyInto(frame: Uint8Array, at: number, data: Uint8Array | readonly Uint8Array[]): void {
  if (data instanceof Uint8Array) {
    frame.set(data, at);
    return;
  }
  for (const d of data) {
    frame.set(d, at);
    at += d.length;
  }
}
