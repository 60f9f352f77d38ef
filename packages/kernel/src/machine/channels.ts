// The sending side of a link's channels: encoded frames wait here, one queue per channel, and are
// cut into the pieces of the next records (wire/src/record.ts). The link's own channels (control,
// system) go first; user channels share what is left round-robin, each taking up to a quantum per
// turn while others wait, so a small message is never stuck behind the rest of a large one. Order
// is kept within a channel; nothing here reorders frames of one channel.
import { CHANNELS, MAX_OPEN_FRAMES, MAX_RECORD_BYTES, PIECE_END, PIECE_HEADER_BYTES, PIECE_START, RecordBuilder } from '@distkit/wire';

/**
 * Bytes a user channel may put in a record before the next waiting channel gets its turn (only
 * while two or more are waiting). Smaller means lower latency for the others, more pieces for it.
 */
export const QUANTUM_BYTES: number = 16 * 1024;
/**
 * Frames up to this size are never cut while they fit an empty record: one that does not fit what
 * is left of the current record starts the next one (at most this much of a record goes unused).
 */
export const WHOLE_FRAME_BYTES = 1024;
/** Open frames the user channels may hold; the rest of MAX_OPEN_FRAMES is kept for control and system. */
const USER_OPEN_FRAMES = MAX_OPEN_FRAMES - 2;

/**
 * Small frames nobody waits for are not queued one by one: they are written, as whole pieces
 * ready for a record (piece header included), one after another into a run, and go into records
 * a run slice at a time (one copy for many frames, no buffer or queue entry of their own per
 * frame). A channel's first run is small; each that fills makes the next one larger, up to a
 * record's size, so a lone message costs little and a burst few buffers.
 */
const FIRST_RUN_BYTES = 4096;
const RUN_BYTES = MAX_RECORD_BYTES;
/**
 * A full-size run's buffer, all of it in records already: the next full-size run of any link
 * reuses it (records copy what they take, so nothing refers to it). Shared, so an idle link holds
 * none.
 */
let spareRun: Uint8Array | null = null;

interface Queued {
  /** The encoded frame, or its start when `body` holds the rest; for a run, its buffer. */
  readonly bytes: Uint8Array;
  /** The rest of the frame, not copied (a byte value read as it goes out), or null. */
  readonly body: Uint8Array | null;
  /** Bytes of the whole frame; for a run, of its pieces so far (it grows while it is last in its channel). */
  length: number;
  /** A run of whole small pieces (see RUN_BYTES), not one frame. */
  readonly run: boolean;
  /** Bytes already put into records. */
  sent: number;
  /** Settled (through the link's host) once the frame's last piece is in a record; null: nobody waits. */
  readonly ticket: number | null;
}

class Channel {
  readonly id: number;
  frames: Queued[] = [];
  head = 0;
  /** Bytes queued and not yet in a record. */
  queued = 0;
  /** The next frame counter (frames are numbered per channel). */
  counter = 0;
  /** In the round-robin ring. */
  ready = false;
  /** The size of this channel's next run. */
  runBytes = FIRST_RUN_BYTES;

  constructor(id: number) {
    this.id = id;
  }

  get first(): Queued | undefined {
    return this.frames[this.head];
  }

  get last(): Queued | undefined {
    return this.head < this.frames.length ? this.frames[this.frames.length - 1] : undefined;
  }

  shift(): void {
    this.frames[this.head++] = undefined as unknown as Queued;
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
  }
}

export class Outbox {
  readonly #channels: (Channel | undefined)[] = [];
  /** User channels with frames waiting, in turn order; `#turn` is the one whose turn it is. */
  #ring: Channel[] = [];
  #turn = 0;
  /** What the channel whose turn it is has used of its quantum. */
  #used = 0;
  #openUser = 0;
  #priorityQueued = 0;
  #userQueued = 0;
  /** Where `reserveSmall` left room: the run and the offset of the frame in it. */
  #reserved: Queued | null = null;
  #reservedAt = 0;
  /** The reserved run is new: not in its channel's queue yet. */
  #fresh = false;

