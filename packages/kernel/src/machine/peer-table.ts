// What the kernel knows of each peer beyond what the policy and the detector hold: one record per
// name, in one place. The policy owns modes, bars and dial state; the detector owns liveness and
// views; this table owns addresses, keys, the link in use and the callers waiting on it.
import type { HeartbeatKey } from '@distkit/handshake';
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
  /**
   * Where it takes links when nobody configured that: from its hello (the address its link came
   * from, the port it listens on) or from a peer that knows it (a `here` answer).
   */
  learned: Address | null;
  /** Where its heartbeats go: configured, or learned from its hello on a link. */
  heartbeat: Address | null;
  /** The key this peer is trusted with (configured, from the trust store, or proven on a link). Set with `setKey`. */
  key: Uint8Array | null;
  /**
   * The heartbeat MAC keys of this pair, one per cluster secret (newest first): datagrams are
   * sealed with the first and opened with any, so a secret rotation never drops heartbeats.
   */
  pairwise: readonly HeartbeatKey[];
  hidden: boolean;
  /** From its hello on the current or last link (and later `tags` frames). */
  tags: Readonly<Record<string, string>>;
  incarnation: number | null;
  startedAt: number | null;
  /**
   * The highest incarnation its heartbeats were told to the policy with (-1: none). The policy
   * acts on a heartbeat only when it carries a higher one, so the others need not reach it; its
   * record of the peer lives as long as this one (it forgets a name only with this record gone).
   */
  heardIncarnation: number;
  /** The link that is up, if any. */
  link: LinkMachine | null;
  /** connectNode() tokens waiting for the link. */
  connectWaiters: number[];
  /** send() calls waiting for an auto-connect. */
  queue: PendingSend[];
}

/** Where a peer takes links: its configured address, else the one learned. */
export function linkAddress(p: Peer | undefined): Address | null {
  return p?.config?.address ?? p?.learned ?? null;
}

export class PeerTable {
  readonly #peers = new Map<string, Peer>();
  /** By sender id (the first 8 bytes of the key, as `senderKey` folds them): who a datagram says it is from. */
  readonly #bySender = new Map<number, Peer[]>();

  get(name: string): Peer | undefined {
    return this.#peers.get(name);
  }

  /** The record for `name`, created empty if there is none. */
  ensure(name: string): Peer {
    let p = this.#peers.get(name);
    if (!p) {
      p = {
        name, config: null, learned: null, heartbeat: null, key: null, pairwise: [], hidden: false, tags: NO_TAGS, incarnation: null, startedAt: null, heardIncarnation: -1, link: null,
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
    this.setKey(p, null, []);
    this.#peers.delete(name);
  }

  values(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  get size(): number {
    return this.#peers.size;
  }

  /** Where heartbeats to `p` go (configured, or from its hello); the source of what comes back decides nothing. */
  setHeartbeat(p: Peer, address: Address | null): void {
    p.heartbeat = address;
  }

  /** Sets the key `p` is trusted with, and the pair's heartbeat keys. */
  setKey(p: Peer, key: Uint8Array | null, pairwise: readonly HeartbeatKey[]): void {
    if (p.key) {
      const id = senderKey(p.key);
      const list = this.#bySender.get(id)?.filter((x) => x !== p) ?? [];
      if (list.length > 0) this.#bySender.set(id, list);
      else this.#bySender.delete(id);
    }
    p.key = key ? Uint8Array.from(key) : null;
    p.pairwise = key ? pairwise : [];
    if (key) {
      const id = senderKey(key);
      const list = this.#bySender.get(id) ?? [];
      list.push(p);
      this.#bySender.set(id, list);
    }
  }

  /** The peers whose key starts with a datagram's sender id (one, unless two keys collide). */
  bySender(id: Uint8Array): readonly Peer[] {
    const list = this.#bySender.get(senderKey(id));
    if (list === undefined) return NOBODY;
    // The map key holds 6 of the id's 8 bytes: the last two are compared here.
    for (const p of list) if (p.key![6] !== id[6] || p.key![7] !== id[7]) return list.filter((x) => x.key![6] === id[6] && x.key![7] === id[7]);
    return list;
  }
}

const NOBODY: readonly Peer[] = Object.freeze([]);
const NO_TAGS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The first 6 bytes of a sender id (or of a key, which it starts) as one exact integer: looked up
 * on every datagram, so a number rather than a string built per datagram.
 */
function senderKey(id: Uint8Array): number {
  return (id[0]! * 0x10000 + id[1]! * 0x100 + id[2]!) * 0x1000000 + (id[3]! * 0x10000 + id[4]! * 0x100 + id[5]!);
}
