// A broadcast channel exposed as async iterables: every `subscribe()` gets every value published
// after it, in order. Works the same on Node and Deno (no EventEmitter). A subscriber that stops
// reading cannot grow memory without bound: past `limit` queued values the oldest are dropped,
// and the reader is told how many when it next reads — as a value of its own (`lost`, for event
// streams) or through `onLost` (for message streams, whose loss is reported as an event).

export interface Subscription<T> extends AsyncIterableIterator<T> {
  /** Values dropped because this subscriber fell more than `limit` behind. */
  readonly dropped: number;
}

interface Sub<T> {
  /** Values from `head` on are unread; slots before it are cleared (undefined) as they are read. */
  queue: (T | undefined)[];
  head: number;
  wake: (() => void) | undefined;
  dropped: number;
  unreported: number;
  done: boolean;
}

export class EventChannel<T> {
  readonly #subscribers = new Set<Sub<T>>();
  /** The same subscribers as an array: publish runs once per message, and walks this. */
  #list: Sub<T>[] = [];
  readonly #limit: number;
  readonly #lost: ((count: number) => T) | undefined;
  readonly #onLost: ((count: number) => void) | undefined;
  #closed = false;

  /**
   * `lost(count)`: the value a reader gets, before the next one, after `count` were dropped.
   * `onLost(count)`: called instead, when the reader next reads.
   */
  constructor(limit = 10_000, lost?: (count: number) => T, onLost?: (count: number) => void) {
    this.#limit = limit;
    this.#lost = lost;
    this.#onLost = onLost;
  }

  publish(value: T): void {
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.queue.length - s.head >= this.#limit) {
        s.queue[s.head++] = undefined;
        s.dropped++;
        s.unreported++;
      }
      s.queue.push(value);
      const wake = s.wake;
      if (wake) {
        // Once: the reader resumes after this turn and takes everything queued by then.
        s.wake = undefined;
        wake();
      }
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
    const sub: Sub<T> = { queue: [], head: 0, wake: undefined, dropped: 0, unreported: 0, done: this.#closed };
    this.#subscribers.add(sub);
    this.#list = [...this.#subscribers];
    const leave = (): void => {
      if (this.#subscribers.delete(sub)) this.#list = [...this.#subscribers];
    };
    const lost = this.#lost;
    const onLost = this.#onLost;
    const take = (): T => {
      const v = sub.queue[sub.head]!;
      // Cleared at once: a read value must not stay reachable from the queue until the next
      // compaction (up to a thousand 16 MiB messages held after the reader was done with them).
      sub.queue[sub.head++] = undefined;
      // Compact now and then rather than shifting on every read.
      if (sub.head > 1024 && sub.head * 2 > sub.queue.length) {
        sub.queue = sub.queue.slice(sub.head);
        sub.head = 0;
      }
      return v;
    };
    const iterator: Subscription<T> = {
      get dropped() {
        return sub.dropped;
      },
      async next(): Promise<IteratorResult<T>> {
        for (;;) {
          if (sub.unreported > 0) {
            const n = sub.unreported;
            sub.unreported = 0;
            if (lost) return { value: lost(n), done: false };
            onLost?.(n);
          }
          if (sub.head < sub.queue.length) return { value: take(), done: false };
          if (sub.done) {
            leave();
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (sub.wake = resolve));
          sub.wake = undefined;
        }
      },
      async return(): Promise<IteratorResult<T>> {
        sub.done = true;
        sub.queue = [];
        sub.head = 0;
        leave();
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
