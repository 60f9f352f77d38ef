// Two kernels in this process with one link between them, and the measurements the kernel
// benchmarks take over it. Portable: kernel.bench.ts runs it on Node, link.bench.ts on Node and
// Deno (the same code, so the two runtimes' figures compare).
import { TrustStore, formatTrustEntry, generateIdentity } from '@distkit/handshake';
import type { LinkSuite } from '@distkit/wire';
import { createNode, type DistkitNode, type IncomingMessage } from '../src/index.ts';

/** A byte or message pipe: `received(n)` resolves once `n` more units (bytes or messages) arrived. */
export interface Pipe {
  send(chunk: Uint8Array): void;
  received(units: number): Promise<void>;
  close(): void;
}

export interface KernelPair {
  readonly a: DistkitNode;
  readonly b: DistkitNode;
  /** a -> b, counted in messages. */
  readonly pipe: Pipe;
  /** Messages b receives on a named channel go here instead of counting for `pipe`. */
  onChannel(handler: ((m: IncomingMessage, at: number) => void) | null): void;
  /** Resolves with the arrival time of the next message on the default channel. */
  nextDefault(): Promise<number>;
  stop(): Promise<void>;
}

export async function kernelPair(options: { suites?: readonly LinkSuite[]; flowWindowBytes?: number } = {}): Promise<KernelPair> {
  const ids = [generateIdentity(), generateIdentity()];
  const store = new TrustStore({ mode: 'strict', authorizedNodes: ['a', 'b'].map((n, i) => formatTrustEntry({ name: n, key: ids[i]!.publicKey, options: {} })).join('\n') });
  const mk = (name: string, i: number, peer: string, port: number) => createNode({
    name, cluster: 'bench', identity: ids[i]!, incarnation: 1, listen: { host: '127.0.0.1', port: 0 },
    trust: { store }, connectAtStart: false, peers: port ? [{ name: peer, address: { host: '127.0.0.1', port } }] : [],
    handshakesPerSecondPerAddress: 10_000, // the latency loop reconnects from 127.0.0.1 many times a second
    ...(options.suites ? { suites: options.suites } : {}),
    ...(options.flowWindowBytes ? { flowWindowBytes: options.flowWindowBytes } : {}),
  });
  const b = mk('b', 1, 'a', 0);
  await b.start();
  const a = mk('a', 0, 'b', b.address.port);
  await a.start();
  await a.connectNode('b');
  let count = 0;
  let want = Infinity;
  let wake: (() => void) | null = null;
  let channelHandler: ((m: IncomingMessage, at: number) => void) | null = null;
  let defaultWaiter: ((at: number) => void) | null = null;
  // Not an immediately invoked function: TypeScript would narrow the handlers above to their null.
  const pump = async (): Promise<void> => {
    for await (const m of b.messages()) {
      if (m.channel !== undefined && channelHandler) {
        channelHandler(m, performance.now());
        continue;
      }
      if (defaultWaiter) {
        const w = defaultWaiter;
        defaultWaiter = null;
        w(performance.now());
        continue;
      }
      count++;
      if (count >= want && wake) {
        const w = wake;
        wake = null;
        w();
      }
    }
  };
  void pump();
  return {
    a, b,
    pipe: {
      send: (chunk) => void a.send('b', chunk),
      received: (messages) => new Promise<void>((resolve) => {
        want = count + messages;
        if (count >= want) resolve();
        else wake = resolve;
      }).then(() => { count = 0; want = Infinity; }),
      close: () => {},
    },
    onChannel: (h) => (channelHandler = h),
    nextDefault: () => new Promise<number>((resolve) => (defaultWaiter = resolve)),
    stop: async () => {
      await a.stop();
      await b.stop();
    },
  };
}

/** Units per second of sending `window` chunks of `size` bytes and waiting for them, over `ms`. */
export async function throughput(pipe: Pipe, size: number, window: number, ms: number, countsMessages: boolean): Promise<number> {
  const chunk = new Uint8Array(size).fill(0x5a);
  const start = performance.now();
  let units = 0;
  while (performance.now() - start < ms) {
    const done = pipe.received(countsMessages ? window : size * window);
    for (let i = 0; i < window; i++) pipe.send(chunk);
    await done;
    units += window;
  }
  return (units * 1000) / (performance.now() - start);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

/** The largest message a send takes (16 MiB, with room for the frame's few bytes of envelope). */
export const BULK_BYTES = 16 * 1024 * 1024 - 64;

/**
 * Latency of small messages on their own channel while `bulk` is being sent on the default one:
 * a 100-byte ping every millisecond from the moment the bulk is sent until it arrives, each
 * carrying its send time; what is measured is arrival minus send, for the pings sent meanwhile.
 */
export async function pingsBehindBulk(k: KernelPair, rounds: number, bulk = new Uint8Array(BULK_BYTES).fill(7)): Promise<{ latencies: number[]; bulkMs: number[]; spans: [number, number][] }> {
  const latencies: number[] = [];
  /** Each ping's send and arrival time (performance.now()), to line up with what else ran. */
  const spans: [number, number][] = [];
  const bulkMs: number[] = [];
  const filler = new Uint8Array(84).fill(1); // + an 8-byte float and msgpack framing: a 100-byte value
  k.onChannel((m, at) => {
    const sent = (m.value as { t: number }).t;
    latencies.push(at - sent);
    spans.push([sent, at]);
  });
  for (let r = 0; r < rounds; r++) {
    const arrived = k.nextDefault();
    const t0 = performance.now();
    void k.a.send('b', bulk);
    let done = false;
    void arrived.then(() => (done = true));
    while (!done) {
      void k.a.send('b', { t: performance.now(), f: filler }, { channel: 'ping' });
      await new Promise((res) => setTimeout(res, 1));
    }
    bulkMs.push((await arrived) - t0);
    await new Promise((res) => setTimeout(res, 20)); // the last pings land
  }
  k.onChannel(null);
  return { latencies, bulkMs, spans };
}
