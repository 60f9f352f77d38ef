// The node machine's timers as data: one deadline per key (a link, a query), kept in a binary heap
// with lazy deletion, so finding the next one is O(1) and moving one is O(log n) whatever the
// number of links. The shell arms a single real timer at `next()`.

export class Deadlines<K> {
  readonly #at = new Map<K, number>();
  readonly #times: number[] = [];
  readonly #keys: K[] = [];
  /** `next()` as of the last change (NaN: changed since): asked after every input, changed far less often. */
  #next = Number.NaN;

  /** Sets (or moves) the deadline of `key`; Infinity clears it. */
  set(key: K, at: number): void {
    if (at === Number.POSITIVE_INFINITY) {
      if (this.#at.delete(key)) this.#next = Number.NaN;
      return;
    }
    if (this.#at.get(key) === at) return;
    this.#next = Number.NaN;
    this.#at.set(key, at);
    this.#push(at, key);
    // Moved deadlines leave stale entries behind; rebuild before they outnumber the live ones.
    if (this.#times.length > 4 * this.#at.size + 64) this.#rebuild();
  }

  #rebuild(): void {
    this.#times.length = 0;
    this.#keys.length = 0;
    for (const [key, at] of this.#at) this.#push(at, key);
  }

  delete(key: K): void {
    if (this.#at.delete(key)) this.#next = Number.NaN;
  }

  /** The earliest deadline, or Infinity. */
  next(): number {
    if (!Number.isNaN(this.#next)) return this.#next;
    this.#prune();
    this.#next = this.#times.length === 0 ? Number.POSITIVE_INFINITY : this.#times[0]!;
    return this.#next;
  }

  /** Removes and returns every key due at `now`, earliest first. */
  due(now: number): K[] {
    const out: K[] = [];
    if (this.#next > now) return out;
    this.#next = Number.NaN;
    for (;;) {
      this.#prune();
      if (this.#times.length === 0 || this.#times[0]! > now) return out;
      const key = this.#keys[0]!;
      this.#pop();
      this.#at.delete(key);
      out.push(key);
    }
  }

  get size(): number {
    return this.#at.size;
  }

  /** Drops heap entries whose key has moved or been cleared since they were pushed. */
  #prune(): void {
    while (this.#times.length > 0 && this.#at.get(this.#keys[0]!) !== this.#times[0]) this.#pop();
  }

  #push(at: number, key: K): void {
    const t = this.#times;
    const k = this.#keys;
    let i = t.length;
    t.push(at);
    k.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (t[parent]! <= at) break;
      t[i] = t[parent]!;
      k[i] = k[parent]!;
      i = parent;
    }
    t[i] = at;
    k[i] = key;
  }

  #pop(): void {
    const t = this.#times;
    const k = this.#keys;
    const lastT = t.pop()!;
    const lastK = k.pop()!;
    if (t.length === 0) return;
    let i = 0;
    const n = t.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && t[r]! < t[l]! ? r : l;
      if (t[c]! >= lastT) break;
      t[i] = t[c]!;
      k[i] = k[c]!;
      i = c;
    }
    t[i] = lastT;
    k[i] = lastK;
  }
}
