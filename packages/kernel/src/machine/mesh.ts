// The cluster as a full mesh, as OTP 25 keeps it. Each node tells its visible peers, in a `links`
// system frame sent when either changes, which visible nodes it is linked to and which it is
// *apart* from: nodes its policy will not link to (`never`, barred, denied, full) and nodes whose
// link it lost (not dropped on purpose) and has not got back. From those lists:
// - connect_all: a node a peer is linked to, and we are not, is offered to the policy (`learned`),
//   which dials it if the node's mode allows; offers are repeated while it stays unlinked (a dial
//   may fail in a storm of them, at start or after a heal). A node we have no address for (it
//   joined the peer by address) is asked about first: the peer answers where it takes links;
// - prevent_overlapping_partitions: when two of our peers are unlinked and apart (A–B and B–C up,
//   A–C lost or refused), the cluster is in an overlapping partition. After a grace period we drop
//   links, on purpose, until no such pair is left among the peers we keep: the cluster ends as
//   fully connected parts, and each part's partition with the others is then found and resolved by
//   the detector like any other. Every node holding both sides computes the same choice from the
//   same lists, so they drop the same nodes.
//   A pair that is merely not linked *yet* (a mesh still forming) is not an overlap: OTP acts on a
//   lost connection, not on one never made, and a forming mesh of hundreds of nodes has many such
//   pairs for seconds.

/** What the mesh needs from the node machine. */
export interface MeshHost {
  readonly name: string;
  /** Our visible peers with a link up now. */
  visiblePeers(): string[];
  /**
   * What we can do about a node a peer lists: `dial` (an address is known and it is not linked to
   * us), `locate` (no address known: ask the peer that listed it), `skip` (linked, hidden, us).
   */
  reach(name: string): 'dial' | 'locate' | 'skip';
  /** Ask `via` where `nodes` take links (the host answers each name at most so often). */
  locate(nodes: readonly string[], via: string): void;
  sendLinks(to: string, nodes: readonly string[], apart: readonly string[]): void;
  /** Offer `node` (seen linked to `via`) to the policy; true when the policy refuses to link it. */
  learned(node: string, via: string): boolean;
  /** Drop the link to `node` on purpose, with a reason for the log. */
  drop(node: string, detail: string): void;
  /** Move a deadline of ours; Infinity clears it. */
  deadline(key: MeshDeadline, at: number): void;
}

export type MeshDeadline = 'links' | 'overlap' | 'mesh';

export interface MeshOptions {
  /** OTP's connect_all (the policy's `mesh`). */
  readonly connectAll: boolean;
  /** prevent_overlapping_partitions. */
  readonly preventOverlap: boolean;
  /** How long an overlap may last before we act. */
  readonly graceMs: number;
  /** Links lists are sent at most this often (a burst of link changes makes one list). */
  readonly debounceMs: number;
  /** While some node our peers list stays unlinked to us, it is offered again this often. */
  readonly retryMs: number;
}

/**
 * A peer's list. `nodes` is sorted and holds our own copy of each name: a full mesh of N nodes
 * keeps N - 1 lists of about N names in every node (N³ in all: 8 million at N = 200), so a Set
 * and a fresh string per name from each decoded frame were most of the memory such a cluster
 * held (a sorted array of shared names is 8 bytes a name, found by binary search).
 */
interface PeerList {
  readonly nodes: readonly string[];
  readonly apart: ReadonlySet<string>;
}

/** Names the copy cache holds at most (a few times the largest mesh in sight). */
const MAX_NAMES = 16_384;

