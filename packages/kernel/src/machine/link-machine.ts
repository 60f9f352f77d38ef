// One link to one peer, as a pure state machine: stream bytes in, stream bytes out. The Noise
// handshake (in the suite the initiator names and the responder accepts) with its hello exchange,
// the welcome confirmation, then records of frames on channels (channels.ts: control, system and
// user channels, cut into pieces that interleave) with Erlang-style ticks. It knows nothing of
// policy or trust: once the peer has proven its key and named itself it asks its host (`onPeer`),
// and once both sides hold the same keys it tells the host (`onConfirmed`), which decides when the
// link is up. No clock, no timer, no socket: the time comes with every input and the next deadline
// is a field the host reads.
import {
  FrameDecoder, clusterSecretId, createHandshake, createSession, distkitPrologue, firstRecordMac, frameMessage,
  type Handshake, type KeyPair, type Session,
} from '@distkit/handshake';
import {
  CHANNELS, DistkitError, FIRST_NAMED_CHANNEL, MAX_CHANNELS, RecordBuilder, RecordReader, decodeFrameAt, decodeHello, decodeLinkPreamble,
  encodeFrame, encodeHello, encodeMessageFrame, encodeMessageFrameHead, encodeMessageFrameInto, encodeLinkPreamble, messageFrameBytes, firstRecordSigned, hasPsk, type DisconnectReason, type Frame, type Hello,
  type LinkPattern, type LinkPreamble, type LinkSuite,
  type WireLimits,
} from '@distkit/wire';
import type { NodedownReason } from '../api.ts';
import { KernelError } from '../errors.ts';
import { Outbox, WHOLE_FRAME_BYTES } from './channels.ts';
import { ACK_BYTES, FlowWindow } from './flow-window.ts';

/**
 * Record bytes one flush writes before it lets the host run pending I/O (`resumeLater`): a large
 * message goes out this much per turn of the event loop, so what is sent meanwhile, and what the
 * other end of a local link reads, is never behind more than about this much.
 */
export const TURN_BYTES: number = 512 * 1024;
/**
 * A send resolves at once while what waits on its channel (with it) stays under this; beyond, it
 * resolves when its last byte is handed to the stream (per-channel back-pressure).
 */
export const CHANNEL_HIGH_WATER_BYTES: number = 1024 * 1024;
/** Beyond the flow-control window, whole small frames may still go, up to this much more (a bounded bypass). */
export const SMALL_SLACK_BYTES: number = 64 * 1024;
/**
 * The record being built: one for all links (a record is built and sealed within one call, and
 * sealing copies it), so an idle link does not hold 64 KiB for it.
 */
const SCRATCH = new RecordBuilder();
/** The user channel a send without a channel name uses. */
export const DEFAULT_CHANNEL = 'default';

/** What every link of a node shares; read at the moment it is needed (secrets and hello may change). */
export interface LinkConfig {
  readonly identity: KeyPair;
  readonly cluster: string;
  hello(): Hello;
  /** Newest first; empty when the cluster has no secret. */
  clusterSecrets(): readonly Uint8Array[];
  readonly setupTimeMs: number;
  /** A responder's first record must arrive this soon (a connection that sends nothing is closed fast). */
  readonly firstRecordMs: number;
  readonly tickTimeMs: number;
  readonly tickIntensity: number;
  readonly frameLimits: WireLimits;
  /** Largest reassembled user message. */
  readonly maxMessageBytes: number;
  /** Suites this node accepts, in order of preference: an initiator proposes the first. */
  readonly suites: readonly LinkSuite[];
  /** User data in flight (written, not yet acknowledged by the peer) per link (flow-window.ts). */
  readonly flowWindowBytes: number;
  /** Where ephemeral keys come from (the Transport's randomness). */
  randomBytes(n: number): Uint8Array;
}

/**
 * The host's answer about a peer. `learn`: its key is to be learned on first use (TOFU) once the
 * session is confirmed; the link waits for `trustSettled` before it says `ready`.
 */
export type PeerVerdict =
  | { readonly accept: true; readonly learn?: boolean }
  | { readonly accept: false; readonly reason: NodedownReason; readonly detail: string };

