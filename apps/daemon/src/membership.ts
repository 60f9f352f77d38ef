// Run-time membership: the peers `distkitd join` adds, remembered in joined_nodes so a joined node
// stays joined across restarts, and forgotten by `force-leave`, by this node's own `leave`, and
// when a joined peer leaves on purpose.
//
// The kernel links and heartbeats; this file only keeps the list and says when to link:
// - at start the joined peers are configured peers like the config's (the kernel dials them per
//   auto_connect);
// - a joined peer that stopped on purpose (its nodedown says `deliberate: 'shutdown'`: a restart
//   by its supervisor, an upgrade) is linked again when it is back, by explicit connects with
//   backoff: it does not know this node (the joiner knows the joined, not the other way round),
//   so it cannot dial back, and under `once` the kernel would not redial it. A link lost any
//   other way is left to the kernel's policy and partition detector, as for every peer: it may be
//   a partition, which must be found and resolved, not papered over.
import type { Address, AutoConnect, DistkitNode, PeerConfig } from '@distkit/kernel';
import { DaemonError } from './errors.ts';
import type { DaemonEvent } from './event-hub.ts';
import { type JoinedNode, writeJoinedNodes } from './joined-nodes.ts';
import type { Logger } from './log.ts';

type MembershipNode = Pick<DistkitNode, 'joinNode' | 'connectNode' | 'addPeer' | 'removePeer' | 'info'>;

/** Timers, passed in (tests run them fast). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const SYSTEM_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Relinking a joined peer after its deliberate stop: 1 s, doubling, at most 30 s (Consul's retry_join interval), full jitter. */
const REJOIN_BASE_MS = 1000;
const REJOIN_CAP_MS = 30_000;

export interface MembershipOptions {
  readonly node: MembershipNode;
  /** joined_nodes in the state folder. */
  readonly path: string;
  readonly log: Logger;
  readonly joined: readonly JoinedNode[];
  /** True for a name the config file lists in `peers`: the config owns it, joined_nodes does not. */
  readonly inConfig: (name: string) => boolean;
  /** The kernel's peer for a joined entry (with the key authorized_nodes pins, the peer's reconnect...). */
  readonly peerConfig: (entry: JoinedNode) => PeerConfig;
  /** The auto-connect mode for `name`: under `never` nothing links by itself. */
  readonly modeOf: (name: string) => AutoConnect;
  /** An explicit connect the kernel has not settled by then is given up (and tried again later). */
  readonly connectTimeoutMs?: number;
  readonly timers?: Timers;
  readonly random?: () => number;
}

export interface JoinResult {
  readonly node: string;
  /** Written to joined_nodes (false: the config file's peers list it already). */
  readonly recorded: boolean;
}

export class Membership {
  readonly #o: MembershipOptions;
  readonly #timers: Timers;
  readonly #random: () => number;
  #entries: Map<string, JoinedNode>;
  #writing: Promise<void> = Promise.resolve();
  /** Joined peers being linked again after their deliberate stop: name -> attempt and timer. */
  readonly #rejoining = new Map<string, { attempt: number; timer: unknown }>();
  #closed = false;

  constructor(options: MembershipOptions) {
    this.#o = options;
    this.#timers = options.timers ?? SYSTEM_TIMERS;
    this.#random = options.random ?? Math.random;
    this.#entries = new Map(options.joined.map((e) => [e.name, e]));
  }

