// The shell around the node machine: the only kernel code that touches a Transport. It feeds the
// machine what the sockets and timers do, carries out what the machine asks (writes, dials,
// datagrams), arms one timer at the machine's next deadline, and turns settled tokens into
// promises and events into async iterables.
import type { Trust } from '@distkit/handshake';
import type { Address } from '@distkit/wire';
import { MAX_CHANNEL_NAME_BYTES } from '@distkit/wire';
import type {
  DistkitNode, IncomingMessage, KernelEvent, KernelStats, NodeInfo, NodeOptions, NodeUpdate, NodesKind, PeerConfig, SendOptions,
} from './api.ts';
import { KernelError } from './errors.ts';
import { EventChannel } from './event-channel.ts';
import { NodeMachine } from './machine/node-machine.ts';
import type { Output } from './machine/outputs.ts';
import { createNodeTransport } from './node-transport.ts';
import { checkTrust, resolveOptions } from './options.ts';
import type { DatagramSocket, Stream, StreamListener, TimerHandle, Transport } from './transport.ts';

const RESOLVED: Promise<void> = Promise.resolve();
/** How many ephemeral TCP+UDP port pairs start() draws before a busy UDP twin is an error. */
const EPHEMERAL_PAIR_ATTEMPTS = 8;

class KernelNode implements DistkitNode {
  readonly #m: NodeMachine;
  readonly #t: Transport;
  readonly #streams = new Map<number, Stream>();
  readonly #calls = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  /**
   * The API call being started (its token), and the ones it interrupted (a call made from an
   * event handler): a settle for one of them is kept in `#early`.
   */
  #startingToken = 0;
  readonly #starting = new Set<number>();
  readonly #early = new Map<number, { error: Error | null; value: unknown }>();
  readonly #events: EventChannel<KernelEvent>;
  readonly #messages: EventChannel<IncomingMessage>;
  readonly #hidden: boolean;
  readonly #listenAt: Address;
  readonly #heartbeatAt: Address | null;
  readonly #onEvent: ((e: KernelEvent) => void) | undefined;
  readonly #receiveBufferBytes: number;
  #listener: StreamListener | null = null;
  #udp: DatagramSocket | null = null;
  #wakeup: TimerHandle | null = null;
  #wakeupAt = Number.POSITIVE_INFINITY;
  #flushQueued = false;
  #resumeQueued = false;
  #phase: 'new' | 'starting' | 'running' | 'stopped' = 'new';

