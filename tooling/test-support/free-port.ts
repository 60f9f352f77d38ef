// Test ports for the packages' tests (kernel and daemon): drawn at random from a range the caller
// names, below Linux's ephemeral range (32768-60999 by default). The OS picks the local port of
// every outgoing connection and every listen on port 0 from that range, so a port found there is
// free only until any connect on the box takes it. A port under it is taken only by something that
// binds it on purpose.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** Whether `port` can be bound on 127.0.0.1 now (TCP, and UDP too when asked). */
async function bindable(port: number, udp: boolean): Promise<boolean> {
  const server = createServer();
  const tcpFree = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!tcpFree) return false;
  let udpFree = true;
  if (udp) {
    const socket = createSocket('udp4');
    udpFree = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return udpFree;
}

/**
 * Ports handed out in this process. A port stays its caller's: a node or daemon restarted on its
 * port leaves it free while it is down, so a check alone would hand it to someone else.
 */
const handedOut = new Set<number>();

/**
 * This vitest worker's share of `range` (VITEST_POOL_ID counts workers from 1), so that files
 * running in parallel never draw the same port. Vitest runs at most one worker per core by
 * default, so there are as many shares as cores: at least 4, and at most 32 so that a share of
 * the narrowest range (5,200 ports) keeps 160. Past 32 workers two share one, and the bind check
 * and the random draw are what keep them apart. The whole range outside vitest.
 */
function poolSlice(range: PortRange): PortRange {
  const id = Number(process.env['VITEST_POOL_ID']);
  if (!Number.isInteger(id) || id < 1) return range;
  const slices = Math.min(32, Math.max(4, availableParallelism()));
  const width = Math.floor((range.to - range.from) / slices);
  const from = range.from + ((id - 1) % slices) * width;
  return { from, to: from + width };
}

/** A port of `range` free on 127.0.0.1 for TCP (and UDP too when asked), checked and released for the caller to bind. */
export async function freePortIn(range: PortRange, options: { udp?: boolean } = {}): Promise<number> {
  const { from, to } = poolSlice(range);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (handedOut.has(port)) continue;
    if (await bindable(port, options.udp ?? false)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 in ${from}-${to} after 200 tries`);
}