/** The link's side of the node machine. Every call is synchronous. */
export interface LinkHost {
  /** Bytes for this link's stream, in order. */
  write(link: LinkMachine, data: readonly Uint8Array[]): void;
  /** Close the stream: `graceful` after what was written, else at once. */
  end(link: LinkMachine, graceful: boolean): void;
  /** Frames are waiting: call `flush` before the current turn ends. */
  flushLater(link: LinkMachine): void;
  /** More is waiting than one flush writes: call `flush` again once pending I/O has run. */
  resumeLater(link: LinkMachine): void;
  /** The send that got `ticket` from `send` is done: its message was handed to the stream, or not (`error`). */
  sendSettled(link: LinkMachine, ticket: number, error: KernelError | null): void;
  /** The link's deadline moved (see `deadline`). */
  deadlineMoved(link: LinkMachine): void;
  /** A responder's first record: the initiator's choice of pattern and suite, before any crypto. Go on? */
  onPreamble(link: LinkMachine, preamble: LinkPreamble): PeerVerdict;
  /** The peer proved `remoteKey` and says it is `hello.name`: go on? */
  onPeer(link: LinkMachine, hello: Hello, remoteKey: Uint8Array): PeerVerdict;
  /**
   * Both sides hold the same keys (the peer's welcome decrypted). If the peer's key is to be
   * learned, the host persists it and then calls `trustSettled`.
   */
  onConfirmed(link: LinkMachine): void;
  /** Confirmed, our trust settled and said (`ready`), and the peer's `ready` in: the host admits the link and calls `goUp`. */
  onReady(link: LinkMachine): void;
  /** A frame for the host (messages and system requests); `channel`: the user channel's name, for a message on a named one. */
  onFrame(link: LinkMachine, frame: Frame, channel: string | undefined): void;
  /**
   * The link is gone (once; also for links that never came up). `deliberate`: closed on purpose
   * (by us, or by the peer in its closing frame), and why.
   */
  onClosed(link: LinkMachine, reason: NodedownReason, detail: string, deliberate: DisconnectReason | null): void;
}

// `confirming`: Noise is finished here, but not proven on the other side: in XX the responder judges
// the initiator only on the last message, and with a psk in the last message (XXpsk3, IKpsk2) the
// side that writes it cannot know whether the other derived the same keys. Each side sends a
// `welcome` as soon as it completes; `confirmed` once the peer's welcome decrypts. A side that must
// learn the peer's key (TOFU) persists it then, and only then sends `ready` (the others send it
// with their welcome): a link is up on either side only when both sides' trust is durable. The
// host then admits the link (the policy's `connected`) and calls `goUp`; frames that arrive before
// are held.
export type LinkState = 'handshake' | 'confirming' | 'confirmed' | 'up' | 'closed';

export class LinkMachine {
  readonly conn: number;
  readonly role: 'initiator' | 'responder';
  readonly #cfg: LinkConfig;
  readonly #host: LinkHost;
  #state: LinkState = 'handshake';
  #hs: Handshake | undefined;
  #pattern: LinkPattern | undefined;
  #suite: LinkSuite;
  #session: Session | undefined;
  /** Splits the stream into Noise messages, for the handshake and then for the session. */
  readonly #decoder = new FrameDecoder();
  #remoteHello: Hello | undefined;
  #remoteKey: Uint8Array | undefined;
  #secret: Uint8Array | undefined;
  #lastReceived: number;
  #lastSent: number;
  #deadline: number;
  /** Frames that arrived before `up`, with their channel names. */
  #held: [Frame, string | undefined][] = [];
  /** We must learn the peer's key before we say `ready`. */
  #learn = false;
  #readySent = false;
  #peerReady = false;
  #firstRecordIn = false;
  readonly #outbox = new Outbox();
  #reader: RecordReader | undefined;
  /** Our named channels: name -> number (each side numbers its own). */
  readonly #outgoing = new Map<string, number>();
  #nextChannel = FIRST_NAMED_CHANNEL;
  /** The peer's named channels, by number. */
  readonly #incoming: (string | undefined)[] = [];
  readonly #incomingNames = new Set<string>();
  /** The counter the next frame on each channel must carry. */
  readonly #expected: number[] = [];
  #flushWanted = false;
  #resumeWanted = false;
  /** Any byte came from the peer. */
  #heardBack = false;
  #refusedSuite: LinkSuite | null = null;
  #helloSent: Hello | undefined;
  /** Record bytes written since the handshake, and how many of them the peer says it has read. */
  readonly #flow: FlowWindow;
  /** Record bytes read from the peer, and how many of them our last `ack` reported. */
  #read = 0;
  #readAcked = 0;
  /** The peer's address, for events and admission (the host's business, kept here for convenience). */
  readonly remote: { readonly host: string; readonly port: number };
  readonly openedAt: number;
  upAt = -1;
  /** The stream's send buffer is over its high-water mark (set by the host). */
  congested = false;

