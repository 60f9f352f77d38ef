// One link to one peer over one stream: the Noise handshake with its hello exchange, then
// encrypted frames. The link knows nothing of policy or trust: at the moment the peer has proven
// its key and named itself, it asks its owner (`onPeer`) whether to go on.
import {
  FrameDecoder, createHandshake, createSession, defaultProvider, distkitPrologue, distkitProtocolName, frameMessage,
  type Handshake, type KeyPair, type Session,
} from '@distkit/handshake';
import {
  DistkitError, decodeFrame, decodeHello, encodeFrame, encodeHello, type Frame, type Hello, type WireLimits,
} from '@distkit/wire';
import type { NodedownReason } from './api.ts';
import type { Stream, TimerHandle, Transport } from './transport.ts';

/** Noise patterns a link may use; the code is the first byte of the first record. */
export const LINK_PATTERNS: { readonly XX: 1; readonly XXpsk3: 2; readonly IK: 3; readonly IKpsk2: 4 } = {
  XX: 1,
  XXpsk3: 2,
  IK: 3,
  IKpsk2: 4,
} as const;
export type LinkPattern = keyof typeof LINK_PATTERNS;

/** A batch is flushed at once when it reaches this size (else at the end of the current turn). */
const BATCH_BYTES = 256 * 1024;

const SECRET_ID_BYTES = 4;
const SECRET_ID_LABEL = new TextEncoder().encode('distkit/1 cluster secret id');

/**
 * Which cluster secret the initiator uses, as 4 bytes of SHA-256 over a label and the secret. The
 * responder needs it to rotate secrets: in IKpsk2 the psk enters the message the responder writes,
 * so it cannot try its keyring entries one by one; it picks the one the initiator named. A hash of
 * a 32-byte random secret tells an observer nothing it could use.
 */
export function clusterSecretId(secret: Uint8Array): Uint8Array {
  return defaultProvider().hash('SHA256')!.hash(SECRET_ID_LABEL, secret).subarray(0, SECRET_ID_BYTES);
}
const PATTERN_BY_CODE = new Map(Object.entries(LINK_PATTERNS).map(([k, v]) => [v, k as LinkPattern]));


export interface LinkContext {
  readonly transport: Transport;
  readonly identity: KeyPair;
  readonly cluster: string;
  readonly hello: Hello;
  /** Newest first; empty when the cluster has no secret. */
  readonly clusterSecrets: readonly Uint8Array[];
  readonly setupTimeMs: number;
  readonly tickTimeMs: number;
  readonly tickIntensity: number;
  readonly frameLimits: WireLimits;
  /** Largest reassembled user message. */
  readonly maxMessageBytes: number;
}

export type PeerVerdict = { readonly accept: true } | { readonly accept: false; readonly reason: NodedownReason; readonly detail: string };

export interface LinkOwner {
  /** The peer proved `remoteKey` and says it is `hello.name`: go on? Called once, synchronously. */
  onPeer(link: Link, hello: Hello, remoteKey: Uint8Array): PeerVerdict;
  /** Both sides are done: frames may flow. */
  onUp(link: Link): void;
  onFrame(link: Link, frame: Frame): void;
  /** Optional: the send buffer drained (see `Link.congested`). */
  onDrain?(link: Link): void;
  /** The link is gone (called once, also for links that never came up). */
  onDown(link: Link, reason: NodedownReason, detail: string): void;
}

// `confirming`: Noise is finished here, but not proven on the other side: in XX the responder judges
// the initiator only on the last message, and with a psk in the last message (XXpsk3, IKpsk2) the
// side that writes it cannot know whether the other derived the same keys. Each side sends a
// `welcome` control frame as soon as it completes and is up only when the peer's welcome decrypts.
type State = 'handshake' | 'confirming' | 'up' | 'closed';

