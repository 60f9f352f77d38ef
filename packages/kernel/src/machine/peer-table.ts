// What the kernel knows of each peer beyond what the policy and the detector hold: one record per
// name, in one place. The policy owns modes, bars and dial state; the detector owns liveness and
// views; this table owns addresses, keys, the link in use and the callers waiting on it.
import type { Address } from '@distkit/wire';
import type { PeerConfig } from '../api.ts';
import type { LinkMachine } from './link-machine.ts';

/** A `send` waiting for a link (auto-connect). */
export interface PendingSend {
  readonly value: unknown;
  readonly token: number;
  /** The named user channel it goes on. */
  readonly channel?: string;
}

export interface Peer {
  readonly name: string;
  /** From `peers` or `addPeer`: where it listens, where it takes heartbeats, a pinned key, a mode. */
  config: PeerConfig | null;
  /** Where its heartbeats go: configured, or learned from its hello on a link. */
  heartbeat: Address | null;
  /** The key this peer is trusted with (configured, from the trust store, or proven on a link). */
  key: Uint8Array | null;
  /** The heartbeat MAC key of this pair (from `key`), or null. */
  pairwise: Uint8Array | null;
  hidden: boolean;
  /** From its hello on the current or last link. */
  incarnation: number | null;
  startedAt: number | null;
  /** The link that is up, if any. */
  link: LinkMachine | null;
  /** connectNode() tokens waiting for the link. */
  connectWaiters: number[];
  /** send() calls waiting for an auto-connect. */
  queue: PendingSend[];
}

export class PeerTable {
  readonly #peers = new Map<string, Peer>();
  readonly #byHeartbeatAddress = new Map<string, Peer>();

  get(name: string): Peer | undefined {
    return this.#peers.get(name);
  }

  /** The record for `name`, created empty if there is none. */
  ensure(name: string): Peer {
    let p = this.#peers.get(name);
    if (!p) {
      p = {
        name, config: null, heartbeat: null, key: null, pairwise: null, hidden: false, incarnation: null, startedAt: null, link: null,
        connectWaiters: [], queue: [],
      };
      this.#peers.set(name, p);
    }
    return p;
  }

  /** Forgets `name` entirely (a peer nobody configured and nothing links to any more). */
  delete(name: string): void {
    const p = this.#peers.get(name);
    if (!p) return;
    this.setHeartbeat(p, null);
    this.#peers.delete(name);
  }

  values(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  get size(): number {
    return this.#peers.size;
  }

  setHeartbeat(p: Peer, address: Address | null): void {
    if (p.heartbeat) {
      const k = addressKey(p.heartbeat);
      if (this.#byHeartbeatAddress.get(k) === p) this.#byHeartbeatAddress.delete(k);
    }
    p.heartbeat = address;
    if (address) this.#byHeartbeatAddress.set(addressKey(address), p);
  }

  /** The peer whose heartbeats come from `from` (until senders name themselves in the clear). */
  byHeartbeatAddress(from: Address): Peer | undefined {
    return this.#byHeartbeatAddress.get(addressKey(from));
  }
}

function addressKey(a: Address): string {
  return `${a.host}|${a.port}`;
}