  constructor(
    cfg: LinkConfig,
    host: LinkHost,
    o: { conn: number; role: 'initiator' | 'responder'; now: number; remote: { host: string; port: number }; remoteKey?: Uint8Array | null },
  ) {
    this.#cfg = cfg;
    this.#host = host;
    this.conn = o.conn;
    this.role = o.role;
    this.remote = o.remote;
    this.openedAt = o.now;
    this.#lastReceived = this.#lastSent = o.now;
    this.#deadline = o.now + (o.role === 'responder' ? Math.min(cfg.firstRecordMs, cfg.setupTimeMs) : cfg.setupTimeMs);
    this.#suite = cfg.suites[0]!;
    this.#flow = new FlowWindow(cfg.flowWindowBytes);
    if (o.role === 'initiator') this.#startInitiator(o.remoteKey ?? undefined, o.now);
  }

  get state(): LinkState {
    return this.#state;
  }
  get remoteHello(): Hello | undefined {
    return this.#remoteHello;
  }
  get remoteKey(): Uint8Array | undefined {
    return this.#remoteKey;
  }
  get pattern(): LinkPattern | undefined {
    return this.#pattern;
  }
  /** Our hello as this link sent it (the node's may have changed since: its tags, say). */
  get helloSent(): Hello | undefined {
    return this.#helloSent;
  }

  #ourHello(): Uint8Array {
    this.#helloSent = this.#cfg.hello();
    return encodeHello(this.#helloSent);
  }

  /** The suite a first record asked for and this node refused (the link is then closed), else null. */
  get refusedSuite(): LinkSuite | null {
    return this.#refusedSuite;
  }

  /** The suite in use (for an initiator before the answer: the one it proposed). */
  get suite(): LinkSuite {
    return this.#suite;
  }
  /** An inbound link whose first record has not arrived yet (the first to go when slots run out). */
  get awaitingFirstRecord(): boolean {
    return this.role === 'responder' && !this.#firstRecordIn && this.#state === 'handshake';
  }

  /** When `timeout` must be called (setup deadline, then the next tick check). */
  get deadline(): number {
    return this.#deadline;
  }

  #setDeadline(at: number): void {
    if (at === this.#deadline) return;
    this.#deadline = at;
    this.#host.deadlineMoved(this);
  }

  #handshake(pattern: LinkPattern, initiator: boolean, remoteKey: Uint8Array | undefined): Handshake {
    return createHandshake({
      protocolName: `Noise_${pattern}_${this.#suite}`,
      initiator,
      prologue: distkitPrologue(this.#cfg.cluster),
      staticKeyPair: this.#cfg.identity,
      ...(remoteKey ? { remoteStaticKey: remoteKey } : {}),
      psks: this.#secret ? [this.#secret] : [],
      randomBytes: (n) => this.#cfg.randomBytes(n),
    });
  }

  #startInitiator(remoteKey: Uint8Array | undefined, now: number): void {
    this.#secret = this.#cfg.clusterSecrets()[0];
    const psk = this.#secret !== undefined;
    this.#pattern = remoteKey ? (psk ? 'IKpsk2' : 'IK') : psk ? 'XXpsk3' : 'XX';
    try {
      this.#hs = this.#handshake(this.#pattern, true, remoteKey);
      // IK carries our hello in the first message (encrypted to the pinned key); XX sends it last.
      const first = this.#hs.writeMessage(this.#pattern.startsWith('IK') ? this.#ourHello() : undefined);
      const preamble: LinkPreamble = { pattern: this.#pattern, suite: this.#suite, secretId: this.#secret ? clusterSecretId(this.#secret) : null };
      const mac = this.#secret ? firstRecordMac(this.#secret, firstRecordSigned(preamble, first)) : null;
      this.#writeNow([frameMessage(encodeLinkPreamble(preamble, first, mac))], now);
    } catch (err) {
      this.close('setup_failed', describe(err), false);
    }
  }