export class Link {
  readonly role: 'initiator' | 'responder';
  readonly id: number;
  #state: State = 'handshake';
  #hs: Handshake | undefined;
  #pattern: LinkPattern | undefined;
  #session: Session | undefined;
  #counter = 0;
  // Splits the stream into Noise messages, for the handshake and then for the session.
  readonly #decoder = new FrameDecoder();
  #setupTimer: TimerHandle | undefined;
  #tickTimer: TimerHandle | undefined;
  #lastReceived: number;
  #lastSent: number;
  #remoteHello: Hello | undefined;
  #remoteKey: Uint8Array | undefined;
  #upSent = false;

  constructor(
    readonly stream: Stream,
    private readonly ctx: LinkContext,
    private readonly owner: LinkOwner,
    options: { id: number; role: 'initiator' | 'responder'; remoteKey?: Uint8Array },
  ) {
    this.id = options.id;
    this.role = options.role;
    this.#lastReceived = this.#lastSent = ctx.transport.now();
    this.#setupTimer = ctx.transport.setTimer(ctx.setupTimeMs, () =>
      this.close('setup_failed', `handshake not finished within ${ctx.setupTimeMs} ms (net_setuptime)`));
    stream.setHandlers({
      onData: (chunk) => this.#onData(chunk),
      onClose: (error) => this.#onStreamClosed(error),
      onDrain: () => {
        this.#congested = false;
        this.owner.onDrain?.(this);
      },
    });
    if (options.role === 'initiator') this.#startInitiator(options.remoteKey);
  }

  get state(): State {
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

  /** The secret this link uses: the newest for a dial, the one the initiator named when accepting. */
  #secret: Uint8Array | undefined;

  #psks(): Uint8Array[] {
    return this.#secret ? [this.#secret] : [];
  }

  #startInitiator(remoteKey: Uint8Array | undefined): void {
    this.#secret = this.ctx.clusterSecrets[0];
    const psk = this.#secret !== undefined;
    this.#pattern = remoteKey ? (psk ? 'IKpsk2' : 'IK') : psk ? 'XXpsk3' : 'XX';
    try {
      this.#hs = createHandshake({
        protocolName: distkitProtocolName(this.#pattern),
        initiator: true,
        prologue: distkitPrologue(this.ctx.cluster),
        staticKeyPair: this.ctx.identity,
        ...(remoteKey ? { remoteStaticKey: remoteKey } : {}),
        psks: this.#psks(),
      });
      // IK carries our hello in the first message (encrypted to the pinned key); XX sends it last.
      const first = this.#hs.writeMessage(this.#pattern.startsWith('IK') ? encodeHello(this.ctx.hello) : undefined);
      // Preamble: the pattern code, then (with a psk) the id of the secret in use.
      const id = this.#secret ? clusterSecretId(this.#secret) : new Uint8Array(0);
      const record = new Uint8Array(1 + id.length + first.length);
      record[0] = LINK_PATTERNS[this.#pattern];
      record.set(id, 1);
      record.set(first, 1 + id.length);
      this.#write(frameMessage(record));
    } catch (err) {
      this.close('setup_failed', describe(err));
    }
  }

  #write(framed: Uint8Array): void {
    this.stream.write(framed);
    this.#lastSent = this.ctx.transport.now();
  }

  #onData(chunk: Uint8Array): void {
    if (this.#state === 'closed') return;
    this.#lastReceived = this.ctx.transport.now();
    let messages: Uint8Array[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      // An announced length over the limit: refused before buffering, never retried.
      this.close(this.#session ? 'protocol_error' : 'setup_failed', describe(err));
      return;
    }
    for (const message of messages) {
      if (this.state === 'closed') return;
      if (!this.#session) {
        this.#onHandshakeMessage(message);
        continue;
      }
      let payload: Uint8Array | null;
      try {
        payload = this.#session.openMessage(message);
      } catch (err) {
        // A bad tag is never retried: the stream is corrupt or under attack.
        const tooLarge = err instanceof DistkitError && err.code === 'FRAME_TOO_LARGE';
        this.close(tooLarge ? 'protocol_error' : 'decrypt_failed', describe(err));
        return;
      }
      if (payload) this.#onPayload(payload);
    }
  }

  #onHandshakeMessage(record: Uint8Array): void {
    try {
      if (!this.#hs) {
        // Responder, first record: pattern code, then Noise message 1.
        const pattern = PATTERN_BY_CODE.get(record[0] as 1 | 2 | 3 | 4);
        const psk = this.ctx.clusterSecrets.length > 0;
        if (!pattern || pattern.endsWith('psk3') !== (psk && pattern.startsWith('XX')) || pattern.endsWith('psk2') !== (psk && pattern.startsWith('IK'))) {
          // Unknown pattern, or one that skips (or demands) the cluster secret: nothing to say back.
          this.close('setup_failed', `peer asked for handshake pattern code ${record[0]}, not acceptable here`);
          return;
        }
        this.#pattern = pattern;
        let skip = 1;
        if (psk) {
          const id = record.subarray(1, 1 + SECRET_ID_BYTES);
          this.#secret = this.ctx.clusterSecrets.find((s) => clusterSecretId(s).every((b, i) => b === id[i]));
          if (!this.#secret) {
            this.close('setup_failed', 'peer uses a cluster secret this node does not hold');
            return;
          }
          skip += SECRET_ID_BYTES;
        }
        this.#hs = createHandshake({
          protocolName: distkitProtocolName(pattern),
          initiator: false,
          prologue: distkitPrologue(this.ctx.cluster),
          staticKeyPair: this.ctx.identity,
          psks: this.#psks(),
        });
        record = record.subarray(skip);
      }
      const hs = this.#hs;
      const payload = hs.readMessage(record);
      if (payload.length > 0) {
        this.#remoteHello = decodeHello(payload);
        this.#remoteKey = hs.remoteStaticKey ?? undefined;
        if (!this.#remoteKey) throw new Error('peer sent a hello before its static key');
        const verdict = this.owner.onPeer(this, this.#remoteHello, this.#remoteKey);
        if (!verdict.accept) {
          this.close(verdict.reason, verdict.detail);
          return;
        }
      }
      if (hs.nextAction === 'write') {
        const ours = this.#remoteHello || this.role === 'responder' ? encodeHello(this.ctx.hello) : undefined;
        this.#write(frameMessage(hs.writeMessage(ours)));
      }
      if (hs.isComplete) this.#complete();
    } catch (err) {
      // Whatever failed (a bad tag, a bad hello, a wrong pinned key), the handshake did: one reason.
      this.close('setup_failed', describe(err));
    }
  }

  #complete(): void {
    const hs = this.#hs!;
    if (!this.#remoteHello || !this.#remoteKey) {
      this.close('setup_failed', 'handshake finished without a hello');
      return;
    }
    this.#session = createSession(hs.split(), { maxPayloadBytes: this.ctx.maxMessageBytes });
    this.#hs = undefined;
    this.#state = 'confirming';
    this.#sendFrame({ kind: 'control', counter: 0, op: 'welcome', reason: null });
  }

  #goUp(): void {
    this.#state = 'up';
    this.#setupTimer?.cancel();
    this.#setupTimer = undefined;
    this.#scheduleTick();
    this.owner.onUp(this);
  }

  // Erlang's net_ticktime: every tickTime/intensity, send a tick if nothing else went out, and
  // declare the link dead if nothing came in for tickTime (OTP: intensity 4 by default).
  #scheduleTick(): void {
    const every = this.ctx.tickTimeMs / this.ctx.tickIntensity;
    this.#tickTimer = this.ctx.transport.setTimer(every, () => {
      if (this.#state !== 'up') return;
      const now = this.ctx.transport.now();
      if (now - this.#lastReceived >= this.ctx.tickTimeMs) {
        this.close('tick_timeout', `nothing received for ${Math.round(now - this.#lastReceived)} ms (net_ticktime ${this.ctx.tickTimeMs} ms)`);
        return;
      }
      if (now - this.#lastSent >= every * 0.9) this.sendFrame({ kind: 'tick', counter: 0 });
      this.#scheduleTick();
    });
  }

  /** A session payload is a batch: frames, each behind a 4-byte big-endian length. */
  #onPayload(batch: Uint8Array): void {
    const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    let at = 0;
    while (at < batch.length) {
      if (this.state === 'closed') return;
      const length = at + 4 <= batch.length ? view.getUint32(at) : -1;
      if (length < 0 || at + 4 + length > batch.length) {
        this.close('protocol_error', 'truncated frame in a batch');
        return;
      }
      this.#onFrameBytes(batch.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
  }

  #onFrameBytes(bytes: Uint8Array): void {
    let frame: Frame;
    try {
      frame = decodeFrame(bytes, this.ctx.frameLimits);
    } catch (err) {
      this.close('protocol_error', describe(err));
      return;
    }
    if (this.#state === 'confirming') {
      if (frame.kind === 'control' && frame.op === 'welcome') this.#goUp();
      else this.close('setup_failed', `expected welcome, got a ${frame.kind} frame`);
      return;
    }
    if (frame.kind === 'control' && frame.op === 'disconnect') {
      this.close(frame.reason === 'shutdown' ? 'shutdown' : 'disconnect', `peer closed the link: ${frame.reason ?? 'no reason'}`, false);
      return;
    }
    if (frame.kind !== 'tick') this.owner.onFrame(this, frame);
  }

  /** Encrypts and sends one frame (split into Noise messages as needed). Throws if not up. */
  sendFrame(frame: Frame): void {
    if (this.#state !== 'up') throw new Error('link is not up');
    this.#sendFrame(frame);
  }

  // Frames sent in one turn of the event loop travel as one batch: one encryption pass and one
  // write for many small messages (as TLS coalesces records), flushed in a microtask.
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  #flushQueued = false;

  #sendFrame(frame: Frame): void {
    const bytes = encodeFrame({ ...frame, counter: this.#counter++ } as Frame, this.ctx.frameLimits);
    this.#outbox.push(bytes);
    this.#outboxBytes += 4 + bytes.length;
    if (this.#outboxBytes >= BATCH_BYTES) this.#flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      const t = this.ctx.transport;
      if (t.defer) t.defer(() => this.#flush());
      else t.setTimer(0, () => this.#flush());
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#outbox.length === 0 || this.#state === 'closed' || !this.#session) return;
    const batch = new Uint8Array(this.#outboxBytes);
    const view = new DataView(batch.buffer);
    let at = 0;
    for (const frame of this.#outbox) {
      view.setUint32(at, frame.length);
      batch.set(frame, at + 4);
      at += 4 + frame.length;
    }
    this.#outbox = [];
    this.#outboxBytes = 0;
    for (const framed of this.#session.seal(batch)) if (this.stream.write(framed) === false) this.#congested = true;
    this.#lastSent = this.ctx.transport.now();
  }

  #congested = false;

  /** The transport's send buffer is over its high-water mark: senders should wait for `onDrain`. */
  get congested(): boolean {
    return this.#congested;
  }

  /**
   * Closes the link once. `notify`: tell the peer why first (a `disconnect` control frame), only
   * on an established link; a failing handshake gets no explanation.
   */
  close(reason: NodedownReason, detail: string, notify: boolean = reason === 'disconnect' || reason === 'shutdown'): void {
    if (this.#state === 'closed') return;
    const wasUp = this.#state === 'up';
    if (wasUp && notify) {
      try {
        this.sendFrame({ kind: 'control', counter: 0, op: 'disconnect', reason });
        this.#flush();
      } catch {
        // the peer will see the stream close instead
      }
    }
    this.#state = 'closed';
    this.#setupTimer?.cancel();
    this.#tickTimer?.cancel();
    if (wasUp && notify) this.stream.close();
    else this.stream.destroy();
    this.owner.onDown(this, reason, detail);
  }

  #onStreamClosed(error: Error | undefined): void {
    if (this.#state === 'closed') return;
    this.close(this.#state === 'up' ? 'connection_closed' : 'setup_failed', error ? error.message : 'peer closed the connection', false);
  }
}

function describe(err: unknown): string {
  if (err instanceof DistkitError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
