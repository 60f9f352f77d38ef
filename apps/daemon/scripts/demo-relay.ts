// The demo's network: a TCP and UDP relay on loopback for every ordered pair of daemons, which
// can cut the traffic between two groups and heal it. X reaches Y through lane X>Y; a datagram
// arriving there is sent on to Y from lane Y>X's socket, the address Y has configured for X, so Y
// still knows who sent it. (The kernel's test relay works the same way.)
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Address {
  readonly host: string;
  readonly port: number;
}

interface Lane {
  readonly tcp: Server;
  readonly udp: UdpSocket;
}

export class DemoRelay {
  readonly #lanes = new Map<string, Lane>();
  readonly #targets = new Map<string, Address>();
  readonly #open = new Set<{ from: string; to: string; sockets: Socket[] }>();
  #cut: [Set<string>, Set<string>] | null = null;
  #closed = false;

  static async create(names: readonly string[]): Promise<DemoRelay> {
    const relay = new DemoRelay();
    for (const from of names) for (const to of names) if (from !== to) await relay.#lane(from, to);
    return relay;
  }

  /** Where `from` reaches `to`: one port for links (TCP) and heartbeats (UDP). */
  route(from: string, to: string): Address {
    const lane = this.#lanes.get(`${from}>${to}`);
    return { host: '127.0.0.1', port: (lane?.tcp.address() as { port: number }).port };
  }

  /** Where `name` really listens (TCP and UDP on one port). */
  setTarget(name: string, at: Address): void {
    this.#targets.set(name, at);
  }

  cut(a: readonly string[], b: readonly string[]): void {
    this.#cut = [new Set(a), new Set(b)];
    for (const pair of [...this.#open]) {
      if (this.#blocked(pair.from, pair.to)) for (const s of pair.sockets) s.destroy();
    }
  }

  heal(): void {
    this.#cut = null;
  }

  /** Closes every lane and open pair; a second call does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pair of this.#open) for (const s of pair.sockets) s.destroy();
    for (const lane of this.#lanes.values()) {
      lane.tcp.close();
      lane.udp.close();
    }
  }

  #blocked(x: string, y: string): boolean {
    const c = this.#cut;
    return c !== null && ((c[0].has(x) && c[1].has(y)) || (c[1].has(x) && c[0].has(y)));
  }

  async #lane(from: string, to: string): Promise<void> {
    const tcp = createServer((client) => {
      const target = this.#targets.get(to);
      if (!target || this.#blocked(from, to)) return void client.destroy();
      const upstream = connect(target.port, target.host);
      const pair = { from, to, sockets: [client, upstream] };
      this.#open.add(pair);
      const end = (): void => {
        this.#open.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end).pipe(upstream);
      upstream.on('error', end).on('close', end).pipe(client);
    });
    // Same port number for TCP and UDP, as distkitd listens: retry until both are free.
    for (;;) {
      await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
      const port = (tcp.address() as { port: number }).port;
      const udp = createSocket('udp4');
      const ok = await new Promise<boolean>((resolve) => {
        udp.once('error', () => resolve(false));
        udp.bind(port, '127.0.0.1', () => resolve(true));
      });
      if (ok) {
        udp.on('message', (msg) => {
          const target = this.#targets.get(to);
          if (!target || this.#blocked(from, to)) return;
          this.#lanes.get(`${to}>${from}`)?.udp.send(msg, target.port, target.host);
        });
        udp.on('error', () => {});
        this.#lanes.set(`${from}>${to}`, { tcp, udp });
        return;
      }
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    }
  }
}