  #channel(id: number): Channel {
    let c = this.#channels[id];
    if (!c) this.#channels[id] = c = new Channel(id);
    return c;
  }

  /** The counter the next frame pushed on `channel` carries. */
  counter(channel: number): number {
    return this.#channels[channel]?.counter ?? 0;
  }

  /** Bytes waiting on `channel`, not yet in a record. */
  queuedOn(channel: number): number {
    return this.#channels[channel]?.queued ?? 0;
  }

  /** Control or system frames wait. */
  get hasPriority(): boolean {
    return this.#priorityQueued > 0;
  }

  /** User frames wait. */
  get hasUser(): boolean {
    return this.#userQueued > 0;
  }

  /**
   * Queues an encoded frame (it carries `counter(channel)`): `bytes`, followed by `body` when the
   * frame is in two parts (`body` is then read, not copied, as its pieces go into records).
   */
  push(channel: number, bytes: Uint8Array, ticket: number | null, body: Uint8Array | null = null): void {
    const c = this.#channel(channel);
    const length = bytes.length + (body ? body.length : 0);
    c.counter++;
    c.frames.push({ bytes, body, length, sent: 0, ticket, run: false });
    this.#queued(c, length);
  }

  /**
   * Room for a small frame (`frameBytes` at most WHOLE_FRAME_BYTES) nobody waits for, at the end
   * of `channel`'s queue: the buffer to write it into, at `reservedAt`; `pushSmall` then queues it.
   */
  reserveSmall(channel: number, frameBytes: number): Uint8Array {
    const c = this.#channel(channel);
    const need = PIECE_HEADER_BYTES + frameBytes;
    let run = c.last;
    this.#fresh = false;
    if (!run || !run.run || run.length + need > run.bytes.length) {
      // A new run joins the queue with its first piece (pushSmall), never empty.
      if (run?.run) c.runBytes = Math.min(RUN_BYTES, c.runBytes * 4); // the last one filled up
      let bytes: Uint8Array;
      if (c.runBytes === RUN_BYTES && spareRun) {
        bytes = spareRun;
        spareRun = null;
      } else {
        bytes = new Uint8Array(c.runBytes);
      }
      run = { bytes, body: null, length: 0, sent: 0, ticket: null, run: true };
      this.#fresh = true;
    }
    this.#reserved = run;
    this.#reservedAt = run.length + PIECE_HEADER_BYTES;
    return run.bytes;
  }

  /** Where the frame goes in the buffer `reserveSmall` returned. */
  get reservedAt(): number {
    return this.#reservedAt;
  }

  /** Queues the `frameBytes` written at `reservedAt` (it carries `counter(channel)`) as a whole piece. */
  pushSmall(channel: number, frameBytes: number): void {
    const c = this.#channel(channel);
    const run = this.#reserved!;
    this.#reserved = null;
    if (this.#fresh) c.frames.push(run);
    const b = run.bytes;
    const at = run.length;
    b[at] = channel;
    b[at + 1] = PIECE_START | PIECE_END;
    b[at + 2] = frameBytes >>> 8;
    b[at + 3] = frameBytes & 0xff;
    run.length = at + PIECE_HEADER_BYTES + frameBytes;
    c.counter++;
    this.#queued(c, PIECE_HEADER_BYTES + frameBytes);
  }

  #queued(c: Channel, length: number): void {
    c.queued += length;
    if (c.id <= CHANNELS.system) {
      this.#priorityQueued += length;
      return;
    }
    this.#userQueued += length;
    if (!c.ready) {
      c.ready = true;
      this.#ring.push(c);
    }
  }

  /** Whole pieces of `run` from where it stands that fit `space` bytes (stopping once `budget` is used): their bytes. */
  #runSlice(run: Queued, space: number, budget: number): number {
    const b = run.bytes;
    let at = run.sent;
    let taken = 0;
    while (at < run.length && taken < budget) {
      const piece = PIECE_HEADER_BYTES + ((b[at + 2]! << 8) | b[at + 3]!);
      if (taken + piece > space) break;
      taken += piece;
      at += piece;
    }
    return taken;
  }

  /** Puts `n` bytes of whole pieces of the run at the head of `c` into the record. */
  #putRun(builder: RecordBuilder, c: Channel, run: Queued, n: number): void {
    builder.putPieces(run.bytes.subarray(run.sent, run.sent + n));
    run.sent += n;
    c.queued -= n;
    if (run.sent === run.length) {
      c.shift();
      // Nothing refers to its bytes now (records copy what they take): the next run reuses them.
      if (run !== this.#reserved && run.bytes.length === RUN_BYTES) spareRun = run.bytes;
    }
  }

  /**
   * Puts pieces into `builder` (an empty record) until it is full or nothing may go: control and
   * system frames first, then, when `user`, the user channels in turn. Tickets of frames that are
   * now wholly in the record are appended to `done`.
   */
  fill(builder: RecordBuilder, user: boolean, done: number[]): void {
    for (const id of [CHANNELS.control, CHANNELS.system]) {
      const c = this.#channels[id];
      while (c?.first) {
        const before = c.queued;
        if (!this.#put(builder, c, Number.POSITIVE_INFINITY, done, true)) return;
        this.#priorityQueued -= before - c.queued;
      }
    }
    if (!user) return;
    // Round-robin (deficit style): the channel whose turn it is goes on until its quantum is used,
    // its queue is empty, or the record is full; a lone channel is never cut short.
    let blocked = 0;
    while (this.#ring.length > 0 && blocked < this.#ring.length) {
      if (this.#turn >= this.#ring.length) this.#turn = 0;
      const c = this.#ring[this.#turn]!;
      const quantum = this.#ring.length > 1 ? QUANTUM_BYTES - this.#used : Number.POSITIVE_INFINITY;
      const before = c.queued;
      const progressed = this.#put(builder, c, quantum, done, false);
      const sent = before - c.queued;
      this.#userQueued -= sent;
      this.#used += sent;
      if (!c.first) {
        // Empty: out of the ring; the next channel now sits at `#turn`.
        c.ready = false;
        this.#ring.splice(this.#turn, 1);
        this.#used = 0;
        blocked = 0;
        continue;
      }
      if (!progressed && sent === 0) {
        if (builder.room(false) === 0 || this.#wantsNewRecord(builder, c)) return; // the record is full
        // Cannot start its frame (open-frame limit): let the others go.
        blocked++;
        this.#next();
        continue;
      }
      blocked = 0;
      if (this.#ring.length > 1 && this.#used >= QUANTUM_BYTES) this.#next();
      else if (builder.room(false) === 0) return;
    }
  }

  /**
   * Puts only whole small frames (at most WHOLE_FRAME_BYTES) from the heads of the user channels,
   * in turn order, leaving larger ones where they are: what may still go when flow control holds
   * the large ones back, so that a small message never waits for the window a large one filled.
   */
  fillSmall(builder: RecordBuilder, done: number[]): void {
    for (let i = 0; i < this.#ring.length; i++) {
      const c = this.#ring[i]!;
      for (let f = c.first; f?.run; f = c.first) {
        const n = this.#runSlice(f, builder.free, Number.POSITIVE_INFINITY);
        if (n === 0) return;
        this.#putRun(builder, c, f, n);
        this.#userQueued -= n;
        if (c.first === f) return; // the record is full
      }
      for (let f = c.first; f && !f.run && f.sent === 0 && f.length <= WHOLE_FRAME_BYTES; f = c.first) {
        if (f.length > builder.room(false)) return;
        putRange(builder, c.id, PIECE_START | PIECE_END, f, 0, f.length);
        this.#userQueued -= f.length;
        this.#finish(c, f, f.length, done);
      }
      if (!c.first) {
        c.ready = false;
        this.#ring.splice(i, 1);
        if (i < this.#turn) this.#turn--;
        else if (i === this.#turn) this.#used = 0;
        i--;
      }
    }
  }

  #next(): void {
    this.#turn++;
    this.#used = 0;
  }

  /** The head frame of `c` is small and whole, and would fit an empty record but not this one. */
  #wantsNewRecord(builder: RecordBuilder, c: Channel): boolean {
    const f = c.first;
    if (f?.run) return PIECE_HEADER_BYTES + ((f.bytes[f.sent + 2]! << 8) | f.bytes[f.sent + 3]!) > builder.free;
    return !!f && f.sent === 0 && f.length <= WHOLE_FRAME_BYTES && f.length > builder.room(false);
  }

  /**
   * Puts pieces of `c`'s frames (at most `limit` bytes) into the record. Returns false when the
   * record cannot take more of this channel now (full, or its next frame must start a new record
   * or wait for an open-frame slot).
   */
  #put(builder: RecordBuilder, c: Channel, limit: number, done: number[], priority: boolean): boolean {
    let budget = limit;
    while (budget > 0) {
      const f = c.first;
      if (!f) return true;
      if (f.run) {
        const n = this.#runSlice(f, builder.free, budget);
        if (n === 0) return false; // its next piece must start a new record
        this.#putRun(builder, c, f, n);
        budget -= n;
        if (c.first === f && budget > 0) return false; // the record is full
        continue;
      }
      const left = f.length - f.sent;
      const starting = f.sent === 0;
      if (starting && left <= builder.room(false) && (left <= budget || left <= WHOLE_FRAME_BYTES || priority)) {
        putRange(builder, c.id, PIECE_START | PIECE_END, f, 0, left);
        this.#finish(c, f, left, done);
        budget -= left;
        continue;
      }
      if (starting && left <= WHOLE_FRAME_BYTES) return false; // small: whole, in the next record
      if (starting && !priority && this.#openUser >= USER_OPEN_FRAMES) return false;
      const room = builder.room(starting);
      if (room === 0) return false;
      const n = Math.min(left, room, budget);
      const last = f.sent + n === f.length;
      putRange(builder, c.id, (starting ? PIECE_START : 0) | (last ? PIECE_END : 0), f, f.sent, n);
      if (starting && !priority) this.#openUser++;
      if (last) {
        if (!priority) this.#openUser--;
        this.#finish(c, f, n, done);
      } else {
        f.sent += n;
        c.queued -= n;
      }
      budget -= n;
    }
    return true;
  }

  #finish(c: Channel, f: Queued, n: number, done: number[]): void {
    f.sent += n;
    c.queued -= n;
    if (f.ticket !== null) done.push(f.ticket);
    c.shift();
  }

  /** Every frame still waiting, and their tickets (the link is closing). */
  clear(): number[] {
    const tickets: number[] = [];
    for (const c of this.#channels) {
      if (!c) continue;
      for (let i = c.head; i < c.frames.length; i++) {
        const t = c.frames[i]!.ticket;
        if (t !== null) tickets.push(t);
      }
      c.frames = [];
      c.head = 0;
      c.queued = 0;
      c.ready = false;
    }
    this.#ring = [];
    this.#turn = 0;
    this.#used = 0;
    this.#openUser = 0;
    this.#priorityQueued = 0;
    this.#userQueued = 0;
    this.#reserved = null;
    return tickets;
  }
}

/** Puts bytes `from` to `from + n` of a queued frame into the record as one piece (the range may span its two parts). */
function putRange(builder: RecordBuilder, channel: number, flags: number, f: Queued, from: number, n: number): void {
  const head = f.bytes;
  const body = f.body;
  if (body === null || from + n <= head.length) {
    builder.put(channel, flags, from === 0 && n === head.length ? head : head.subarray(from, from + n), f.length);
  } else if (from >= head.length) {
    builder.put(channel, flags, body.subarray(from - head.length, from - head.length + n), f.length);
  } else {
    builder.put(channel, flags, head.subarray(from), f.length, body.subarray(0, from + n - head.length));
  }
}
