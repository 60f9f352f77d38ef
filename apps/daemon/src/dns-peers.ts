// Peers from DNS: SRV records (target + port, as Kubernetes headless services and Consul publish
// them) and A/AAAA records (every address of a name, at a configured port), refreshed
// periodically. A query that fails for a transient reason keeps its previous answer, so a DNS
// hiccup never removes peers; a name that does not exist (NXDOMAIN/NODATA) means "no peers".
import { Resolver } from 'node:dns/promises';
import type { PeerConfig } from '@distkit/kernel';
import type { Logger } from './log.ts';

export interface DnsPeersOptions {
  readonly srv: readonly string[];
  /** "host" or "host:port" (default port: `port`). */
  readonly a: readonly string[];
  readonly port: number;
  /** DNS servers ("ip" or "ip:port"); empty: the system's. */
  readonly servers: readonly string[];
  readonly refreshMs: number;
  /** Node name template; `{host}` is the SRV target or the A record's address, `{port}` the port. */
  readonly name: string;
  /** Leaves out this node itself. */
  readonly exclude?: (peer: PeerConfig) => boolean;
  /** Called after a refresh changed the set: added or changed peers, and removed names. */
  readonly onChange: (upserted: readonly PeerConfig[], removed: readonly string[]) => void;
  readonly log?: Logger;
  /** Per-query timeout (default 2000 ms). */
  readonly timeoutMs?: number;
}

const ABSENT = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'NODATA']);

export class DnsPeers {
  readonly #options: DnsPeersOptions;
  readonly #resolver: Resolver;
  /** Last good answer per query, kept when a later query fails transiently. */
  readonly #answers = new Map<string, PeerConfig[]>();
  #current = new Map<string, PeerConfig>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | null = null;

  constructor(options: DnsPeersOptions) {
    this.#options = options;
    this.#resolver = new Resolver({ timeout: options.timeoutMs ?? 2000, tries: 2 });
    if (options.servers.length > 0) this.#resolver.setServers([...options.servers]);
  }

  /** Resolves once, then every refreshMs. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#options.refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#resolver.cancel();
  }

  /** The peers DNS currently yields, by name. */
  peers(): PeerConfig[] {
    return [...this.#current.values()];
  }

  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const o = this.#options;
    await Promise.all([
      ...o.srv.map((name) => this.#query(`srv:${name}`, () => this.#srv(name))),
      ...o.a.map((spec) => this.#query(`a:${spec}`, () => this.#a(spec))),
    ]);
    const next = new Map<string, PeerConfig>();
    for (const peers of this.#answers.values()) {
      for (const peer of peers) if (!next.has(peer.name) && !(o.exclude?.(peer) ?? false)) next.set(peer.name, peer);
    }
    const upserted = [...next.values()].filter((p) => !samePeer(this.#current.get(p.name), p));
    const removed = [...this.#current.keys()].filter((name) => !next.has(name));
    this.#current = next;
    if (upserted.length > 0 || removed.length > 0) {
      o.log?.info({ added: upserted.map((p) => p.name), removed }, 'peers from DNS changed');
      o.onChange(upserted, removed);
    }
  }

  async #query(key: string, run: () => Promise<PeerConfig[]>): Promise<void> {
    try {
      this.#answers.set(key, await run());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (ABSENT.has(code)) this.#answers.set(key, []);
      else this.#options.log?.warn({ query: key, code, err: (err as Error).message }, 'DNS query failed; keeping its previous answer');
    }
  }

  async #srv(name: string): Promise<PeerConfig[]> {
    const records = await this.#resolver.resolveSrv(name);
    // RFC 2782 order: lowest priority first, then highest weight.
    records.sort((x, y) => x.priority - y.priority || y.weight - x.weight);
    const peers = await Promise.all(
      records.map(async (r) => {
        const target = r.name.replace(/\.$/, '');
        const address = await this.#addressOf(target);
        return address === null ? null : this.#peer(target, address, r.port);
      }),
    );
    return peers.filter((p): p is PeerConfig => p !== null);
  }

  async #a(spec: string): Promise<PeerConfig[]> {
    const m = /^(.*?)(?::(\d+))?$/.exec(spec);
    const host = m?.[1] ?? spec;
    const port = m?.[2] === undefined ? this.#options.port : Number(m[2]);
    const addresses = await this.#addresses(host);
    return addresses.map((address) => this.#peer(address, address, port));
  }

  async #addressOf(host: string): Promise<string | null> {
    try {
      return (await this.#addresses(host))[0] ?? null;
    } catch (err) {
      if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
      throw err;
    }
  }

  /** IPv4 addresses, else IPv6; sorted so the choice is stable across refreshes. */
  async #addresses(host: string): Promise<string[]> {
    const v4 = await this.#resolver.resolve4(host).catch((err: NodeJS.ErrnoException) => {
      if (ABSENT.has(err.code ?? '')) return [] as string[];
      throw err;
    });
    if (v4.length > 0) return v4.sort();
    const v6 = await this.#resolver.resolve6(host).catch((err: NodeJS.ErrnoException) => {
      if (ABSENT.has(err.code ?? '')) return [] as string[];
      throw err;
    });
    if (v6.length === 0) throw Object.assign(new Error(`${host} has no A or AAAA record`), { code: 'ENODATA' });
    return v6.sort();
  }

  #peer(host: string, address: string, port: number): PeerConfig {
    const name = this.#options.name.replaceAll('{host}', host).replaceAll('{port}', String(port));
    return { name, address: { host: address, port } };
  }
}

function samePeer(a: PeerConfig | undefined, b: PeerConfig): boolean {
  return a !== undefined && a.address.host === b.address.host && a.address.port === b.address.port;
}
