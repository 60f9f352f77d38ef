// One link to one peer, as a pure state machine: stream bytes in, stream bytes out. The Noise
// handshake with its hello exchange, the welcome confirmation, then encrypted batches of frames
// with Erlang-style ticks. It knows nothing of policy or trust: once the peer has proven its key
// and named itself it asks its host (`onPeer`), and once both sides hold the same keys it tells
// the host (`onConfirmed`), which decides when the link is up. No clock, no timer, no socket: the
// time comes with every input and the next deadline is a field the host reads.
import {
  FrameDecoder, clusterSecretId, createHandshake, createSession, distkitPrologue, firstRecordMac, frameMessage,
  type Handshake, type KeyPair, type Session,
} from '@distkit/handshake';
import {
  DistkitError, decodeBatch, decodeFrame, decodeHello, decodeLinkPreamble, encodeBatch, encodeFrame, encodeHello, encodeLinkPreamble,
  firstRecordSigned, hasPsk, type DisconnectReason, type Frame, type Hello, type LinkPattern, type LinkPreamble, type LinkSuite,
  type WireLimits,
} from '@distkit/wire';
import type { NodedownReason } from '../api.ts';

/** A batch is sealed at once when it reaches this size (else when the host flushes). */
const BATCH_BYTES = 256 * 1024;

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
  onFrame(link: LinkMachine, frame: Frame): void;
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

const SUITE: LinkSuite = '25519_ChaChaPoly_SHA256';

export class LinkMachine {
  readonly conn: number;
  readonly role: 'initiator' | 'responder';
  readonly #cfg: LinkConfig;
  readonly #host: LinkHost;
  #state: LinkState = 'handshake';
  #hs: Handshake | undefined;
  #pattern: LinkPattern | undefined;
  #session: Session | undefined;
  #counter = 0;
  /** Splits the stream into Noise messages, for the handshake and then for the session. */
  readonly #decoder = new FrameDecoder();
  #remoteHello: Hello | undefined;
  #remoteKey: Uint8Array | undefined;
  #secret: Uint8Array | undefined;
  #lastReceived: number;
  #lastSent: number;
  #deadline: number;
  #held: Frame[] = [];
  /** We must learn the peer's key before we say `ready`. */
  #learn = false;
  #readySent = false;
  #peerReady = false;
  #firstRecordIn = false;
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  #flushWanted = false;
  #helloSent: Hello | undefined;
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
  get suite(): LinkSuite {
    return SUITE;
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
      protocolName: `Noise_${pattern}_${SUITE}`,
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
      const preamble: LinkPreamble = { pattern: this.#pattern, suite: SUITE, secretId: this.#secret ? clusterSecretId(this.#secret) : null };
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
    let messages: Uint8Array[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      // An announced length over the limit: refused before buffering, never retried.
      this.close(this.#session ? 'protocol_error' : 'setup_failed', describe(err), false);
      return;
    }
    for (const message of messages) {
      if ((this.#state as LinkState) === 'closed') return;
      if (!this.#session) {
        this.#onHandshakeMessage(message, now);
        continue;
      }
      let payload: Uint8Array | null;
      try {
        payload = this.#session.openMessage(message);
      } catch (err) {
        // A bad tag is never retried: the stream is corrupt or under attack.
        const tooLarge = err instanceof DistkitError && err.code === 'FRAME_TOO_LARGE';
        this.close(tooLarge ? 'protocol_error' : 'decrypt_failed', describe(err), false);
        return;
      }
      if (payload) this.#onPayload(payload);
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
        if (preamble.suite !== SUITE) {
          this.close('setup_failed', `peer asked for suite ${preamble.suite}, not accepted here`, false);
          return;
        }
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
    this.#hs = undefined;
    this.#state = 'confirming';
    this.#queue({ kind: 'control', counter: 0, op: 'welcome' });
    if (!this.#learn) {
      this.#readySent = true;
      this.#queue({ kind: 'control', counter: 0, op: 'ready' });
    }
    this.flush(now);
  }

  /** The host has persisted the key it learned: say `ready`. */
  trustSettled(now: number): void {
    if (this.#state !== 'confirmed' || this.#readySent) return;
    this.#readySent = true;
    this.#queue({ kind: 'control', counter: 0, op: 'ready' });
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
    for (const frame of held) {
      if (this.#state !== 'up') return;
      this.#deliver(frame);
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
      this.#queue({ kind: 'tick', counter: 0 });
      this.flush(now);
    }
    this.#setDeadline(now + every);
  }

  #onPayload(batch: Uint8Array): void {
    let frames: Uint8Array[];
    try {
      frames = decodeBatch(batch);
    } catch (err) {
      this.close('protocol_error', describe(err), false);
      return;
    }
    for (const bytes of frames) {
      if (this.#state === 'closed') return;
      let frame: Frame;
      try {
        frame = decodeFrame(bytes, this.#cfg.frameLimits);
      } catch (err) {
        this.close('protocol_error', describe(err), false);
        return;
      }
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: Frame): void {
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
        this.#held.push(frame);
        return;
      case 'up':
        break;
      default:
        return;
    }
    this.#deliver(frame);
  }

  #deliver(frame: Frame): void {
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
    if (frame.kind !== 'tick') this.#host.onFrame(this, frame);
  }

  /** Queues one frame for the next batch. Throws when the link is not up, or the frame cannot be encoded. */
  send(frame: Frame): void {
    if (this.#state !== 'up') throw new Error(`link is ${this.#state}, not up`);
    this.#queue(frame);
  }

  #queue(frame: Frame): void {
    const bytes = encodeFrame({ ...frame, counter: this.#counter++ } as Frame, this.#cfg.frameLimits);
    this.#outbox.push(bytes);
    this.#outboxBytes += 4 + bytes.length;
    if (this.#outboxBytes >= BATCH_BYTES) this.flush(this.#lastSent);
    else if (!this.#flushWanted) {
      this.#flushWanted = true;
      this.#host.flushLater(this);
    }
  }

  /** Seals the frames queued so far into one batch (one encryption pass, one write). */
  flush(now: number): void {
    this.#flushWanted = false;
    if (this.#outbox.length === 0 || this.#state === 'closed' || !this.#session) return;
    const batch = encodeBatch(this.#outbox);
    this.#outbox = [];
    this.#outboxBytes = 0;
    this.#writeNow(this.#session.seal(batch), Math.max(now, this.#lastSent));
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
    if (wasUp && notify) {
      try {
        this.#queue({ kind: 'control', counter: 0, op: 'disconnect', reason: tell });
        this.flush(this.#lastSent);
      } catch {
        // the peer will see the stream close instead
      }
    }
    this.#state = 'closed';
    this.#outbox = [];
    this.#held = [];
    this.#setDeadline(Number.POSITIVE_INFINITY);
    this.#host.end(this, wasUp && notify);
    this.#host.onClosed(this, reason, detail, peerSaid ?? (wasUp && notify ? tell : null));
  }

  /** The stream closed under us (the peer, or the network). */
  streamClosed(error: Error | undefined): void {
    if (this.#state === 'closed') return;
    this.close(this.#state === 'up' ? 'connection_closed' : 'setup_failed', error ? error.message : 'peer closed the connection', false);
  }
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
