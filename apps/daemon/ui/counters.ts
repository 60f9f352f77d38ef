// The node's counters from /v1/status: heartbeats, drops by reason, handshakes by outcome,
// messages in and out. Whatever else `stats` holds (figures other work adds) is shown too.
import { el, setText } from './element.ts';

const LABELS: Readonly<Record<string, string>> = {
  links: 'links up',
  heartbeatsSent: 'heartbeats sent',
  heartbeatsReceived: 'heartbeats heard',
  drops: 'heartbeats dropped, by reason',
  handshakes: 'handshakes, by outcome',
  messagesSent: 'messages out',
  messagesReceived: 'messages in',
  decisions: 'partition decisions',
};

const ORDER = Object.keys(LABELS);

export class Counters {
  readonly #root: HTMLElement;
  readonly #cells = new Map<string, HTMLElement>();
  readonly #groups = new Map<string, HTMLElement>();

  constructor(root: HTMLElement) {
    this.#root = root;
  }

  update(stats: unknown): void {
    if (typeof stats !== 'object' || stats === null) return;
    const entries = Object.entries(stats as Record<string, unknown>).sort(([a], [b]) => rank(a) - rank(b));
    for (const [key, value] of entries) {
      if (typeof value === 'number') setText(this.#cell(key, null), String(value));
      else if (typeof value === 'object' && value !== null) {
        for (const [sub, n] of Object.entries(value as Record<string, unknown>)) {
          if (typeof n === 'number' || typeof n === 'string') setText(this.#cell(key, sub), String(n));
        }
      }
    }
  }

  /** The value cell for stats[key] or stats[key][sub], made on first use. */
  #cell(key: string, sub: string | null): HTMLElement {
    const id = sub === null ? key : `${key}.${sub}`;
    let cell = this.#cells.get(id);
    if (cell) return cell;
    cell = el('dd', { 'data-counter': id });
    if (sub === null) this.#root.append(el('div', { class: 'counter' }, el('dt', {}, LABELS[key] ?? key), cell));
    else {
      let group = this.#groups.get(key);
      if (!group) {
        group = el('dl', { class: 'group' });
        this.#root.append(el('div', { class: 'counter', 'data-group': key }, el('dt', {}, LABELS[key] ?? key), el('dd', {}, group)));
        this.#groups.set(key, group);
      }
      group.append(el('div', {}, el('dt', {}, sub.replace(/_/g, ' ')), cell));
    }
    this.#cells.set(id, cell);
    return cell;
  }
}

function rank(key: string): number {
  const i = ORDER.indexOf(key);
  return i < 0 ? ORDER.length : i;
}
