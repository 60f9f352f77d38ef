// A broadcast channel exposed as async iterables: every `subscribe()` gets every value published
// after it, in order. Works the same on Node and Deno (no EventEmitter). A subscriber that stops
// reading cannot grow memory without bound: past `limit` queued values the oldest are dropped
// and counted, and the count is visible on the iterator.

export interface Subscription<T> extends AsyncIterableIterator<T> {
  /** Values dropped because this subscriber fell more than `limit` behind. */
  readonly dropped: number;
}

export class EventChannel<T> {
  readonly #subscribers = new Set<{ queue: T[]; wake: (() => void) | undefined; dropped: number; done: boolean }>();
  #closed = false;

  constructor(private readonly limit = 10_000) {}

  publish(value: T): void {
    for (const s of this.#subscribers) {
      if (s.queue.length >= this.limit) {
        s.queue.shift();
        s.dropped++;
      }
      s.queue.push(value);
      s.wake?.();
    }
  }

  /** Ends every iterator (after it has drained what was already queued). */
  close(): void {
    this.#closed = true;
    for (const s of this.#subscribers) {
      s.done = true;
      s.wake?.();
    }
  }

  subscribe(): Subscription<T> {
    const sub = { queue: [] as T[], wake: undefined as (() => void) | undefined, dropped: 0, done: this.#closed };
    this.#subscribers.add(sub);
    const subscribers = this.#subscribers;
    const iterator: Subscription<T> = {
      get dropped() {
        return sub.dropped;
      },
      async next(): Promise<IteratorResult<T>> {
        for (;;) {
          if (sub.queue.length > 0) return { value: sub.queue.shift()!, done: false };
          if (sub.done) {
            subscribers.delete(sub);
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (sub.wake = resolve));
          sub.wake = undefined;
        }
      },
      async return(): Promise<IteratorResult<T>> {
        sub.done = true;
        sub.queue.length = 0;
        subscribers.delete(sub);
        sub.wake?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
