// A seeded, virtual-time network of hosts. Each host gets a Transport (the interface in
// @distkit/wire that the kernel runs on: streams, datagram sockets, a clock with timers,
// randomness). Same seed and same inputs -> the same run, event for event.
import { EventQueue } from './queue.ts';
import { createRandom, fnv1a } from './random.ts';

import type { Address, DatagramSocket, Stream, StreamHandlers, StreamListener, TimerHandle, Transport } from '@distkit/wire';

export type { Address, DatagramSocket, Stream, StreamHandlers, StreamListener, TimerHandle };
/** A simulated host's Transport: the very interface the kernel runs on (@distkit/wire). */
export type SimTransport = Transport;

/** One-way delay of a packet, ms: a constant, uniform in [min, max], or drawn by a function. */
export type DelaySpec = number | { readonly min: number; readonly max: number } | ((random: () => number) => number);

export interface SimNetworkOptions {
  readonly seed: number;
  /** Probability that a datagram is lost. Default 0. */
  readonly loss?: number;
  /** One-way delay of datagrams and stream segments. Default 1 ms. */
  readonly delay?: DelaySpec;
  /** Probability that a datagram is delivered twice (the copy with its own delay). Default 0. */
  readonly duplicate?: number;
  /** Probability that a datagram is held back by an extra delay of up to twice the largest delay (reordering it). Default 0. */
  readonly reorder?: number;
  /** Wall-clock time at virtual time 0, ms since the epoch (`wallTime()`). Default 1.8e12. */
  readonly wallOrigin?: number;
  /**
   * Copy datagram bytes on send, like a real network. Default true. With false the receiver gets
   * the sender's very buffer: faster for large simulations whose senders never reuse buffers.
   */
  readonly copyDatagrams?: boolean;
  /** Fold every delivery into `digest()` (for same-seed replay checks). Default false. */
  readonly trace?: boolean;
  /** Called for every datagram delivered (experiments measure anchors, such as a plain silence rule, with it). */
  readonly onDatagram?: (from: string, to: string, at: number) => void;
}

export interface PartitionOptions {
  /** Virtual time at which the partition heals by itself. */
  readonly healAt?: number;
}

export interface CrashOptions {
  /**
   * true: the process died but its machine lives, so peers' streams are reset (ECONNRESET).
   * false (default): the machine is gone; peers hear nothing and their streams stall.
   */
  readonly reset?: boolean;
}

export interface NetworkStats {
  readonly datagramsSent: number;
  readonly datagramsDelivered: number;
  readonly datagramsLost: number;
  /** Dropped because of a partition, a crashed or unknown host, or no socket at the port. */
  readonly datagramsUndeliverable: number;
  readonly datagramsDuplicated: number;
  readonly events: number;
}

export interface SimNetwork {
  /** Current virtual time, ms. */
  readonly now: number;
  /** The Transport of `name` (created on first use). After a crash it is dead; `restart` gives the new one. */
  host(name: string): SimTransport;
  /** Incarnation of a host: 0 at first, +1 on every restart. */
  incarnation(name: string): number;
  isUp(name: string): boolean;
  /** Whether datagrams from `a` can reach `b` right now (same partition group; both up). */
  reachable(a: string, b: string): boolean;
  /** Splits hosts into groups that cannot reach each other; hosts in no group form one more group. */
  partition(groups: readonly (readonly string[])[], options?: PartitionOptions): void;
  heal(): void;
  /**
   * Cuts the path between two hosts only (streams stall, datagrams are lost), whatever their
   * groups: an overlapping partition (A and B talk, B and C talk, A and C do not).
   */
  cut(a: string, b: string): void;
  /** Restores the path `cut` removed. */
  mend(a: string, b: string): void;
  /** Stops a host: its timers, sockets and streams vanish. */
  crash(name: string, options?: CrashOptions): void;
  /** Brings a crashed host back with incarnation + 1 and returns its fresh Transport. */
  restart(name: string): SimTransport;
  /** Schedules `fn` at virtual time `at` (scenario scripting). */
  at(time: number, fn: () => void): void;
  /** Runs the events of the next instant; false when there are none. Promises settle only under `run`. */
  step(): boolean;
  /** Runs every event up to `until` synchronously and sets the clock to `until`. */
  runSync(until: number): void;
  /** Like runSync, but lets promises (connect, listen, bind, user code awaiting them) settle between instants. */
  run(until: number): Promise<void>;
  stats(): NetworkStats;
  /** A 64-bit digest (hex) of every delivery so far; needs `trace: true`. */
  digest(): string;
}

