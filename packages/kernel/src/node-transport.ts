import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect as netConnect, isIPv6, type Socket } from 'node:net';
import { setImmediate } from 'node:timers';
import type {
  Address, DatagramSocket, Stream, StreamHandlers, StreamListener, TimerHandle, Transport,
} from './transport.ts';
import { KernelError } from './errors.ts';

// The production Transport: node:net for streams, node:dgram for datagrams, real clocks. Deno 2
// provides node:net and node:dgram, so the same file serves both runtimes.

class NodeStream implements Stream {
  readonly local: Address;
  readonly remote: Address;
  #handlers: StreamHandlers | undefined;
  #pending: Uint8Array[] = [];
  #closed: { error?: Error } | undefined;

  constructor(private readonly socket: Socket) {
    this.local = { host: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Uint8Array) => {
      if (this.#handlers) this.#handlers.onData(chunk);
      else this.#pending.push(chunk);
    });
    socket.on('error', (error) => this.#finish(error));
    socket.on('drain', () => this.#handlers?.onDrain?.());
    socket.on('close', () => this.#finish());
  }

  #finish(error?: Error): void {
    if (this.#closed) return;
    this.#closed = error ? { error } : {};
    this.#handlers?.onClose(error);
  }

  setHandlers(handlers: StreamHandlers): void {
    this.#handlers = handlers;
    for (const chunk of this.#pending.splice(0)) handlers.onData(chunk);
    if (this.#closed) handlers.onClose(this.#closed.error);
  }

  #corked = false;

  write(chunk: Uint8Array): boolean {
    if (this.#closed || this.socket.destroyed) return true;
    // Everything written in one turn of the event loop leaves in one syscall (writev): many small
    // frames cost one write, not one each.
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      queueMicrotask(() => {
        this.#corked = false;
        this.socket.uncork();
      });
    }
    return this.socket.write(chunk);
  }

  close(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  destroy(error?: Error): void {
    this.socket.destroy();
    this.#finish(error);
  }
}

function udpType(host: string): 'udp4' | 'udp6' {
  return isIPv6(host) ? 'udp6' : 'udp4';
}

/** Web Crypto's CSPRNG: a global on Node >= 20 and Deno. */
const webCrypto = (globalThis as unknown as { crypto: { getRandomValues<T extends Uint8Array>(a: T): T } }).crypto;

/** Real sockets and clocks. `random` defaults to Math.random; random bytes come from the CSPRNG. */
export function createNodeTransport(options: { random?: () => number } = {}): Transport {
  const random = options.random ?? Math.random;
  return {
    randomBytes: (n: number) => {
      const out = new Uint8Array(n);
      // getRandomValues fills at most 65536 bytes per call.
      for (let at = 0; at < n; at += 65536) webCrypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
      return out;
    },
    now: () => performance.now(),
    wallTime: () => Date.now(),
    random,
    defer: (fn: () => void) => queueMicrotask(fn),
    afterIo: (fn: () => void) => void setImmediate(fn),
    setTimer(delayMs: number, fn: () => void): TimerHandle {
      const t = setTimeout(fn, Math.max(0, delayMs));
      // A pending timer must never keep a stopped node's process alive.
      t.unref?.();
      return { cancel: () => clearTimeout(t) };
    },

    listen(at: Address, onStream: (stream: Stream) => void): Promise<StreamListener> {
      return new Promise((resolve, reject) => {
        const server = createServer((socket) => onStream(new NodeStream(socket)));
        server.once('error', (cause) =>
          reject(new KernelError('LISTEN_FAILED', `cannot listen on ${at.host}:${at.port}: ${(cause as Error).message}`, { cause })));
        server.listen(at.port, at.host, () => {
          const a = server.address();
          const address = typeof a === 'object' && a ? { host: a.address, port: a.port } : at;
          resolve({
            address,
            // Stops accepting at once; links already accepted live on until their owner ends them.
            close: () => {
              server.close();
              return Promise.resolve();
            },
          });
        });
      });
    },

    connect(to: Address, opts?: { readonly timeoutMs?: number }): Promise<Stream> {
      return new Promise((resolve, reject) => {
        const socket = netConnect({ host: to.host, port: to.port });
        const timeoutMs = opts?.timeoutMs;
        const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
          socket.destroy();
          reject(new KernelError('CONNECT_FAILED', `connect to ${to.host}:${to.port} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        socket.once('connect', () => {
          if (timer) clearTimeout(timer);
          socket.removeAllListeners('error');
          resolve(new NodeStream(socket));
        });
        socket.once('error', (cause) => {
          if (timer) clearTimeout(timer);
          reject(new KernelError('CONNECT_FAILED', `connect to ${to.host}:${to.port} failed: ${cause.message}`, { cause }));
        });
      });
    },

    bind(at: Address, onDatagram: (bytes: Uint8Array, from: Address) => void, opts?: { readonly receiveBufferBytes?: number }): Promise<DatagramSocket> {
      return new Promise((resolve, reject) => {
        const socket: UdpSocket = createSocket({ type: udpType(at.host), reuseAddr: false });
        socket.once('error', (cause) =>
          reject(new KernelError('LISTEN_FAILED', `cannot bind udp ${at.host}:${at.port}: ${cause.message}`, { cause })));
        socket.on('message', (msg, rinfo) => onDatagram(msg, { host: rinfo.address, port: rinfo.port }));
        socket.bind(at.port, at.host, () => {
          socket.removeAllListeners('error');
          if (opts?.receiveBufferBytes) {
            // Linux caps SO_RCVBUF at net.core.rmem_max (208 KiB by default) for unprivileged
            // processes; ask anyway, and ask for more where the OS allows it.
            try {
              socket.setRecvBufferSize(opts.receiveBufferBytes);
            } catch {
              // best effort
            }
          }
          // After bind, a send error (e.g. ICMP unreachable surfacing) must not crash the process:
          // datagrams are best effort by contract.
          socket.on('error', () => {});
          const a = socket.address();
          resolve({
            address: { host: a.address, port: a.port },
            send(bytes: Uint8Array, to: Address): void {
              try {
                socket.send(bytes, to.port, to.host, () => {});
              } catch {
                // closed socket or bad address: best effort, like UDP itself
              }
            },
            close: () => new Promise<void>((done) => {
              try {
                socket.close(() => done());
              } catch {
                done();
              }
            }),
          });
        });
      });
    },
  };
}
