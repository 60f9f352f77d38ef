// The seam between the kernel's logic and the world, as types only (no runtime code). It lives in
// wire, the shared vocabulary, because two packages implement it and must not drift: the kernel's
// Node sockets (node:net, node:dgram; Deno 2 provides both) and the simulator's channels in
// @distkit/sim (which cannot import the kernel: the kernel's tests import the simulator).
// Callbacks rather than async iterables: the simulator drives thousands of nodes on one virtual
// clock, and a callback runs exactly when the simulated packet arrives, with no microtask hop.

/** An endpoint: an IP literal or host name (the simulator uses its own host names) and a port. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface StreamHandlers {
  /** Bytes arrived, in order. Chunk boundaries mean nothing. */
  onData(chunk: Uint8Array): void;
  /** The stream is closed (by either side); `error` when it was not a clean close. Called once. */
  onClose(error?: Error): void;
  /** Optional: the send buffer has drained after a `write` returned false. */
  onDrain?(): void;
}

/** One ordered, reliable byte stream (TCP, or a simulated one). */
export interface Stream {
  readonly local: Address;
  readonly remote: Address;
  /** Installs the handlers; bytes that arrived before are delivered at once, in order. */
  setHandlers(handlers: StreamHandlers): void;
  /**
   * Queues bytes for sending; silently dropped once the stream is closed. Returns false when the
   * send buffer is over its high-water mark (wait for `onDrain`); a transport without
   * back-pressure returns nothing.
   */
  write(chunk: Uint8Array): boolean | void;
  /** Closes after pending writes are flushed. */
  close(): void;
  /** Closes at once, discarding pending writes. */
  destroy(error?: Error): void;
}

export interface StreamListener {
  readonly address: Address;
  close(): Promise<void>;
}

export interface DatagramSocket {
  readonly address: Address;
  /** Best effort, like UDP: may be lost, duplicated or reordered. Never throws for a send failure. */
  send(bytes: Uint8Array, to: Address): void;
  close(): Promise<void>;
}

export interface TimerHandle {
  cancel(): void;
}

/** Time as the kernel sees it: real in production, virtual in the simulator. */
export interface Clock {
  /** Monotonic milliseconds (arbitrary origin). */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (for "started at" only, never for timeouts). */
  wallTime(): number;
  /** Calls `fn` once after `delayMs` (>= 0). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /**
   * Optional: calls `fn` once the current task is done, before any I/O or timer (a microtask on a
   * real runtime). Used to batch frames. Without it the kernel uses `setTimer(0, fn)`, which is the
   * same instant in a simulator.
   */
  defer?(fn: () => void): void;
  /**
   * Optional: calls `fn` once, after the I/O that is already pending has been handled (setImmediate
   * on a real runtime). A large message is written a slice per call, so that reads and other sends
   * go on meanwhile. Without it the kernel uses `setTimer(0, fn)`.
   */
  afterIo?(fn: () => void): void;
}

export interface Transport extends Clock {
  /** Accepts incoming streams at `at` (port 0 picks a free port; see `address`). */
  listen(at: Address, onStream: (stream: Stream) => void): Promise<StreamListener>;
  /** Opens a stream; rejects if it cannot be established within `timeoutMs`. */
  connect(to: Address, options?: { readonly timeoutMs?: number }): Promise<Stream>;
  /**
   * Binds a datagram socket at `at` (port 0 picks a free port). `receiveBufferBytes`: ask the
   * operating system for a receive buffer this large (best effort: it may cap it).
   */
  bind(at: Address, onDatagram: (bytes: Uint8Array, from: Address) => void, options?: { readonly receiveBufferBytes?: number }): Promise<DatagramSocket>;
  /** Uniform random in [0, 1): seeded in the simulator, Math.random in production. */
  random(): number;
  /**
   * `n` random bytes: a CSPRNG in production (ephemeral keys come from here), the seeded stream in
   * the simulator, so that a seed replays a run byte for byte.
   */
  randomBytes(n: number): Uint8Array;
}