  /** The joined peers, in the order they joined. */
  entries(): readonly JoinedNode[] {
    return [...this.#entries.values()];
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /**
   * Links to the node at `address` under the node's policy (the kernel's `joinNode`: with `name`
   * it must answer to that name; without, it names itself and trust decides as for any link),
   * then records it (durably: the answer comes after the fsync). A join that fails leaves nothing
   * behind.
   */
  async join(
    address: Address,
    options: { readonly name?: string; readonly publicKey?: Uint8Array; readonly deadline?: <T>(call: Promise<T>, what: string) => Promise<T> },
  ): Promise<JoinResult> {
    const wasPeer = options.name !== undefined && this.#o.node.info().some((n) => n.name === options.name && n.address !== null);
    const deadline = options.deadline ?? (<T>(call: Promise<T>) => call);
    let name: string;
    try {
      const call = this.#o.node.joinNode(address, { ...(options.name !== undefined ? { name: options.name } : {}), ...(options.publicKey ? { publicKey: options.publicKey } : {}) });
      name = await deadline(call, `join ${address.host}:${address.port}`);
    } catch (err) {
      // With a name the kernel added the peer before dialling: take it out again.
      if (options.name !== undefined && !wasPeer) this.#o.node.removePeer(options.name);
      throw err;
    }
    if (this.#o.inConfig(name)) {
      this.#o.log.info({ node: name, address: `${address.host}:${address.port}` }, 'joined a peer of the config file: not recorded in joined_nodes');
      return { node: name, recorded: false };
    }
    const entry: JoinedNode = { name, address, publicKey: options.publicKey ?? this.#entries.get(name)?.publicKey ?? null };
    this.#entries.set(name, entry);
    // The kernel knows it already (joinNode); the daemon's own view of a peer adds its pins and reconnect.
    this.#o.node.addPeer(this.#o.peerConfig(entry));
    await this.#save();
    this.#o.log.info({ node: name, address: `${address.host}:${address.port}` }, 'joined; recorded in joined_nodes');
    return { node: name, recorded: true };
  }

  /**
   * Forgets a node that is gone: no more dials or heartbeats to it, out of joined_nodes. A linked
   * node is refused (NODE_LINKED): it is not gone, and would link again.
   */
  async forceLeave(name: string): Promise<{ readonly inConfig: boolean; readonly joined: boolean }> {
    const info = this.#o.node.info().find((n) => n.name === name);
    if (info === undefined && !this.#entries.has(name)) throw new DaemonError('UNKNOWN_NODE', `${name} is not a known node`);
    if (info?.connected === true) {
      throw new DaemonError('NODE_LINKED', `${name} is linked, so it is not gone: force-leave is for a node that died. Run \`distkitd leave\` on ${name}, or \`distkitd disconnect ${name}\` here`);
    }
    this.#stopRejoin(name);
    this.#o.node.removePeer(name);
    const joined = this.#entries.delete(name);
    if (joined) await this.#save();
    this.#o.log.info({ node: name, joined }, 'forced out of the membership: no more dials or heartbeats to it');
    return { inConfig: this.#o.inConfig(name), joined };
  }

  /** This node leaves: it forgets every joined peer (a later start links only the config's peers). */
  async forgetAll(): Promise<void> {
    for (const name of [...this.#rejoining.keys()]) this.#stopRejoin(name);
    if (this.#entries.size === 0) return;
    this.#entries = new Map();
    await this.#save();
  }

  /** Follows the event stream: a peer that left, a joined peer that stopped on purpose or came back. */
  observe(event: DaemonEvent): void {
    if (this.#closed) return;
    if (event.type === 'nodeup') {
      this.#stopRejoin(event.node);
      return;
    }
    if (event.type !== 'nodedown') return;
    const name = event.node;
    if (event.deliberate === 'leave') {
      this.#stopRejoin(name);
      void this.#left(name);
    } else if (event.deliberate === 'shutdown' && event.reason === 'connection_closed' && this.#entries.has(name) && this.#o.modeOf(name) !== 'never') {
      // The peer stopped on purpose (we did not: our own stop reports `shutdown` as the reason).
      this.#o.log.info({ node: name }, 'a joined peer stopped on purpose: linking it again when it is back');
      this.#scheduleRejoin(name, 0);
    }
  }

  /** Stops the timers (the daemon is stopping). */
  close(): void {
    this.#closed = true;
    for (const name of [...this.#rejoining.keys()]) this.#stopRejoin(name);
  }

  /** Resolves once every change so far is on disk. */
  flushed(): Promise<void> {
    return this.#writing;
  }

  async #left(name: string): Promise<void> {
    const joined = this.#entries.delete(name);
    // Its own peers (config file) stay: the config says so. The rest is forgotten, as Serf does
    // with a member that left.
    if (!this.#o.inConfig(name)) this.#o.node.removePeer(name);
    this.#o.log.info({ node: name, joined }, 'left the cluster on purpose: forgotten');
    if (joined) await this.#save().catch((err: unknown) => this.#o.log.error({ err: (err as Error).message }, 'cannot update joined_nodes'));
  }

  #scheduleRejoin(name: string, attempt: number): void {
    this.#stopRejoin(name);
    const bound = Math.min(REJOIN_CAP_MS, REJOIN_BASE_MS * 2 ** attempt);
    const delay = Math.round(bound / 2 + (this.#random() * bound) / 2);
    const timer = this.#timers.setTimeout(() => {
      if (this.#closed || this.#rejoining.get(name)?.timer !== timer) return;
      this.#bounded(this.#o.node.connectNode(name)).then(
        () => {
          this.#rejoining.delete(name);
          this.#o.log.info({ node: name, attempt: attempt + 1 }, 'linked a joined peer again after its restart');
        },
        () => {
          if (this.#rejoining.get(name)?.timer === timer && this.#entries.has(name)) this.#scheduleRejoin(name, attempt + 1);
        },
      );
    }, delay);
    this.#rejoining.set(name, { attempt, timer });
  }

  /** A connect the kernel never settles must not stop the retries. */
  #bounded(call: Promise<void>): Promise<void> {
    const ms = this.#o.connectTimeoutMs ?? 10_000;
    let handle: unknown;
    const late = new Promise<never>((_, reject) => {
      handle = this.#timers.setTimeout(() => reject(new Error('no answer')), ms);
    });
    return Promise.race([call, late]).finally(() => this.#timers.clearTimeout(handle));
  }

  #stopRejoin(name: string): void {
    const r = this.#rejoining.get(name);
    if (r === undefined) return;
    this.#timers.clearTimeout(r.timer);
    this.#rejoining.delete(name);
  }

  /** Writes the list as it is now, one write after the other (the last one holds every change). */
  #save(): Promise<void> {
    const next = this.#writing.catch(() => {}).then(() => writeJoinedNodes(this.#o.path, [...this.#entries.values()]));
    this.#writing = next.catch(() => {});
    return next;
  }
}