  #writeNow(data: readonly Uint8Array[], now: number): void {
    this.#host.write(this, data);
    this.#lastSent = now;
  }

  /** Bytes from the stream, in order. */
  receive(chunk: Uint8Array, now: number): void {
    if (this.#state === 'closed') return;
    this.#lastReceived = now;
    this.#heardBack = true;
    const decoder = this.#decoder;
    try {
      decoder.feed(chunk);
    } catch (err) {
      this.close(this.#session ? 'protocol_error' : 'setup_failed', describe(err), false);
      return;
    }
    for (;;) {
      if ((this.#state as LinkState) === 'closed') return;
      let parts: Uint8Array[] | null;
      try {
        // Records as the stream's chunks hold them (no copy to join a record that spans two reads).
        parts = this.#session ? decoder.nextParts() : wrap(decoder.next());
      } catch (err) {
        // An announced length over the limit: refused before buffering, never retried.
        this.close(this.#session ? 'protocol_error' : 'setup_failed', describe(err), false);
        return;
      }
      if (parts === null) return;
      if (!this.#session) {
        this.#onHandshakeMessage(parts[0]!, now);
        continue;
      }
      let record: Uint8Array[];
      try {
        record = this.#session.openRecordParts(parts);
      } catch (err) {
        // A bad tag is never retried: the stream is corrupt or under attack.
        this.close('decrypt_failed', describe(err), false);
        return;
      }
      try {
        this.#reader!.readInPlace(record, this.#onPiece);
      } catch (err) {
        this.close('protocol_error', describe(err), false);
        return;
      }
      for (const r of record) this.#read += r.length;
      if (this.#read - this.#readAcked >= ACK_BYTES && (this.#state as LinkState) !== 'closed') {
        this.#readAcked = this.#read;
        this.#queue(CHANNELS.control, { kind: 'control', counter: 0, op: 'ack', bytes: this.#read }, undefined);
      }
    }
  }

  #onHandshakeMessage(record: Uint8Array, now: number): void {
    try {
      if (!this.#hs) {
        // Responder, first record: the preamble, then Noise message 1.
        const { preamble, mac, message } = decodeLinkPreamble(record);
        this.#firstRecordIn = true;
        this.#setDeadline(this.openedAt + this.#cfg.setupTimeMs);
        const secrets = this.#cfg.clusterSecrets();
        if (hasPsk(preamble.pattern) !== secrets.length > 0) {
          // One that skips (or demands) the cluster secret: nothing to say back.
          this.close('setup_failed', `peer asked for handshake pattern ${preamble.pattern}, not acceptable here`, false);
          return;
        }
        if (!this.#cfg.suites.includes(preamble.suite)) {
          // Refused before any crypto, and, as every refusal of a stranger, without a reply.
          this.#refusedSuite = preamble.suite;
          this.close('refused', `peer asked for suite ${preamble.suite}; this node accepts ${this.#cfg.suites.join(', ')} (option suites)`, false);
          return;
        }
        this.#suite = preamble.suite;
        if (preamble.secretId) {
          const id = preamble.secretId;
          this.#secret = secrets.find((s) => clusterSecretId(s).every((b, i) => b === id[i]));
          // Before any DH: without the secret, a first record cannot carry the right MAC.
          const expected = this.#secret ? firstRecordMac(this.#secret, firstRecordSigned(preamble, message)) : null;
          if (!expected || !mac || !sameBytes(expected, mac)) {
            this.close('bad_secret', this.#secret ? 'first record MAC does not verify (not the cluster secret)' : 'peer uses a cluster secret this node does not hold', false);
            return;
          }
        }
        const gate = this.#host.onPreamble(this, preamble);
        if (!gate.accept) {
          this.close(gate.reason, gate.detail, false);
          return;
        }
        this.#pattern = preamble.pattern;
        this.#hs = this.#handshake(preamble.pattern, false, undefined);
        record = message;
      }
      const hs = this.#hs;
      const payload = hs.readMessage(record);
      if (payload.length > 0) {
        this.#remoteHello = decodeHello(payload);
        this.#remoteKey = hs.remoteStaticKey ?? undefined;
        if (!this.#remoteKey) throw new Error('peer sent a hello before its static key');
        const verdict = this.#host.onPeer(this, this.#remoteHello, this.#remoteKey);
        if (!verdict.accept) {
          this.close(verdict.reason, verdict.detail, false);
          return;
        }
        this.#learn = verdict.learn === true;
      }
      if (hs.nextAction === 'write') {
        const ours = this.#remoteHello || this.role === 'responder' ? this.#ourHello() : undefined;
        this.#writeNow([frameMessage(hs.writeMessage(ours))], now);
      }
      if (hs.isComplete) this.#complete(now);
    } catch (err) {
      // Whatever failed (a bad tag, a bad hello, a wrong pinned key), the handshake did: one reason.
      this.close('setup_failed', describe(err), false);
    }
  }

  #complete(now: number): void {
    const hs = this.#hs!;
    if (!this.#remoteHello || !this.#remoteKey) {
      this.close('setup_failed', 'handshake finished without a hello', false);
      return;
    }
    this.#session = createSession(hs.split(), { maxPayloadBytes: this.#cfg.maxMessageBytes });
    this.#reader = new RecordReader(this.#cfg.frameLimits.maxBytes);
    this.#hs = undefined;
    this.#state = 'confirming';
    this.#queue(CHANNELS.control, { kind: 'control', counter: 0, op: 'welcome' }, undefined);
    if (!this.#learn) {
      this.#readySent = true;
      this.#queue(CHANNELS.control, { kind: 'control', counter: 0, op: 'ready' }, undefined);
    }
    this.flush(now);
  }

  /** The host has persisted the key it learned: say `ready`. */
  trustSettled(now: number): void {
    if (this.#state !== 'confirmed' || this.#readySent) return;
    this.#readySent = true;
    this.#queue(CHANNELS.control, { kind: 'control', counter: 0, op: 'ready' }, undefined);
    this.flush(now);
    this.#maybeReady();
  }

  /** True when the host must persist a learned key before this link may come up. */
  get learning(): boolean {
    return this.#learn && !this.#readySent;
  }

  #maybeReady(): void {
    if (this.#state === 'confirmed' && this.#readySent && this.#peerReady) this.#host.onReady(this);
  }

  /** The host admits the link: frames flow, ticks start, held frames are delivered. */
  goUp(now: number): void {
    if (this.#state !== 'confirmed' || !this.#readySent || !this.#peerReady) return;
    this.#state = 'up';
    this.upAt = now;
    this.#setDeadline(now + this.#tickEvery());
    const held = this.#held;
    this.#held = [];
    for (const [frame, channel] of held) {
      if (this.#state !== 'up') return;
      this.#deliver(frame, channel);
    }
  }

  #tickEvery(): number {
    return this.#cfg.tickTimeMs / this.#cfg.tickIntensity;
  }

  /**
   * The deadline passed. Before up: the setup time (Erlang's net_setuptime). After: the tick check
   * (Erlang's net_ticktime): every tickTime/intensity, send a tick if nothing else went out, and
   * declare the link dead if nothing came in for tickTime (OTP: intensity 4 by default).
   */
  timeout(now: number): void {
    if (this.#state === 'closed' || now < this.#deadline) return;
    if (this.#state !== 'up') {
      this.close('setup_timeout', this.role === 'responder' && !this.#firstRecordIn
        ? `no first record within ${Math.min(this.#cfg.firstRecordMs, this.#cfg.setupTimeMs)} ms`
        : `handshake not finished within ${this.#cfg.setupTimeMs} ms (net_setuptime)`, false);
      return;
    }
    const every = this.#tickEvery();
    if (now - this.#lastReceived >= this.#cfg.tickTimeMs) {
      this.close('tick_timeout', `nothing received for ${Math.round(now - this.#lastReceived)} ms (net_ticktime ${this.#cfg.tickTimeMs} ms)`, false);
      return;
    }
    if (now - this.#lastSent >= every * 0.9) {
      this.#queue(CHANNELS.control, { kind: 'tick', counter: 0 }, undefined);
      this.flush(now);
    }
    this.#setDeadline(now + every);
  }

  /** One frame from the record reader: decoded where it lies, checked against its channel. */
  readonly #onPiece = (channel: number, bytes: Uint8Array, start: number, end: number): void => {
    if (this.#state === 'closed') return;
    let frame: Frame;
    try {
      frame = decodeFrameAt(bytes, start, end, this.#cfg.frameLimits);
    } catch (err) {
      this.close('protocol_error', describe(err), false);
      return;
    }
    const expected = this.#expected[channel] ?? 0;
    if (frame.counter !== expected) {
      this.close('protocol_error', `frame ${frame.counter} on channel ${channel}, expected ${expected}`, false);
      return;
    }
    this.#expected[channel] = expected + 1;
    // Each kind has its channel: the link's own frames on control, kernel requests on system,
    // user messages on the default channel or a named one the peer opened first.
    let name: string | undefined;
    const kind = frame.kind;
    if (channel === CHANNELS.control ? kind !== 'control' && kind !== 'tick' : channel === CHANNELS.system ? kind !== 'system' : kind !== 'message') {
      this.close('protocol_error', `a ${kind} frame on channel ${channel}`, false);
      return;
    }
    if (channel >= FIRST_NAMED_CHANNEL) {
      name = this.#incoming[channel];
      if (name === undefined) {
        this.close('protocol_error', `a message on channel ${channel}, which the peer never opened`, false);
        return;
      }
    }
    this.#onFrame(frame, name);
  };

  #onFrame(frame: Frame, channel: string | undefined): void {
    if (frame.kind === 'control' && frame.op === 'ack') {
      const wasShut = !this.#flow.open;
      if (!this.#flow.acked(frame.bytes)) {
        this.close('protocol_error', `peer acknowledged ${frame.bytes} bytes, not within what was sent (${this.#flow.written})`, false);
        return;
      }
      // The window opened: what waited goes now (the ack came with I/O, so no further yield).
      if (wasShut && this.#outbox.hasUser && !this.#flushWanted) {
        this.#flushWanted = true;
        this.#host.flushLater(this);
      }
      return;
    }
    if (frame.kind === 'control' && frame.op === 'open') {
      // A channel name is bookkeeping of the link, valid in any state after the handshake.
      if (this.#incoming[frame.channel] !== undefined || this.#incomingNames.has(frame.name) || frame.name === DEFAULT_CHANNEL) {
        this.close('protocol_error', `peer opened channel ${frame.channel} (${JSON.stringify(frame.name)}) twice`, false);
        return;
      }
      this.#incoming[frame.channel] = frame.name;
      this.#incomingNames.add(frame.name);
      return;
    }
    switch (this.#state) {
      case 'confirming':
        if (frame.kind === 'control' && frame.op === 'welcome') {
          this.#state = 'confirmed';
          this.#host.onConfirmed(this);
          this.#maybeReady();
        } else {
          this.close('setup_failed', `expected welcome, got a ${frame.kind} frame`, false);
        }
        return;
      case 'confirmed':
        if (frame.kind === 'control' && frame.op === 'disconnect') break; // handled below, even before up
        if (frame.kind === 'control' && frame.op === 'ready') {
          if (this.#peerReady) this.close('protocol_error', 'a second ready', false);
          this.#peerReady = true;
          this.#maybeReady();
          return;
        }
        this.#held.push([frame, channel]);
        return;
      case 'up':
        break;
      default:
        return;
    }
    this.#deliver(frame, channel);
  }

  #deliver(frame: Frame, channel: string | undefined): void {
    if (frame.kind === 'control') {
      if (frame.op === 'disconnect') {
        // OTP's reason on the side that did not disconnect: connection_closed; that it was on
        // purpose, and why, travels with it.
        this.#closed('connection_closed', `peer closed the link: ${frame.reason}`, false, frame.reason, frame.reason);
      } else {
        this.close('protocol_error', `an unexpected ${frame.op} on a link that is up`, false);
      }
      return;
    }
    if (frame.kind !== 'tick') this.#host.onFrame(this, frame, channel);
  }

  /**
   * Queues a frame: a message on the default channel or on `channel` (a name, opened on this link
   * at first use), a system request on the system channel. Returns true when the caller may count
   * it as sent now; false when `ticket` is settled later through `host.sendSettled` (its channel
   * holds more than CHANNEL_HIGH_WATER_BYTES, or the stream is congested). Throws when the link is
   * not up or the frame cannot be encoded.
   */
  send(frame: Frame, options?: { readonly channel?: string | undefined; readonly ticket?: number | undefined }): boolean {
    if (this.#state !== 'up') throw new Error(`link is ${this.#state}, not up`);
    const channel = frame.kind === 'message' ? this.#channelNumber(options?.channel) : frame.kind === 'system' ? CHANNELS.system : CHANNELS.control;
    return this.#queue(channel, frame, options?.ticket);
  }

  /** The number of a user channel, opening it (an `open` frame on control, before any data) at first use. */
  #channelNumber(name: string | undefined): number {
    if (name === undefined || name === DEFAULT_CHANNEL) return CHANNELS.default;
    const known = this.#outgoing.get(name);
    if (known !== undefined) return known;
    if (this.#nextChannel >= MAX_CHANNELS) {
      throw new KernelError('TOO_MANY_CHANNELS', `a link carries at most ${MAX_CHANNELS - FIRST_NAMED_CHANNEL} named channels; ${JSON.stringify(name)} would be one more`);
    }
    const number = this.#nextChannel;
    this.#queue(CHANNELS.control, { kind: 'control', counter: 0, op: 'open', channel: number, name }, undefined);
    this.#nextChannel++;
    this.#outgoing.set(name, number);
    return number;
  }

  /**
   * Encodes `frame` with its channel's next counter and queues it. True when it counts as sent at
   * once (no ticket, or its channel under the mark on an uncongested stream); else `ticket` rides
   * with the frame and is settled when the frame's last piece is written.
   */
  #queue(channel: number, frame: Frame, ticket: number | undefined): boolean {
    const outbox = this.#outbox;
    const counter = outbox.counter(channel);
    const limits = this.#cfg.frameLimits;
    let bytes: Uint8Array;
    let body: Uint8Array | null = null;
    let now: boolean;
    if (frame.kind === 'message' && frame.value instanceof Uint8Array && frame.value.length < WHOLE_FRAME_BYTES) {
      // A small byte value: written straight into the channel's run of small pieces (channels.ts).
      const size = messageFrameBytes(counter, frame.value.length);
      now = ticket === undefined || (!this.congested && outbox.queuedOn(channel) + size <= CHANNEL_HIGH_WATER_BYTES);
      if (size <= WHOLE_FRAME_BYTES && size <= limits.maxBytes && now) {
        const run = outbox.reserveSmall(channel, size);
        encodeMessageFrameInto(run, outbox.reservedAt, counter, frame.value, limits);
        outbox.pushSmall(channel, size);
        if (!this.#flushWanted) {
          this.#flushWanted = true;
          this.#host.flushLater(this);
        }
        return true;
      }
    }
    if (frame.kind === 'message' && frame.value instanceof Uint8Array && ticket !== undefined
      && (this.congested || this.#outbox.queuedOn(channel) + frame.value.length > CHANNEL_HIGH_WATER_BYTES)) {
      // A send that resolves only once its last byte is in a record: its bytes are read from the
      // caller's array as they go out, not copied at send (16 MiB would stall the event loop and
      // add 16 MiB of garbage); the caller keeps it unchanged until the send resolves.
      bytes = encodeMessageFrameHead(counter, frame.value, limits);
      body = frame.value;
      now = false;
    } else {
      bytes = frame.kind === 'message'
        ? encodeMessageFrame(counter, frame.value, limits)
        : encodeFrame(frame.counter === counter ? frame : ({ ...frame, counter } as Frame), limits);
      now = ticket === undefined || (!this.congested && outbox.queuedOn(channel) + bytes.length <= CHANNEL_HIGH_WATER_BYTES);
    }
    if (now && bytes.length <= WHOLE_FRAME_BYTES && body === null && frame.kind === 'message') {
      // Small, and nobody waits for it: into the run too (one copy, no queue entry of its own).
      outbox.reserveSmall(channel, bytes.length).set(bytes, outbox.reservedAt);
      outbox.pushSmall(channel, bytes.length);
    } else {
      outbox.push(channel, bytes, now || ticket === undefined ? null : ticket, body);
    }
    if (!this.#flushWanted) {
      this.#flushWanted = true;
      this.#host.flushLater(this);
    }
    return now;
  }

  /**
   * Seals what is queued into records and writes them in one go: control and system frames
   * always; user frames up to TURN_BYTES and only while the stream is not congested. What is left
   * waits for `resumeLater` (or for `drained`).
   */
  flush(now: number): void {
    this.#flushWanted = false;
    this.#resumeWanted = false;
    if (this.#state === 'closed' || !this.#session) return;
    this.#write(now, TURN_BYTES, !this.congested);
  }

  /** Record bytes the peer has not acknowledged reading, and the flow-control window. */
  get inFlight(): number {
    return this.#flow.inFlight;
  }

  get window(): number {
    return this.#flow.size;
  }

  /** Seals records until `budget` bytes of user frames are out (or nothing may go). */
  #write(now: number, budget: number, user: boolean): void {
    const session = this.#session!;
    const outbox = this.#outbox;
    const builder = SCRATCH;
    const out: Uint8Array[] = [];
    const done: number[] = [];
    let written = 0;
    // A deliberate close (an unbounded budget) sends all that is queued, window or not.
    const all = budget === Number.POSITIVE_INFINITY;
    const mode = (): 'all' | 'small' | 'none' => {
      if (!user || written >= budget) return 'none';
      // What this flush wrote counts already: the window bounds what is in flight, not each flush.
      const inFlight = this.#flow.inFlight + written;
      const window = this.#flow.effective;
      return all || inFlight < window ? 'all' : inFlight < window + SMALL_SLACK_BYTES ? 'small' : 'none';
    };
    for (;;) {
      const m = mode();
      if (!outbox.hasPriority && (m === 'none' || !outbox.hasUser)) break;
      builder.reset();
      outbox.fill(builder, m === 'all', done);
      if (m === 'small') outbox.fillSmall(builder, done);
      if (builder.length === 0) break;
      const record = builder.take();
      written += record.length;
      for (const bytes of session.sealRecord(record)) out.push(bytes);
    }
    if (out.length > 0) {
      this.#flow.wrote(written);
      this.#writeNow(out, Math.max(now, this.#lastSent));
    }
    for (const t of done) this.#host.sendSettled(this, t, null);
    // The window is shut: the peer's next ack resumes (see #onFrame); else the next turn does.
    const windowShut = !all && !this.#flow.open;
    if (user && !windowShut && outbox.hasUser && !this.#resumeWanted && this.#state !== 'closed') {
      this.#resumeWanted = true;
      this.#host.resumeLater(this);
    }
  }

  /** The stream's send buffer drained after congestion: user frames may go again (after pending I/O). */
  drained(): void {
    this.congested = false;
    if (this.#state === 'closed' || !this.#outbox.hasUser || this.#resumeWanted) return;
    this.#resumeWanted = true;
    this.#host.resumeLater(this);
  }

  /**
   * Closes the link once. `notify`: tell the peer why first (a `disconnect` frame saying `tell`),
   * only on an established link, and only then is the close deliberate; a failing handshake gets
   * no explanation.
   */
  close(reason: NodedownReason, detail: string, notify: boolean, tell: DisconnectReason = reason === 'shutdown' ? 'shutdown' : 'disconnect'): void {
    this.#closed(reason, detail, notify, tell, null);
  }

  #closed(reason: NodedownReason, detail: string, notify: boolean, tell: DisconnectReason, peerSaid: DisconnectReason | null): void {
    if (this.#state === 'closed') return;
    const wasUp = this.#state === 'up' || this.#state === 'confirmed';
    if (wasUp && notify && this.#session) {
      try {
        // Everything queued goes first (a deliberate close is graceful), then the closing frame.
        this.#write(this.#lastSent, Number.POSITIVE_INFINITY, true);
        this.#queue(CHANNELS.control, { kind: 'control', counter: 0, op: 'disconnect', reason: tell }, undefined);
        this.#write(this.#lastSent, 0, false);
      } catch {
        // the peer will see the stream close instead
      }
    }
    this.#state = 'closed';
    const lost = this.#outbox.clear();
    this.#held = [];
    this.#setDeadline(Number.POSITIVE_INFINITY);
    this.#host.end(this, wasUp && notify);
    if (lost.length > 0) {
      const error = new KernelError('SEND_FAILED', `link went down (${reason}) before the message left for the peer`);
      for (const t of lost) this.#host.sendSettled(this, t, error);
    }
    this.#host.onClosed(this, reason, detail, peerSaid ?? (wasUp && notify ? tell : null));
  }

  /** The stream closed under us (the peer, or the network). */
  streamClosed(error: Error | undefined): void {
    if (this.#state === 'closed') return;
    let detail = error ? error.message : 'peer closed the connection';
    if (this.role === 'initiator' && this.#state === 'handshake' && !this.#heardBack) {
      // A responder refuses a first record it cannot take without a word (nothing for a stranger
      // to learn from), so say what the record asked for: the likeliest reasons.
      detail += ` without answering our first record (suite ${this.#suite}, pattern ${this.#pattern}): it may accept neither, or refuse this address`;
    }
    this.close(this.#state === 'up' ? 'connection_closed' : 'setup_failed', detail, false);
  }
}

function wrap(message: Uint8Array | null): Uint8Array[] | null {
  return message === null ? null : [message];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function describe(err: unknown): string {
  if (err instanceof DistkitError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
