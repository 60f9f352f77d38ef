// When each node's link last went up or down, and why it last went down, read from the kernel's
// event stream as the daemon publishes it. The kernel's node.info() says what a link is, not
// since when: this gives /v1/nodes a link's age and tells a link closed on purpose from one lost.
// The kernel's own times (lastHeard, linkedSince) are readings of its monotonic clock; /v1/nodes
// serves them in epoch ms, the one time base of everything the daemon serves.
import type { NodeInfo } from '@distkit/kernel';
import type { DaemonEvent, EventHub } from '../event-hub.ts';

export interface LinkChange {
  /** Wall-clock time (ISO 8601) of the last nodeup or nodedown this daemon saw. */
  readonly since: string;
  /** The reason of the last nodedown, or null while the link has not gone down since it was made. */
  readonly lastDownReason: string | null;
}

export class LinkChanges {
  readonly #changes = new Map<string, LinkChange>();
  readonly #unsubscribe: () => void;
  readonly #hub: EventHub;

  constructor(hub: EventHub, now: () => number = Date.now) {
    this.#hub = hub;
    this.#unsubscribe = hub.observe((event: DaemonEvent) => {
      if (event.type === 'nodeup') this.#changes.set(event.node, { since: new Date(now()).toISOString(), lastDownReason: null });
      else if (event.type === 'nodedown') this.#changes.set(event.node, { since: new Date(now()).toISOString(), lastDownReason: event.reason });
    });
  }

  /** node.info() with `since` and `lastDownReason` added (null when no change was seen), its times in epoch ms. */
  annotate(info: readonly NodeInfo[]): Array<NodeInfo & (LinkChange | { since: null; lastDownReason: null })> {
    // Forget nodes the kernel forgot (discovery churn), so the map stays as small as the peer table.
    const known = new Set(info.map((n) => n.name));
    for (const name of this.#changes.keys()) if (!known.has(name)) this.#changes.delete(name);
    return info.map((n) => ({
      ...n,
      lastHeard: this.#hub.toEpoch(n.lastHeard),
      linkedSince: this.#hub.toEpoch(n.linkedSince),
      ...(this.#changes.get(n.name) ?? { since: null, lastDownReason: null }),
    }));
  }

  close(): void {
    this.#unsubscribe();
  }
}
