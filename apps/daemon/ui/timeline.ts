// The events of this node as they arrive, newest first, filterable by kind and by node name.
// Bounded, so a page left open for days stays small.
import { el, setText } from './element.ts';
import { describeEvent, formatClock, type NameOfId } from './words.ts';

const MAX_ENTRIES = 1000;

const KINDS: ReadonlyArray<{ readonly id: string; readonly label: string; readonly types: readonly string[]; readonly on: boolean }> = [
  { id: 'links', label: 'links (nodeup, nodedown)', types: ['nodeup', 'nodedown'], on: true },
  { id: 'verdicts', label: 'verdicts', types: ['verdict', 'degraded', 'restarted'], on: true },
  { id: 'partitions', label: 'partitions and decisions', types: ['partition', 'decision'], on: true },
  { id: 'trust', label: 'refusals and keys', types: ['refused', 'key-changed'], on: true },
  { id: 'messages', label: 'messages', types: ['message', 'message-lost'], on: false },
];
const OTHER = { id: 'other', label: 'other', on: true };

function kindOf(type: string): string {
  return KINDS.find((k) => k.types.includes(type))?.id ?? OTHER.id;
}

export class Timeline {
  readonly #list: HTMLOListElement;
  readonly #count: HTMLElement;
  readonly #shown = new Map<string, boolean>();
  readonly #nodeFilter: HTMLInputElement;
  readonly #nameOf: NameOfId;

  constructor(list: HTMLOListElement, filters: HTMLElement, count: HTMLElement, nameOf: NameOfId) {
    this.#list = list;
    this.#count = count;
    this.#nameOf = nameOf;
    const boxes = [...KINDS, OTHER].map((k) => {
      this.#shown.set(k.id, k.on);
      const box = el('input', { type: 'checkbox', id: `kind-${k.id}`, checked: k.on });
      box.addEventListener('change', () => {
        this.#shown.set(k.id, box.checked);
        this.#apply();
      });
      return el('label', { for: `kind-${k.id}` }, box, ` ${k.label}`);
    });
    this.#nodeFilter = el('input', { type: 'search', id: 'node-filter', placeholder: 'node name', autocomplete: 'off' });
    this.#nodeFilter.addEventListener('input', () => this.#apply());
    filters.replaceChildren(
      el('fieldset', {}, el('legend', {}, 'Show'), ...boxes),
      el('label', { for: 'node-filter', class: 'node-filter' }, 'Node ', this.#nodeFilter),
    );
    this.#apply();
  }

  add(type: string, data: Record<string, unknown>, receivedAt: number): void {
    const node = typeof data['node'] === 'string' ? data['node'] : typeof data['from'] === 'string' ? data['from'] : '';
    const text = el('span', { class: 'what' }, describeEvent(type, data, this.#nameOf));
    const entry = el(
      'li',
      { 'data-type': type, 'data-node': node, 'data-kind': kindOf(type), class: `event type-${type}${data['decision'] === 'restart' ? ' restart' : ''}` },
      el('time', { datetime: new Date(receivedAt).toISOString() }, formatClock(receivedAt)),
      el('span', { class: 'type' }, type),
      text,
    );
    if (type === 'decision') entry.dataset['raw'] = JSON.stringify(data);
    entry.hidden = !this.#visible(entry);
    this.#list.prepend(entry);
    while (this.#list.childElementCount > MAX_ENTRIES) this.#list.lastElementChild?.remove();
    this.#updateCount();
  }

  /** Re-words decisions once node ids can be named (fingerprints arrive with the node list). */
  rename(): void {
    for (const li of this.#list.querySelectorAll<HTMLLIElement>('li.type-decision')) {
      const raw = li.dataset['raw'];
      if (raw) setText(li.querySelector('.what') as Element, describeEvent('decision', JSON.parse(raw) as Record<string, unknown>, this.#nameOf));
    }
  }

  #visible(li: HTMLLIElement): boolean {
    const filter = this.#nodeFilter.value.trim().toLowerCase();
    return (this.#shown.get(li.dataset['kind'] ?? OTHER.id) ?? true) && (filter === '' || (li.dataset['node'] ?? '').toLowerCase().includes(filter));
  }

  #apply(): void {
    for (const li of this.#list.children) (li as HTMLLIElement).hidden = !this.#visible(li as HTMLLIElement);
    this.#updateCount();
  }

  #updateCount(): void {
    let shown = 0;
    for (const li of this.#list.children) if (!(li as HTMLLIElement).hidden) shown++;
    setText(this.#count, `${shown} of ${this.#list.childElementCount} events shown`);
  }
}
