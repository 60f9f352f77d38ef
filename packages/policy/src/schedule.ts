/**
 * A binary min-heap of (time, item): the engine's planned redials. Entries are never removed
 * early; the engine checks on pop that an entry is still current (lazy deletion), which keeps
 * cancelling O(1).
 */
export class Schedule<T> {
  private readonly times: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.times.length;
  }

  push(at: number, item: T): void {
    const times = this.times;
    const items = this.items;
    let i = times.length;
    times.push(at);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (pt <= at) break;
      times[i] = pt;
      items[i] = items[parent]!;
      i = parent;
    }
    times[i] = at;
    items[i] = item;
  }

  /** The earliest time, or Infinity when empty. */
  peekTime(): number {
    return this.times.length ? this.times[0]! : Infinity;
  }

  peekItem(): T | undefined {
    return this.items[0];
  }

  /** Removes the earliest entry. */
  pop(): void {
    const times = this.times;
    const items = this.items;
    const lastT = times.pop()!;
    const lastI = items.pop()!;
    const n = times.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && times[r]! < times[l]! ? r : l;
      if (times[c]! >= lastT) break;
      times[i] = times[c]!;
      items[i] = items[c]!;
      i = c;
    }
    times[i] = lastT;
    items[i] = lastI;
  }
}
