import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * Ports handed out: below Linux's ephemeral range (32768-60999 by default), from which the OS
 * picks the local port of every outgoing connection and every listen on port 0. A port found that
 * way is free only until any connect on the box takes it, between its release here and the
 * daemon's bind (a parallel test run's included). A random port under the range is taken only by
 * something that binds it on purpose. The range sits under the ones the kernel's test support
 * uses (20000 and up), so daemon and kernel tests running side by side do not draw the same port.
 */
const FREE_PORTS = { from: 12_000, to: 19_900 } as const;

async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  const tcp = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!tcp) return false;
  const udp = createSocket('udp4');
  const ok = await new Promise<boolean>((resolve) => {
    udp.once('error', () => resolve(false));
    udp.bind(port, '127.0.0.1', () => resolve(true));
  });
  await new Promise<void>((r) => {
    try {
      udp.close(() => r());
    } catch {
      r(); // never bound
    }
  });
  await new Promise<void>((r) => server.close(() => r()));
  return ok;
}

/** A port free for both TCP and UDP on 127.0.0.1 (links and heartbeats share it), checked and released for the caller. */
export async function freePort(): Promise<number> {
  const { from, to } = poolSlice();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from));
    // A port handed out once stays the caller's: a daemon restarted on its port leaves it free
    // while it is down, so a check alone would hand it to someone else.
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no port free for TCP and UDP on 127.0.0.1 in ${from}-${to} after 200 tries`);
}

const handedOut = new Set<number>();

/** This vitest worker's share of the range (VITEST_POOL_ID, from 1), so parallel files never draw the same port. */
function poolSlice(): { from: number; to: number } {
  const id = Number(process.env['VITEST_POOL_ID']);
  if (!Number.isInteger(id) || id < 1) return FREE_PORTS;
  const slices = 4;
  const width = Math.floor((FREE_PORTS.to - FREE_PORTS.from) / slices);
  const from = FREE_PORTS.from + ((id - 1) % slices) * width;
  return { from, to: from + width };
}