  constructor(options: NodeOptions) {
    const o = resolveOptions(options);
    this.#t = options.transport ?? createNodeTransport();
    const t = this.#t;
    this.#hidden = o.hidden;
    this.#listenAt = o.listen;
    this.#heartbeatAt = o.heartbeatListen;
    if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new KernelError('BAD_OPTION', 'option onEvent: must be a function');
    this.#onEvent = options.onEvent;
    // A round of heartbeats from every peer, many times over, so a burst of garbage (or a slow
    // turn of the event loop) does not push the genuine ones out: at least 4 MiB.
    this.#receiveBufferBytes = Math.max(4 * 1024 * 1024, o.peers.length * 64 * 1200);
    this.#m = new NodeMachine(o, {
      random: () => t.random(),
      randomBytes: (n) => t.randomBytes(n),
      startedAt: options.startedAt ?? t.wallTime(),
    });
    this.#events = new EventChannel<KernelEvent>(o.maxQueuedEvents, (count) => ({ type: 'events-lost', count, at: t.now() }));
    this.#messages = new EventChannel<IncomingMessage>(o.maxQueuedMessages, undefined, (count) => {
      this.#events.publish({ type: 'message-lost', count, reason: 'slow_consumer', at: t.now() });
    });
  }

  get name(): string {
    return this.#m.name;
  }
  get publicKey(): Uint8Array {
    return this.#m.publicKey;
  }
  get fingerprint(): string {
    return this.#m.fingerprint;
  }
  get incarnation(): number {
    return this.#m.incarnation;
  }

  get address(): Address {
    if (!this.#listener) throw new KernelError('NOT_STARTED', 'the node has not been started');
    return this.#listener.address;
  }

  get heartbeatAddress(): Address {
    if (!this.#udp) throw new KernelError('NOT_STARTED', 'the node has not been started');
    return this.#udp.address;
  }

  // ---- driving the machine ---------------------------------------------------------------------

  /**
   * Carries out what the machine asked for, then re-arms the flush and the timer (`timers`: false
   * after an input that cannot have moved a deadline, a send queued on a link that is up).
   */
  #pump(timers = true): void {
    for (;;) {
      const out = this.#m.drain();
      if (out.length === 0) break;
      timers = true;
      for (const o of out) this.#do(o);
    }
    if (this.#m.wantsFlush && !this.#flushQueued) {
      this.#flushQueued = true;
      const flush = () => {
        this.#flushQueued = false;
        this.#m.flush(this.#t.now());
        this.#pump();
      };
      // Frames of one turn travel together (records sealed at once, one write), as TLS coalesces records.
      if (this.#t.defer) this.#t.defer(flush);
      else this.#t.setTimer(0, flush);
    }
    if (this.#m.wantsResume && !this.#resumeQueued) {
      this.#resumeQueued = true;
      const resume = () => {
        this.#resumeQueued = false;
        if (this.#phase === 'stopped') return;
        this.#m.resume(this.#t.now());
        this.#pump();
      };
      // A large message goes out a slice per turn of the event loop: reads and other sends run between.
      if (this.#t.afterIo) this.#t.afterIo(resume);
      else this.#t.setTimer(0, resume);
    }
    if (!timers) return;
    const at = this.#m.nextWakeup();
    if (at === this.#wakeupAt) return;
    this.#wakeup?.cancel();
    this.#wakeup = null;
    this.#wakeupAt = at;
    if (at === Number.POSITIVE_INFINITY) return;
    this.#wakeup = this.#t.setTimer(Math.max(0, at - this.#t.now()), () => {
      this.#wakeup = null;
      this.#wakeupAt = Number.POSITIVE_INFINITY;
      this.#m.timeout(this.#t.now());
      this.#pump();
    });
  }

  #do(o: Output): void {
    switch (o.type) {
      case 'write': {
        const s = this.#streams.get(o.conn);
        if (!s) return;
        let ok = true;
        for (const chunk of o.data) if (s.write(chunk) === false) ok = false;
        if (!ok) this.#m.writeBlocked(o.conn);
        return;
      }
      case 'end': {
        const s = this.#streams.get(o.conn);
        this.#streams.delete(o.conn);
        if (o.graceful) s?.close();
        else s?.destroy();
        return;
      }
      case 'datagram':
        this.#udp?.send(o.data, o.to);
        return;
      case 'dial':
        this.#dial(o.conn, o.address, o.timeoutMs);
        return;
      case 'event':
        this.#onEvent?.(o.event);
        this.#events.publish(o.event);
        return;
      case 'message':
        this.#messages.publish(o.message);
        return;
      case 'settle': {
        const call = this.#calls.get(o.token);
        if (!call) {
          if (o.token === this.#startingToken || this.#starting.has(o.token)) this.#early.set(o.token, { error: o.error, value: o.value });
          return;
        }
        this.#calls.delete(o.token);
        if (o.error) call.reject(o.error);
        else call.resolve(o.value as never);
        return;
      }
      case 'await':
        o.promise.then(
          () => this.#input((now) => this.#m.resumed(now, o.token)),
          (err: unknown) => this.#input((now) => this.#m.resumed(now, o.token, err ?? new Error('rejected'))),
        );
        return;
    }
  }

  /** Feeds one input to the machine at the current time and carries out its outputs. */
  #input<T>(fn: (now: number) => T): T {
    try {
      return fn(this.#t.now());
    } finally {
      this.#pump();
    }
  }

  /** `#input` for a datagram, the input that comes thousands of times a second: no closure per call. */
  #datagram(bytes: Uint8Array, from: Address): void {
    try {
      this.#m.datagram(this.#t.now(), bytes, from);
    } finally {
      this.#pump();
    }
  }

  #attach(conn: number, stream: Stream): void {
    if (this.#streams.get(conn) !== stream) return; // closed by the machine already
    stream.setHandlers({
      onData: (chunk) => this.#input((now) => this.#m.data(now, conn, chunk)),
      onClose: (error) => {
        if (this.#streams.get(conn) !== stream) return;
        this.#streams.delete(conn);
        this.#input((now) => this.#m.streamClosed(now, conn, error));
      },
      onDrain: () => this.#input((now) => this.#m.drained(now, conn)),
    });
  }

  #dial(conn: number, address: Address, timeoutMs: number): void {
    this.#t.connect(address, { timeoutMs }).then(
      (stream) => {
        if (this.#phase !== 'running') {
          stream.destroy();
          return;
        }
        // The stream is known before the machine's first write; handlers after, so that bytes
        // already buffered reach a link that exists.
        this.#streams.set(conn, stream);
        this.#input((now) => this.#m.dialed(now, conn, stream.remote));
        this.#attach(conn, stream);
      },
      (err: Error) => {
        if (this.#phase !== 'running') return;
        this.#input((now) => this.#m.dialFailed(now, conn, err.message));
      },
    );
  }

  #onInbound(stream: Stream): void {
    if (this.#phase !== 'running') {
      stream.destroy();
      return;
    }
    const conn = this.#input((now) => {
      const c = this.#m.inbound(now, stream.remote);
      if (c !== null) this.#streams.set(c, stream);
      return c;
    });
    if (conn === null) {
      stream.destroy();
      return;
    }
    this.#attach(conn, stream);
  }

  /**
   * An API call: done at once when `start` returns true, else when the machine settles its token.
   * A settle that comes within the same input is kept aside, so no promise is made for a call
   * that completes at once (most sends).
   */
  #call<T = void>(start: (now: number, token: number) => boolean): Promise<T> {
    const token = this.#m.token();
    const outer = this.#begin(token);
    let done: boolean;
    try {
      done = this.#input((now) => start(now, token));
    } catch (err) {
      this.#early.delete(token);
      return Promise.reject(err);
    } finally {
      this.#end(outer);
    }
    if (done) return RESOLVED as Promise<T>;
    return this.#later<T>(token);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.#phase !== 'new') throw new KernelError('ALREADY_STARTED', `node ${this.name} was already started`);
    this.#phase = 'starting';
    // The heartbeat socket takes the stream listener's port unless told otherwise. With port 0 the
    // OS picks a TCP port that is free for TCP only; its UDP twin may be in use by anyone. Then a
    // fresh pair is drawn, a few times, before the failure is the caller's.
    const followsEphemeral = this.#listenAt.port === 0 && this.#heartbeatAt === null;
    for (let attempt = 1; ; attempt++) {
      try {
        this.#listener = await this.#t.listen(this.#listenAt, (stream) => this.#onInbound(stream));
      } catch (err) {
        await this.stop(); // ends events() and messages(), rejects calls made before start()
        throw err;
      }
      const hb = this.#heartbeatAt ?? this.#listener.address;
      try {
        this.#udp = await this.#t.bind(hb, (bytes, from) => {
          if (this.#phase === 'running') this.#datagram(bytes, from);
        }, { receiveBufferBytes: this.#receiveBufferBytes });
        break;
      } catch (err) {
        await this.#listener.close();
        this.#listener = null;
        const retry = followsEphemeral && attempt < EPHEMERAL_PAIR_ATTEMPTS && err instanceof KernelError && err.code === 'LISTEN_FAILED';
        if (retry) continue;
        await this.stop();
        throw err;
      }
    }
    this.#phase = 'running';
    this.#input((now) => this.#m.start(now, this.#hidden ? null : this.#udp!.address.port, this.#listener!.address.port));
  }

  async stop(): Promise<void> {
    if (this.#phase === 'stopped') return;
    const wasRunning = this.#phase === 'running';
    this.#phase = 'stopped';
    if (wasRunning) this.#input((now) => this.#m.stop(now));
    this.#m.flush(this.#t.now());
    for (const o of this.#m.drain()) this.#do(o);
    this.#wakeup?.cancel();
    for (const s of this.#streams.values()) s.destroy();
    this.#streams.clear();
    for (const call of this.#calls.values()) call.reject(new KernelError('STOPPED', `node ${this.name} stopped`));
    this.#calls.clear();
    await this.#listener?.close();
    await this.#udp?.close();
    this.#events.close();
    this.#messages.close();
  }

  // ---- the API ---------------------------------------------------------------------------------

  connectNode(name: string): Promise<void> {
    return this.#call((now, token) => this.#m.connect(now, name, token));
  }

  joinNode(address: Address, options: { readonly name?: string; readonly publicKey?: Uint8Array } = {}): Promise<string> {
    const { name, publicKey } = options;
    if (name !== undefined) {
      try {
        this.addPeer({ name, address, ...(publicKey ? { publicKey } : {}) });
      } catch (err) {
        return Promise.reject(err);
      }
      return this.connectNode(name).then(() => name);
    }
    return this.#call<string>((now, token) => this.#m.join(now, address, publicKey ?? null, token));
  }

  async leave(): Promise<void> {
    if (this.#phase === 'running') this.#input((now) => this.#m.leave(now));
    await this.stop();
  }

  setTags(tags: Readonly<Record<string, string>>): void {
    this.#input((now) => this.#m.setTags(now, tags));
  }

  async disconnectNode(name: string): Promise<void> {
    this.#input((now) => this.#m.disconnect(now, name));
  }

  send(name: string, value: unknown, options?: SendOptions): Promise<void> {
    let channel: string | undefined;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) return Promise.reject(new KernelError('BAD_OPTION', 'send options must be { channel? }'));
      channel = options.channel;
      if (channel !== undefined && !validChannel(channel)) {
        return Promise.reject(new KernelError('BAD_CHANNEL', `channel must be a string of 1 to ${MAX_CHANNEL_NAME_BYTES} UTF-8 bytes, got ${JSON.stringify(channel)}`));
      }
      if (channel === 'default') channel = undefined;
    }
    // The common case without a promise of its own: queued on a link that is up, under its mark.
    const token = this.#m.token();
    const outer = this.#begin(token);
    let done: boolean;
    try {
      done = this.#m.send(this.#sendTime(), name, value, token, channel);
    } catch (err) {
      try {
        this.#pump();
      } finally {
        this.#end(outer);
      }
      this.#early.delete(token);
      return Promise.reject(err);
    }
    try {
      // Nothing else but a flush to schedule when it went straight onto an up link.
      this.#pump(!done);
    } finally {
      this.#end(outer);
    }
    if (done) return RESOLVED;
    return this.#later(token);
  }

  /**
   * The clock for a send: read once per run of synchronous sends (a loop sending thousands of
   * messages reads it once, not once each; reading it cost 5% of a small send).
   */
  #sendTime(): number {
    if (this.#sendClock < 0) {
      this.#sendClock = this.#t.now();
      const stale = () => (this.#sendClock = -1);
      if (this.#t.defer) this.#t.defer(stale);
      else this.#t.setTimer(0, stale);
    }
    return this.#sendClock;
  }

  #sendClock = -1;

  /** Marks `token` as being started; returns the call it interrupts (0: none), for `#end`. */
  #begin(token: number): number {
    const outer = this.#startingToken;
    if (outer !== 0) this.#starting.add(outer);
    this.#startingToken = token;
    return outer;
  }

  #end(outer: number): void {
    this.#startingToken = outer;
    if (outer !== 0) this.#starting.delete(outer);
  }

  /** The promise of a call that did not finish at once (settled within its input, or later). */
  #later<T>(token: number): Promise<T> {
    const early = this.#early.get(token);
    if (early) {
      this.#early.delete(token);
      return early.error ? Promise.reject(early.error) : Promise.resolve(early.value as T);
    }
    return new Promise<T>((resolve, reject) => this.#calls.set(token, { resolve: resolve as (v: never) => void, reject }));
  }

  remoteNodes(name: string): Promise<string[]> {
    return this.#call<string[]>((now, token) => {
      this.#m.remoteNodes(now, name, token);
      return false;
    });
  }

  nodes(kind?: NodesKind | { readonly hidden?: boolean }): string[] {
    return this.#m.nodes(kind);
  }

  info(): NodeInfo[] {
    return this.#m.info(this.#t.now());
  }

  addPeer(peer: PeerConfig): void {
    this.#input((now) => this.#m.addPeer(now, peer));
  }

  removePeer(name: string): void {
    this.#input((now) => this.#m.removePeer(now, name));
  }

  configure(update: NodeUpdate): void {
    this.#input((now) => this.#m.configure(now, update));
  }

  setTrust(store: Trust): void {
    checkTrust(store, 'trust');
    this.#input((now) => this.#m.setTrust(now, store));
  }

  setClusterSecrets(secrets: readonly Uint8Array[]): void {
    if (!Array.isArray(secrets) || !secrets.every((s) => s instanceof Uint8Array && s.length === 32)) {
      throw new KernelError('BAD_OPTION', 'option clusterSecrets: must be a list of 32-byte Uint8Arrays');
    }
    this.#input((now) => this.#m.setClusterSecrets(now, secrets));
  }

  messages(): AsyncIterable<IncomingMessage> {
    return this.#messages.subscribe();
  }

  events(): AsyncIterable<KernelEvent> {
    return this.#events.subscribe();
  }

  stats(): KernelStats {
    return this.#m.stats();
  }
}

const utf8 = new TextEncoder();
function validChannel(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= MAX_CHANNEL_NAME_BYTES && utf8.encode(name).length <= MAX_CHANNEL_NAME_BYTES;
}

/** Creates an embedded distkit node. Throws KernelError BAD_OPTION naming a bad option. */
export function createNode(options: NodeOptions): DistkitNode {
  return new KernelNode(options);
}
