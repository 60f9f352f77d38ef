// Kernel-to-kernel requests over a link (system frames): "which nodes are you connected to?" and
// the forwarding of partitions and decisions to hidden nodes, which run no detector of their own.
import type { NodeAddress, SystemMessage } from '@distkit/wire';
import type { KernelEvent } from '../api.ts';
import { KernelError } from '../errors.ts';
import type { Deadlines } from './deadlines.ts';
import type { LinkMachine } from './link-machine.ts';

export interface SystemHost {
  readonly hidden: boolean;
  readonly name: string;
  /** Visible nodes this node is linked to. */
  visibleNodes(): string[];
  publish(event: KernelEvent): void;
  settle(token: number, error: KernelError | null, value?: unknown): void;
  /** A peer's list of the visible nodes it is linked to (the mesh's business). */
  links(from: string, nodes: readonly string[], apart: readonly string[], now: number): void;
  /** A peer's tags changed. */
  tags(from: string, tags: Readonly<Record<string, string>>): void;
  /** A peer asks where nodes take links. */
  where(from: string, nodes: readonly string[]): void;
  /** A peer's answer to our `where?`. */
  here(from: string, addresses: readonly NodeAddress[], now: number): void;
}

export type DeadlineKey = number | string;

export class SystemRequests {
  readonly #host: SystemHost;
  readonly #deadlines: Deadlines<DeadlineKey>;
  readonly #timeoutMs: number;
  /** Questions asked, by id: the API token waiting and the peer asked. */
  readonly #pending = new Map<number, { token: number; peer: string }>();
  #ids = 0;

  constructor(host: SystemHost, deadlines: Deadlines<DeadlineKey>, timeoutMs: number) {
    this.#host = host;
    this.#deadlines = deadlines;
    this.#timeoutMs = timeoutMs;
  }

  /** Asks `link`'s peer for its nodes; `token` is settled with the list or a timeout. */
  askNodes(link: LinkMachine, peer: string, token: number, now: number): void {
    const id = ++this.#ids;
    this.#pending.set(id, { token, peer });
    this.#deadlines.set(`q${id}`, now + this.#timeoutMs);
    link.send({ kind: 'system', counter: 0, message: { op: 'nodes?', id } });
  }

  /** A query deadline passed (key `q<id>`). */
  timeout(key: string): void {
    const id = Number(key.slice(1));
    const q = this.#pending.get(id);
    if (!q) return;
    this.#pending.delete(id);
    this.#host.settle(q.token, new KernelError('SEND_FAILED', `${q.peer} did not answer within ${this.#timeoutMs} ms`));
  }

  /** Every question to `peer` fails: its link is gone. */
  linkGone(peer: string): void {
    for (const [id, q] of this.#pending) {
      if (q.peer !== peer) continue;
      this.#pending.delete(id);
      this.#deadlines.delete(`q${id}`);
      this.#host.settle(q.token, new KernelError('NOT_CONNECTED', `link to ${peer} went down before it answered`));
    }
  }

  /** Fails every question (the node stops). */
  failAll(error: KernelError): void {
    for (const [id, q] of this.#pending) {
      this.#deadlines.delete(`q${id}`);
      this.#host.settle(q.token, error);
    }
    this.#pending.clear();
  }

  handle(link: LinkMachine, from: string, m: SystemMessage, now: number): void {
    switch (m.op) {
      case 'nodes?': {
        // A hidden node is nobody's window on the cluster.
        const nodes = this.#host.hidden ? [] : [this.#host.name, ...this.#host.visibleNodes()].sort();
        try {
          link.send({ kind: 'system', counter: 0, message: { op: 'nodes', id: m.id, nodes } });
        } catch {
          // link closing: the asker times out
        }
        return;
      }
      case 'nodes': {
        const q = this.#pending.get(m.id);
        if (!q || q.peer !== from) return;
        this.#pending.delete(m.id);
        this.#deadlines.delete(`q${m.id}`);
        this.#host.settle(q.token, null, [...m.nodes]);
        return;
      }
      case 'links':
        this.#host.links(from, m.nodes, m.apart, now);
        return;
      case 'tags':
        this.#host.tags(from, m.tags);
        return;
      case 'where?':
        this.#host.where(from, m.nodes);
        return;
      case 'here':
        this.#host.here(from, m.addresses, now);
        return;
      case 'event': {
        // Only a hidden node takes its peer's verdicts as its own news.
        if (!this.#host.hidden) return;
        const e = m.event;
        if (e.type === 'partition') this.#host.publish({ type: 'partition', node: e.node, incarnation: e.incarnation, at: now, via: from });
        else this.#host.publish({ type: 'decision', node: e.node, strategy: e.strategy, decision: e.decision, mine: e.mine, theirs: e.theirs, at: now, via: from });
        return;
      }
    }
  }
}
