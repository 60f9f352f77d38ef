// The daemon's recent events, so a page opened in the middle of an incident shows what led to it:
// the last few hundred kernel events with the wall-clock time the daemon saw each, replayed at
// the start of /v1/events?replay=true. User messages are not kept (their values are the
// application's data, and a busy node would flush everything else out).
import { type DaemonEvent, type EventHub, toJson } from '../event-hub.ts';

export interface SeenEvent {
  readonly event: DaemonEvent;
  /** Epoch ms when the daemon published it (kernel events carry monotonic `at` times). */
  readonly seenAt: number;
}

const DEFAULT_SIZE = 256;

export class EventHistory {
  readonly #entries: SeenEvent[] = [];
  readonly #size: number;
  readonly #unsubscribe: () => void;

  constructor(hub: EventHub, options: { now?: () => number; size?: number } = {}) {
    const now = options.now ?? Date.now;
    this.#size = options.size ?? DEFAULT_SIZE;
    this.#unsubscribe = hub.observe((event) => {
      if (event.type === 'message') return;
      this.#entries.push({ event, seenAt: now() });
      if (this.#entries.length > this.#size) this.#entries.shift();
    });
  }

  /** Oldest first. */
  entries(): readonly SeenEvent[] {
    return [...this.#entries];
  }

  /**
   * Writes the kept events (of `types`, or all) as server-sent events with ids 1, 2, …, each with
   * `seenAt`, then a `: replayed` comment. Returns the last id written.
   */
  replay(types: readonly string[] | null, write: (chunk: string) => void): number {
    let id = 0;
    for (const { event, seenAt } of this.#entries) {
      if (types === null || types.includes(event.type)) write(`id: ${++id}\nevent: ${event.type}\ndata: ${toJson({ ...event, seenAt })}\n\n`);
    }
    write(': replayed\n\n');
    return id;
  }

  close(): void {
    this.#unsubscribe();
  }
}
