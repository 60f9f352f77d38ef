// The cluster as a full mesh, as OTP 25 keeps it: each node tells its visible peers which visible
// nodes it is linked to (a `links` system frame, sent when that set changes). From those lists:
// - connect_all: a node a peer is linked to, and we are not, is offered to the policy (`learned`),
//   which dials it if the node's mode allows;
// - prevent_overlapping_partitions: when two of our peers stay unlinked to each other (A–B and
//   B–C up, A–C not), the cluster would stay in an overlapping partition. After a grace period we
//   drop links, on purpose, until the peers we keep are all linked to each other: the cluster ends
//   as fully connected parts, and each part's partition with the others is then found and resolved
//   by the detector like any other. Every node holding both sides computes the same choice from
//   the same lists, so they drop the same nodes.

/** What the mesh needs from the node machine. */
export interface MeshHost {
  readonly name: string;
  /** Our visible peers with a link up now. */
  visiblePeers(): string[];
  /** A peer we may dial (known address), not linked to us. */
  canDial(name: string): boolean;
  sendLinks(to: string, nodes: readonly string[]): void;
  /** Offer `node` (seen linked to `via`) to the policy. */
  learned(node: string, via: string): void;
  /** Drop the link to `node` on purpose, with a reason for the log. */
  drop(node: string, detail: string): void;
  /** Move a deadline of ours (`links` or `overlap`); Infinity clears it. */
  deadline(key: 'links' | 'overlap', at: number): void;
}

export interface MeshOptions {
  /** connect_all: offer the nodes our peers are linked to. */
  readonly connectAll: boolean;
  /** prevent_overlapping_partitions. */
  readonly preventOverlap: boolean;
  /** How long two of our peers may stay unlinked before we act (mesh dials take this long at most). */
  readonly graceMs: number;
  /** Links lists are sent at most this often (a burst of link changes makes one list). */
  readonly debounceMs: number;
}

export class Mesh {
  readonly #h: MeshHost;
  readonly #o: MeshOptions;
  /** Each visible peer's last list. */
  readonly #lists = new Map<string, ReadonlySet<string>>();
  #linksDue = false;
  #overlapSince = -1;

  constructor(host: MeshHost, options: MeshOptions) {
    this.#h = host;
    this.#o = options;
  }

  /** Our own visible links changed: tell the peers (debounced), look again for overlaps. */
  ownLinksChanged(now: number): void {
    if (!this.#linksDue) {
      this.#linksDue = true;
      this.#h.deadline('links', now + this.#o.debounceMs);
    }
    this.#check(now);
  }

  /** A peer's link went away: its list goes with it. */
  forget(peer: string, now: number): void {
    this.#lists.delete(peer);
    this.ownLinksChanged(now);
  }

  /** A peer told us its links. */
  peerLinks(from: string, nodes: readonly string[], now: number): void {
    this.#lists.set(from, new Set(nodes));
    if (this.#o.connectAll) {
      for (const n of nodes) if (n !== this.#h.name && this.#h.canDial(n)) this.#h.learned(n, from);
    }
    this.#check(now);
  }

  timeout(key: 'links' | 'overlap', now: number): void {
    if (key === 'links') {
      this.#linksDue = false;
      const peers = this.#h.visiblePeers();
      for (const p of peers) this.#h.sendLinks(p, peers);
      return;
    }
    this.#overlapSince = -1;
    const drop = this.#resolve();
    for (const [node, because] of drop) this.#h.drop(node, `overlapping partition: ${node} and ${because} are both linked to us but not to each other`);
    this.#check(now);
  }

  /** Two of our peers unlinked to each other (from either one's list), when both lists are known. */
  #linked(a: string, b: string): boolean {
    return this.#lists.get(a)?.has(b) === true || this.#lists.get(b)?.has(a) === true;
  }

  #overlaps(members: readonly string[]): boolean {
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) if (!this.#linked(members[i]!, members[j]!)) return true;
    }
    return false;
  }

  /** Our peers whose lists we hold (a peer whose list has not arrived is not judged yet). */
  #members(): string[] {
    return this.#h.visiblePeers().filter((p) => this.#lists.has(p));
  }

  #check(now: number): void {
    if (!this.#o.preventOverlap) return;
    if (this.#overlaps(this.#members())) {
      if (this.#overlapSince < 0) {
        this.#overlapSince = now;
        this.#h.deadline('overlap', now + this.#o.graceMs);
      }
    } else if (this.#overlapSince >= 0) {
      this.#overlapSince = -1;
      this.#h.deadline('overlap', Number.POSITIVE_INFINITY);
    }
  }

  /**
   * Which peers to drop: repeatedly the member with the most unlinked pairs among the members
   * (ties: the greatest name), until every pair is linked. Deterministic in the lists, so every
   * node holding both sides of the overlap drops the same ones.
   */
  #resolve(): Map<string, string> {
    const members = this.#members().sort();
    const drop = new Map<string, string>();
    for (;;) {
      let worst: string | null = null;
      let worstMissing = 0;
      let partner = '';
      for (const x of members) {
        let missing = 0;
        let first = '';
        for (const y of members) {
          if (x !== y && !this.#linked(x, y)) {
            missing++;
            if (!first) first = y;
          }
        }
        if (missing > worstMissing || (missing === worstMissing && missing > 0 && worst !== null && x > worst)) {
          worst = x;
          worstMissing = missing;
          partner = first;
        }
      }
      if (worst === null || worstMissing === 0) return drop;
      drop.set(worst, partner);
      members.splice(members.indexOf(worst), 1);
    }
  }
}