const EPHEMERAL = 49152;

// Only the asynchronous runner needs a real macrotask, to let promise chains settle between
// virtual instants; the package is compiled without runtime typings, so declare it here.
declare const setTimeout: (fn: () => void, ms: number) => unknown;

function checkProbability(name: string, v: number | undefined): number {
  const p = v ?? 0;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a probability in [0, 1] (got ${String(v)})`);
  return p;
}

function delaySampler(spec: DelaySpec | undefined, random: () => number): { draw: () => number; max: number } {
  if (spec === undefined) return { draw: () => 1, max: 1 };
  if (typeof spec === 'number') {
    if (!(spec >= 0)) throw new RangeError(`delay must be >= 0 (got ${spec})`);
    return { draw: () => spec, max: spec };
  }
  if (typeof spec === 'function') return { draw: () => Math.max(0, spec(random)), max: 1 };
  const { min, max } = spec;
  if (!(min >= 0 && max >= min)) throw new RangeError(`delay must satisfy 0 <= min <= max (got ${min}, ${max})`);
  return { draw: () => min + (max - min) * random(), max };
}

/** A failure as Node reports it: an Error with a `code`. */
function netError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

interface HostState {
  readonly name: string;
  readonly index: number;
  epoch: number;
  up: boolean;
  incarnation: number;
  group: number;
  nextPort: number;
  readonly random: () => number;
  readonly udp: Map<number, (bytes: Uint8Array, from: Address) => void>;
  readonly listeners: Map<number, (stream: Stream) => void>;
  readonly streams: Set<SimStream>;
  transport: SimTransport;
}

interface Datagram {
  readonly src: HostState;
  readonly srcAddress: Address;
  readonly dst: HostState;
  readonly epoch: number;
  readonly port: number;
  readonly data: Uint8Array;
}

/** One direction of a stream: segments in flight, delivered in order. */
class SimStream implements Stream {
  readonly local: Address;
  readonly remote: Address;
  peer: SimStream | null = null;
  private handlers: StreamHandlers | null = null;
  private inbox: Uint8Array[] = [];
  private closedWith: { error?: Error } | null = null;
  private localClosed = false;
  lastArrival = 0;
  private readonly net: NetworkCore;
  readonly host: HostState;
  readonly epoch: number;

  constructor(net: NetworkCore, host: HostState, local: Address, remote: Address) {
    this.net = net;
    this.host = host;
    this.epoch = host.epoch;
    this.local = local;
    this.remote = remote;
    host.streams.add(this);
  }

  get alive(): boolean {
    return !this.localClosed && this.host.epoch === this.epoch;
  }

  setHandlers(handlers: StreamHandlers): void {
    this.handlers = handlers;
    const pending = this.inbox;
    this.inbox = [];
    for (const chunk of pending) handlers.onData(chunk);
    if (this.closedWith !== null) this.finish(this.closedWith.error);
  }

  /** Segments on their way to this end, in order: `null` is the end of stream (with `reset` for an RST). */
  private readonly transit: { at: number; segment: Uint8Array | null; reset: Error | undefined }[] = [];
  private stalled = false;

  /** Sends a segment (or the end of stream, `null`) to the peer, in order, after the network delay. */
  private transmit(segment: Uint8Array | null, reset?: Error): void {
    const peer = this.peer;
    if (peer === null) return;
    const arrival = Math.max(this.lastArrival, this.net.arrivalTime());
    this.lastArrival = arrival;
    peer.transit.push({ at: arrival, segment, reset });
    this.net.queue.schedule(arrival, () => peer.pump());
  }

  /** Delivers what has arrived, in order; through a partition TCP keeps retransmitting, so the rest waits for the heal. */
  pump(): void {
    const from = this.peer?.host;
    while (this.transit.length > 0 && this.transit[0]!.at <= this.net.queue.now && this.alive) {
      if (from === undefined || !this.net.reachable(from, this.host)) {
        if (!this.stalled) {
          this.stalled = true;
          this.net.stall(this);
        }
        return;
      }
      const { segment, reset } = this.transit.shift()!;
      if (this.net.tracing) this.net.record(2, from.index, this.host.index, segment);
      if (segment !== null) this.receive(segment);
      else this.remoteClosed(reset);
    }
  }

  unstall(at: number): void {
    this.stalled = false;
    for (const t of this.transit) if (t.at < at) t.at = at;
    this.net.queue.schedule(at, () => this.pump());
  }

  receive(chunk: Uint8Array): void {
    if (!this.alive || this.closedWith !== null) return;
    if (this.handlers === null) this.inbox.push(chunk);
    else this.handlers.onData(chunk);
  }

  remoteClosed(error?: Error): void {
    if (!this.alive || this.closedWith !== null) return;
    this.closedWith = error === undefined ? {} : { error };
    this.localClosed = true;
    this.host.streams.delete(this);
    if (this.handlers !== null) this.finish(error);
  }

  private finished = false;
  private finish(error?: Error): void {
    if (this.finished || this.handlers === null) return;
    this.finished = true;
    if (error === undefined) this.handlers.onClose();
    else this.handlers.onClose(error);
  }

  write(chunk: Uint8Array): void {
    if (!this.alive) return;
    this.transmit(chunk.slice());
  }

  close(): void {
    if (!this.alive) return;
    this.transmit(null);
    this.localClosed = true;
    this.closedWith ??= {};
    this.host.streams.delete(this);
    this.finish();
  }

  destroy(error?: Error): void {
    if (!this.alive) return;
    this.transmit(null, netError('ECONNRESET', 'connection reset by peer'));
    this.localClosed = true;
    this.closedWith ??= error === undefined ? {} : { error };
    this.host.streams.delete(this);
    this.finish(error);
  }

  /** The host crashed: this end vanishes without a word to its own handlers. */
  vanish(reset: boolean): void {
    if (reset) this.transmit(null, netError('ECONNRESET', 'connection reset by peer'));
    this.localClosed = true;
  }
}

/** The shared machinery behind every host's Transport. */
class NetworkCore {
  readonly queue = new EventQueue();
  readonly hosts = new Map<string, HostState>();
  private readonly random: () => number;
  private readonly loss: number;
  private readonly duplicate: number;
  private readonly reorder: number;
  private readonly delay: { draw: () => number; max: number };
  private readonly copy: boolean;
  readonly tracing: boolean;
  readonly seed: number;
  readonly wallOrigin: number;
  settled = false;
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193;
  /** Stream deliveries held back by a partition, released on heal. */
  private stalled: SimStream[] = [];
  counters = { datagramsSent: 0, datagramsDelivered: 0, datagramsLost: 0, datagramsUndeliverable: 0, datagramsDuplicated: 0 };

  constructor(options: SimNetworkOptions) {
    if (!Number.isSafeInteger(options?.seed)) throw new RangeError(`seed must be an integer (got ${String(options?.seed)})`);
    this.seed = options.seed;
    this.random = createRandom(options.seed, 'network');
    this.loss = checkProbability('loss', options.loss);
    this.duplicate = checkProbability('duplicate', options.duplicate);
    this.reorder = checkProbability('reorder', options.reorder);
    this.delay = delaySampler(options.delay, this.random);
    this.copy = options.copyDatagrams ?? true;
    this.tracing = options.trace ?? false;
    this.wallOrigin = options.wallOrigin ?? 1_800_000_000_000;
    this.onDatagram = options.onDatagram;
  }

  /** Pairs of host indexes whose path is cut (lower index first). */
  readonly cuts = new Set<number>();
  readonly onDatagram: ((from: string, to: string, at: number) => void) | undefined;

  reachable(a: HostState, b: HostState): boolean {
    if (a.group !== b.group) return false;
    if (this.cuts.size === 0) return true;
    return !this.cuts.has(a.index < b.index ? a.index * 65536 + b.index : b.index * 65536 + a.index);
  }

  /** When a packet sent now arrives: whole milliseconds, so simultaneous arrivals share a bucket. */
  arrivalTime(): number {
    let d = this.delay.draw();
    if (this.reorder > 0 && this.random() < this.reorder) d += 2 * this.delay.max * this.random();
    return Math.ceil(this.queue.now + d);
  }

  record(kind: number, from: number, to: number, bytes: Uint8Array | null): void {
    let h1 = this.h1;
    let h2 = this.h2;
    const mix = (v: number) => {
      h1 = Math.imul(h1 ^ v, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ v, 0x5bd1e995) >>> 0;
    };
    mix(kind);
    mix(Math.round(this.queue.now * 1000));
    mix(from);
    mix(to);
    if (bytes !== null) {
      mix(bytes.length);
      for (let i = 0; i < bytes.length; i++) mix(bytes[i]!);
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  digest(): string {
    return this.h1.toString(16).padStart(8, '0') + this.h2.toString(16).padStart(8, '0');
  }

  sendDatagram(src: HostState, srcAddress: Address, bytes: Uint8Array, to: Address): void {
    const c = this.counters;
    c.datagramsSent++;
    const dst = this.hosts.get(to.host);
    if (dst === undefined || !dst.up || !this.reachable(src, dst)) {
      c.datagramsUndeliverable++;
      return;
    }
    if (this.loss > 0 && this.random() < this.loss) {
      c.datagramsLost++;
      return;
    }
    const d: Datagram = { src, srcAddress, dst, epoch: dst.epoch, port: to.port, data: this.copy ? bytes.slice() : bytes };
    this.queue.schedule(this.arrivalTime(), this.deliver, d);
    if (this.duplicate > 0 && this.random() < this.duplicate) {
      c.datagramsDuplicated++;
      this.queue.schedule(this.arrivalTime(), this.deliver, d);
    }
  }

  private readonly deliver = (d: Datagram): void => {
    const { dst, src } = d;
    const handler = dst.up && dst.epoch === d.epoch && this.reachable(src, dst) ? dst.udp.get(d.port) : undefined;
    if (handler === undefined) {
      this.counters.datagramsUndeliverable++;
      return;
    }
    this.counters.datagramsDelivered++;
    this.onDatagram?.(src.name, dst.name, this.queue.now);
    if (this.tracing) this.record(1, src.index, dst.index, d.data);
    handler(d.data, d.srcAddress);
  };

  stall(stream: SimStream): void {
    this.stalled.push(stream);
  }

  releaseStalled(): void {
    const held = this.stalled;
    this.stalled = [];
    for (const s of held) s.unstall(this.arrivalTime());
  }
}

function checkAddress(a: Address, what: string): void {
  if (a === null || typeof a !== 'object' || typeof a.host !== 'string' || !Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
    throw new RangeError(`${what} must be { host: string, port: 0..65535 }`);
  }
}

function makeTransport(net: NetworkCore, host: HostState): SimTransport {
  const epoch = host.epoch;
  const q = net.queue;
  const live = () => host.epoch === epoch && host.up;
  const settle = <T>(fn: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      fn(
        (v) => {
          net.settled = true;
          resolve(v);
        },
        (e) => {
          net.settled = true;
          reject(e);
        },
      );
    });
  const port = (requested: number, taken: (p: number) => boolean): number => {
    if (requested !== 0) return requested;
    while (taken(host.nextPort)) host.nextPort++;
    return host.nextPort++;
  };
  const transport: SimTransport = {
    now: () => q.now,
    wallTime: () => net.wallOrigin + q.now,
    random: host.random,
    randomBytes(n: number): Uint8Array {
      // The host's seeded stream, four bytes a draw: a seed replays ephemeral keys too.
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const v = Math.floor(host.random() * 4294967296);
        out[i] = v & 0xff;
        if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff;
        if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff;
        if (i + 3 < n) out[i + 3] = v >>> 24;
      }
      return out;
    },
    setTimer(delayMs: number, fn: () => void): TimerHandle {
      if (!(delayMs >= 0)) throw new RangeError(`delayMs must be >= 0 (got ${delayMs})`);
      let cancelled = false;
      if (live()) q.schedule(q.now + delayMs, () => {
        if (!cancelled && live()) fn();
      });
      return { cancel: () => void (cancelled = true) };
    },
    bind(at: Address, onDatagram: (bytes: Uint8Array, from: Address) => void): Promise<DatagramSocket> {
      checkAddress(at, 'bind address');
      return settle((resolve, reject) => {
        if (!live()) return reject(netError('EHOSTDOWN', `${host.name} is down`));
        const p = port(at.port, (n) => host.udp.has(n));
        if (host.udp.has(p)) return reject(netError('EADDRINUSE', `${host.name}:${p} is in use`));
        host.udp.set(p, onDatagram);
        const address: Address = Object.freeze({ host: host.name, port: p });
        let closed = false;
        resolve({
          address,
          send(bytes: Uint8Array, to: Address): void {
            if (closed || !live()) return;
            net.sendDatagram(host, address, bytes, to);
          },
          close(): Promise<void> {
            if (!closed && host.epoch === epoch) host.udp.delete(p);
            closed = true;
            return Promise.resolve();
          },
        });
      });
    },
    listen(at: Address, onStream: (stream: Stream) => void): Promise<StreamListener> {
      checkAddress(at, 'listen address');
      return settle((resolve, reject) => {
        if (!live()) return reject(netError('EHOSTDOWN', `${host.name} is down`));
        const p = port(at.port, (n) => host.listeners.has(n));
        if (host.listeners.has(p)) return reject(netError('EADDRINUSE', `${host.name}:${p} is in use`));
        host.listeners.set(p, onStream);
        resolve({
          address: Object.freeze({ host: host.name, port: p }),
          close(): Promise<void> {
            if (host.epoch === epoch && host.listeners.get(p) === onStream) host.listeners.delete(p);
            return Promise.resolve();
          },
        });
      });
    },
    connect(to: Address, options?: { readonly timeoutMs?: number }): Promise<Stream> {
      checkAddress(to, 'connect address');
      const timeoutMs = options?.timeoutMs ?? 10_000;
      return settle((resolve, reject) => {
        if (!live()) return reject(netError('EHOSTDOWN', `${host.name} is down`));
        const dst = net.hosts.get(to.host);
        let done = false;
        const fail = (e: Error) => {
          if (!done) {
            done = true;
            reject(e);
          }
        };
        // The error only when the timeout is what ends the connect: every connect of a mesh
        // forming arms one, and an Error (its stack) costs more than the rest of a connect.
        q.schedule(q.now + timeoutMs, () => {
          if (!done) fail(netError('ETIMEDOUT', `connect to ${to.host}:${to.port} timed out`));
        });
        if (dst === undefined) return;
        // SYN: one delay there; the listener sees the stream; SYN-ACK: one delay back.
        q.schedule(net.arrivalTime(), () => {
          if (done || !live() || !dst.up || !net.reachable(host, dst)) return;
          const onStream = dst.listeners.get(to.port);
          const back = net.arrivalTime() - q.now;
          if (onStream === undefined) {
            q.schedule(q.now + back, () => fail(netError('ECONNREFUSED', `nothing listens at ${to.host}:${to.port}`)));
            return;
          }
          const local: Address = Object.freeze({ host: host.name, port: host.nextPort++ });
          const remote: Address = Object.freeze({ host: dst.name, port: to.port });
          const server = new SimStream(net, dst, remote, local);
          // Both ends exist from the SYN on, so what the server does before the SYN-ACK lands (a
          // reset, an eviction) reaches the client after it, in order, as on TCP; the client only
          // sees its end once connected.
          const client = new SimStream(net, host, local, remote);
          client.peer = server;
          server.peer = client;
          server.lastArrival = q.now + back;
          q.schedule(q.now + back, () => {
            if (done || !live()) {
              client.destroy();
              server.destroy();
              return;
            }
            done = true;
            resolve(client);
          });
          onStream(server);
        });
      });
    },
  };
  return transport;
}

/**
 * A deterministic simulated network. Hosts are created on first use by `host(name)`; their
 * transports share one virtual clock. Randomness (loss, delay, each host's `random()`) comes from
 * streams derived from `seed`, so the same seed and the same calls give the same run.
 */
export function createSimNetwork(options: SimNetworkOptions): SimNetwork {
  const net = new NetworkCore(options);
  const q = net.queue;
  let healTimer = 0;

  function state(name: string): HostState {
    let h = net.hosts.get(name);
    if (h === undefined) {
      if (typeof name !== 'string' || name.length === 0) throw new RangeError('a host name must be a non-empty string');
      h = {
        name, index: net.hosts.size, epoch: 0, up: true, incarnation: 0, group: 0, nextPort: EPHEMERAL,
        random: createRandom(net.seed, `host:${name}:${fnv1a(name)}`),
        udp: new Map(), listeners: new Map(), streams: new Set(), transport: undefined as unknown as SimTransport,
      };
      h.transport = makeTransport(net, h);
      net.hosts.set(name, h);
    }
    return h;
  }

  function heal(): void {
    for (const h of net.hosts.values()) h.group = 0;
    net.releaseStalled();
  }

  const network: SimNetwork = {
    get now() {
      return q.now;
    },
    host: (name) => state(name).transport,
    incarnation: (name) => state(name).incarnation,
    isUp: (name) => state(name).up,
    reachable(a, b) {
      const x = state(a);
      const y = state(b);
      return x.up && y.up && net.reachable(x, y);
    },
    partition(groups, opts) {
      const seen = new Set<string>();
      for (const h of net.hosts.values()) h.group = 0;
      groups.forEach((g, i) => {
        for (const name of g) {
          if (seen.has(name)) throw new RangeError(`host ${name} is in more than one group`);
          seen.add(name);
          state(name).group = i + 1;
        }
      });
      const token = ++healTimer;
      if (opts?.healAt !== undefined) {
        q.schedule(opts.healAt, () => {
          if (token === healTimer) heal();
        });
      }
    },
    heal() {
      healTimer++;
      heal();
    },
    cut(a, b) {
      const x = state(a).index;
      const y = state(b).index;
      if (x === y) throw new RangeError('a host cannot be cut from itself');
      net.cuts.add(x < y ? x * 65536 + y : y * 65536 + x);
    },
    mend(a, b) {
      const x = state(a).index;
      const y = state(b).index;
      net.cuts.delete(x < y ? x * 65536 + y : y * 65536 + x);
      net.releaseStalled();
    },
    crash(name, opts) {
      const h = state(name);
      if (!h.up) return;
      h.up = false;
      h.epoch++;
      h.udp.clear();
      h.listeners.clear();
      for (const s of h.streams) s.vanish(opts?.reset ?? false);
      h.streams.clear();
    },
    restart(name) {
      const h = state(name);
      if (h.up) throw new RangeError(`host ${name} is up; crash it first`);
      h.up = true;
      h.incarnation++;
      h.nextPort = EPHEMERAL;
      h.transport = makeTransport(net, h);
      return h.transport;
    },
    at(time, fn) {
      q.schedule(time, fn);
    },
    step() {
      return q.runNext(Number.POSITIVE_INFINITY);
    },
    runSync(until) {
      while (q.runNext(until));
      if (q.now < until) q.now = until;
    },
    async run(until) {
      const flush = () => new Promise<void>((r) => setTimeout(r, 0));
      await flush();
      while (q.runNext(until)) {
        if (net.settled) {
          net.settled = false;
          await flush();
        }
      }
      if (q.now < until) q.now = until;
      await flush();
    },
    stats: () => ({ ...net.counters, events: q.processed }),
    digest: () => net.digest(),
  };
  return network;
}