function sortedHas(sorted: readonly string[], name: string): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = sorted[mid]!;
    if (x === name) return true;
    if (x < name) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export class Mesh {
  readonly #h: MeshHost;
  readonly #o: MeshOptions;
  /** Each visible peer's last list. */
  readonly #lists = new Map<string, PeerList>();
  /** Nodes our policy will not link to. */
  readonly #refused = new Set<string>();
  /** Nodes whose link we lost (not on purpose) and have not got back. */
  readonly #lost = new Set<string>();
  /** One copy of every name the lists hold. */
  readonly #names = new Map<string, string>();
  #linksDue = false;
  #overlapSince = -1;
  #retryDue = false;

  constructor(host: MeshHost, options: MeshOptions) {
    this.#h = host;
    this.#o = options;
  }

  /** Our own visible links changed: tell the peers (debounced), look again for overlaps. */
  ownLinksChanged(now: number): void {
    for (const p of this.#h.visiblePeers()) {
      this.#refused.delete(p);
      this.#lost.delete(p);
    }
    this.#tell(now);
    this.#check(now);
  }

  #tell(now: number): void {
    if (this.#linksDue) return;
    this.#linksDue = true;
    this.#h.deadline('links', now + this.#o.debounceMs);
  }

  /** A peer's link went away (`lost`: not closed on purpose by either side): its list goes with it. */
  forget(peer: string, lost: boolean, now: number): void {
    this.#lists.delete(peer);
    if (this.#lists.size === 0) this.#names.clear();
    if (lost) this.#lost.add(peer);
    this.ownLinksChanged(now);
  }

  /** A peer told us its links and what it is apart from. */
  peerLinks(from: string, nodes: readonly string[], apart: readonly string[], now: number): void {
    const names = this.#names;
    // Only a cache: a peer naming ever new nodes must not grow it without end.
    if (names.size > MAX_NAMES) names.clear();
    const own = (n: string): string => {
      const known = names.get(n);
      if (known !== undefined) return known;
      names.set(n, n);
      return n;
    };
    const sorted = nodes.map(own).sort();
    const unique = sorted.filter((n, i) => i === 0 || n !== sorted[i - 1]);
    const list = { nodes: unique, apart: new Set(apart) };
    this.#lists.set(from, list);
    this.#offer([[from, list]], now);
    this.#check(now);
  }

  /** Offers the nodes these lists name and we are not linked to; arms a retry while any is left. */
  #offer(lists: Iterable<[string, PeerList]>, now: number): void {
    if (!this.#o.connectAll) return;
    let missing = false;
    let changed = false;
    for (const [via, list] of lists) {
      const unknown: string[] = [];
      for (const n of list.nodes) {
        if (n === this.#h.name) continue;
        const reach = this.#h.reach(n);
        if (reach === 'skip') continue;
        missing = true;
        if (reach === 'locate') {
          unknown.push(n);
          continue;
        }
        const refuses = this.#h.learned(n, via);
        if (refuses !== this.#refused.has(n)) {
          changed = true;
          if (refuses) this.#refused.add(n);
          else this.#refused.delete(n);
        }
      }
      if (unknown.length > 0) this.#h.locate(unknown, via);
    }
    if (changed) this.#tell(now);
    if (missing && !this.#retryDue) {
      this.#retryDue = true;
      this.#h.deadline('mesh', now + this.#o.retryMs);
    }
  }

  /** Addresses arrived for nodes we asked about: offer them now. */
  located(now: number): void {
    this.#offer(this.#lists, now);
  }

  timeout(key: MeshDeadline, now: number): void {
    if (key === 'links') {
      this.#linksDue = false;
      const peers = this.#h.visiblePeers();
      const apart = [...new Set([...this.#refused, ...this.#lost])].sort();
      for (const p of peers) this.#h.sendLinks(p, peers, apart);
      return;
    }
    if (key === 'mesh') {
      this.#retryDue = false;
      this.#offer(this.#lists, now);
      return;
    }
    this.#overlapSince = -1;
    for (const [node, because] of this.#resolve()) {
      this.#h.drop(node, `overlapping partition: ${node} and ${because} are both linked to us but apart from each other`);
    }
    this.#check(now);
  }

  #linked(a: string, b: string): boolean {
    const la = this.#lists.get(a);
    const lb = this.#lists.get(b);
    return (la !== undefined && sortedHas(la.nodes, b)) || (lb !== undefined && sortedHas(lb.nodes, a));
  }

  /**
   * The pairs of `members` that are apart: unlinked, and one of them says so. Read from the apart
   * sets (short), not from every pair: the check runs on every list received.
   */
  #apartPairs(members: readonly string[]): Array<[string, string]> {
    const inside = new Set(members);
    const seen = new Set<string>();
    const out: Array<[string, string]> = [];
    for (const a of members) {
      for (const b of this.#lists.get(a)?.apart ?? []) {
        if (!inside.has(b) || b === a || this.#linked(a, b)) continue;
        const key = a < b ? `${a}\0${b}` : `${b}\0${a}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(a < b ? [a, b] : [b, a]);
      }
    }
    return out;
  }

  /** Our peers whose lists we hold (a peer whose list has not arrived is not judged yet). */
  #members(): string[] {
    return this.#h.visiblePeers().filter((p) => this.#lists.has(p));
  }

  #check(now: number): void {
    if (!this.#o.preventOverlap) return;
    if (this.#apartPairs(this.#members()).length > 0) {
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
   * Which peers to drop: repeatedly the member in the most pairs that are apart (ties: the
   * greatest name), until none is left. Deterministic in the lists, so every node holding both
   * sides of the overlap drops the same ones.
   */
  #resolve(): Map<string, string> {
    let pairs = this.#apartPairs(this.#members());
    const drop = new Map<string, string>();
    while (pairs.length > 0) {
      const count = new Map<string, number>();
      const partner = new Map<string, string>();
      for (const [a, b] of pairs) {
        for (const [x, y] of [[a, b], [b, a]] as const) {
          count.set(x, (count.get(x) ?? 0) + 1);
          const p = partner.get(x);
          if (p === undefined || y < p) partner.set(x, y);
        }
      }
      let worst = '';
      let worstCount = 0;
      for (const [x, c] of count) if (c > worstCount || (c === worstCount && x > worst)) [worst, worstCount] = [x, c];
      drop.set(worst, partner.get(worst)!);
      pairs = pairs.filter(([a, b]) => a !== worst && b !== worst);
    }
    return drop;
  }
}
