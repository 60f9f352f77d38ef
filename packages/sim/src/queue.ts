// The simulator's event queue: virtual time, events run in time order and, at equal times, in the
// order they were scheduled (FIFO), so a run depends on nothing but its inputs and its seed.
// Events at one time share a bucket; a binary heap orders the distinct times. Thousands of
// datagrams landing on the same millisecond cost one heap operation between them.

export class EventQueue {
  /** Current virtual time, ms. */
  now = 0;
  private readonly heap: number[] = [];
  /** Per time: alternating function and argument (no closure per event on hot paths). */
  private readonly buckets = new Map<number, unknown[]>();
  private pending = 0;
  /** Events run so far. */
  processed = 0;

  /** Runs `fn(arg)` at `at` (not before now). */
  schedule<T>(at: number, fn: (arg: T) => void, arg?: T): void {
    const t = at > this.now ? at : this.now;
    let bucket = this.buckets.get(t);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(t, bucket);
      this.push(t);
    }
    bucket.push(fn, arg);
    this.pending++;
  }

  /** Events not run yet. */
  get size(): number {
    return this.pending;
  }

  /** Time of the next event, or Infinity. */
  peek(): number {
    return this.heap.length === 0 ? Number.POSITIVE_INFINITY : this.heap[0]!;
  }

  /**
   * Runs every event of the earliest time (including events scheduled for that same time while
   * they run) if it is <= `until`. Returns false when there was none.
   */
  runNext(until: number): boolean {
    if (this.heap.length === 0 || this.heap[0]! > until) return false;
    const t = this.pop();
    const bucket = this.buckets.get(t)!;
    this.now = t;
    for (let i = 0; i < bucket.length; i += 2) {
      this.pending--;
      this.processed++;
      (bucket[i] as (arg: unknown) => void)(bucket[i + 1]);
    }
    this.buckets.delete(t);
    return true;
  }

  private push(t: number): void {
    const h = this.heap;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]! <= t) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = t;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && h[r]! < h[l]! ? r : l;
        if (h[c]! >= last) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
