// A fault-injecting relay for tests: real TCP and UDP sockets on loopback between every ordered
// pair of nodes, which can cut the traffic between two groups and heal it. Node A reaches node B
// at the relay's (A->B) ports; B sees A's datagrams arrive from the relay's (B->A) UDP port, which
// is exactly the address B has configured for A, so heartbeat senders stay identifiable.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Address } from './transport.ts';

interface Lane {
  from: string;
  to: string;
  tcp: Server;
  udp: UdpSocket;
  tcpPort: number;
  udpPort: number;
}

export interface Relay {
  /** Where `from` must dial `to` (TCP) and send it datagrams (UDP). */
  route(from: string, to: string): { address: Address; heartbeat: Address };
  /** Sets where a node really listens (TCP) and receives datagrams (UDP); may change on restart. */
  setTarget(name: string, tcp: Address, udp: Address): void;
  /** Cuts all traffic between the two groups: open TCP connections are destroyed, datagrams dropped. */
  cut(groupA: string[], groupB: string[]): void;
  /** Like a cable pulled without a reset: connections stay open but carry nothing, datagrams dropped. */
  stall(groupA: string[], groupB: string[]): void;
  /** Stops reading the connections between the groups, so TCP flow control pushes back on senders. */
  pause(groupA: string[], groupB: string[]): void;
  heal(): void;
  close(): Promise<void>;
  readonly dropped: number;
}

export async function createRelay(names: string[]): Promise<Relay> {
  const targets = new Map<string, { tcp: Address; udp: Address }>();
  const lanes = new Map<string, Lane>();
  const open = new Set<{ a: Socket; b: Socket; from: string; to: string }>();
  let blocked: [Set<string>, Set<string>] | null = null;
  let cutting = false;
  let dropped = 0;
  const isCut = (x: string, y: string) =>
    blocked !== null && ((blocked[0].has(x) && blocked[1].has(y)) || (blocked[1].has(x) && blocked[0].has(y)));

  for (const from of names) {
    for (const to of names) {
      if (from === to) continue;
      const tcp = createServer((client) => {
        const target = targets.get(to);
        if (!target || isCut(from, to)) {
          client.destroy();
          return;
        }
        const upstream = connect(target.tcp.port, target.tcp.host);
        const pair = { a: client, b: upstream, from, to };
        open.add(pair);
        // While stalled, a close on one side does not reach the other (a pulled cable carries no FIN).
        const end = () => {
          if (blocked !== null && !cutting && isCut(from, to)) return;
          open.delete(pair);
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
        // Forward byte by byte decision: a stalled pair loses what it sends, the sockets stay open.
        client.on('data', (d) => { if (!isCut(from, to)) upstream.write(d); });
        upstream.on('data', (d) => { if (!isCut(from, to)) client.write(d); });
      });
      const udp = createSocket('udp4');
      await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
      const lane: Lane = {
        from, to, tcp, udp,
        tcpPort: (tcp.address() as { port: number }).port,
        udpPort: udp.address().port,
      };
      lanes.set(`${from}>${to}`, lane);
    }
  }
  // A datagram arriving at lane (from->to) is forwarded to `to`, sent from lane (to->from), so
  // `to` sees it come from the address it has configured for `from`.
  for (const lane of lanes.values()) {
    lane.udp.on('message', (msg) => {
      const target = targets.get(lane.to);
      if (!target || isCut(lane.from, lane.to)) {
        dropped++;
        return;
      }
      lanes.get(`${lane.to}>${lane.from}`)!.udp.send(msg, target.udp.port, target.udp.host);
    });
    lane.udp.on('error', () => {});
  }

  return {
    route(from, to) {
      const lane = lanes.get(`${from}>${to}`)!;
      return { address: { host: '127.0.0.1', port: lane.tcpPort }, heartbeat: { host: '127.0.0.1', port: lane.udpPort } };
    },
    setTarget(name, tcp, udp) {
      targets.set(name, { tcp, udp });
    },
    cut(groupA, groupB) {
      blocked = [new Set(groupA), new Set(groupB)];
      cutting = true;
      for (const p of [...open]) {
        if (isCut(p.from, p.to)) {
          p.a.destroy();
          p.b.destroy();
          open.delete(p);
        }
      }
    },
    stall(groupA, groupB) {
      blocked = [new Set(groupA), new Set(groupB)];
      cutting = false;
    },
    pause(groupA, groupB) {
      const a = new Set(groupA);
      const b = new Set(groupB);
      for (const p of open) {
        if ((a.has(p.from) && b.has(p.to)) || (b.has(p.from) && a.has(p.to))) {
          p.a.pause();
          p.b.pause();
        }
      }
    },
    heal() {
      blocked = null;
      cutting = false;
    },
    get dropped() {
      return dropped;
    },
    async close() {
      blocked = null;
      for (const p of open) {
        p.a.destroy();
        p.b.destroy();
      }
      for (const lane of lanes.values()) {
        lane.tcp.close();
        lane.udp.close();
      }
    },
  };
}
