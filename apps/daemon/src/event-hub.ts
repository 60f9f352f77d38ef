// Fan-out of the daemon's event stream (kernel events plus received messages) to its consumers:
// the logger, metrics, hooks and every open /v1/events connection. The daemon reads the kernel's
// iterables once and publishes here, so no consumer depends on how the kernel shares iterators.
//
// One time base: every event the daemon logs, streams or hands to a hook has `at` in epoch
// milliseconds. The kernel stamps its events with its Transport's monotonic clock (immune to
// wall-clock steps, which is what its timers need); the hub turns that into epoch ms with one
// offset measured when the daemon starts, so the spacing between events stays monotonic.
import type { KernelEvent } from '@distkit/kernel';

/** A received user message, as the control API streams it. */
export interface MessageEvent {
  readonly type: 'message';
  readonly from: string;
  readonly value: unknown;
  readonly at: number;
}

export type DaemonEvent = KernelEvent | MessageEvent;

/** Converts the kernel clock's readings to epoch ms. */
export type KernelClock = (monotonicMs: number) => number;

/**
 * The offset between the node transport's clock (performance.now(), as the kernel's Node
 * transport reads it) and the wall clock, measured once.
 */
export function kernelClock(monotonicNow: () => number = () => performance.now(), wallNow: () => number = Date.now): KernelClock {
  const offset = wallNow() - monotonicNow();
  return (monotonicMs) => Math.round(offset + monotonicMs);
}

export class EventHub {
  readonly #listeners = new Set<(event: DaemonEvent) => void>();
  readonly #observers = new Set<(event: DaemonEvent) => void>();
  readonly #clock: KernelClock;

  constructor(clock: KernelClock = kernelClock()) {
    this.#clock = clock;
  }

  /** A reading of the kernel's clock (NodeInfo.lastHeard, linkedSince) in epoch ms; null stays null. */
  toEpoch(monotonicMs: number | null): number | null {
    return monotonicMs === null ? null : this.#clock(monotonicMs);
  }

  /** A kernel event with `at` in epoch ms. */
  fromKernel<E extends KernelEvent>(event: E): E {
    return { ...event, at: this.#clock(event.at) };
  }

  publish(event: DaemonEvent): void {
    for (const listener of [...this.#observers, ...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // One broken consumer must not starve the others.
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (event: DaemonEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Like subscribe, for the daemon's own bookkeeping (link ages, recent events): served first,
   * and not counted in `size`, which stays the number of consumers such as /v1/events clients.
   */
  observe(listener: (event: DaemonEvent) => void): () => void {
    this.#observers.add(listener);
    return () => this.#observers.delete(listener);
  }

  get size(): number {
    return this.#listeners.size;
  }
}

/** JSON with byte arrays as base64 (node ids in decision facts, keys). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : typeof v === 'bigint' ? v.toString() : v));
}
