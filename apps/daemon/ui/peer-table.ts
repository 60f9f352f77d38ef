// One row per peer, kept across refreshes (cells change their text, rows and buttons stay), so a
// keyboard user's focus is not lost every second. Visible and hidden nodes have a table each.
import { el, setText } from './element.ts';
import { LINK_STATES, type PeerView } from './peer-view.ts';
import { formatDuration } from './words.ts';

const DASH = '—';

interface Column {
  readonly label: string;
  readonly value: (p: PeerView, now: number) => string;
  /** The whole value, when `value` shortens it. */
  readonly full?: (p: PeerView) => string;
}

const COLUMNS: readonly Column[] = [
  { label: 'Link', value: (p) => LINK_STATES[p.state] },
  { label: 'Direction', value: (p) => p.direction ?? DASH },
  { label: 'Suite', value: (p) => p.suite ?? DASH },
  { label: 'Age', value: (p, now) => (p.since !== null ? formatDuration(now - p.since) : DASH) },
  { label: 'Verdict', value: (p) => p.verdict },
  { label: 'Incarnation', value: (p) => (p.incarnation !== null ? String(p.incarnation) : DASH) },
  { label: 'Last heartbeat', value: (p, now) => (p.lastHeard !== null ? `${formatDuration(now - p.lastHeard)} ago` : DASH) },
  { label: 'φ', value: (p) => (p.phi !== null ? p.phi.toFixed(1) : DASH) },
  { label: 'Loss', value: (p) => (p.loss !== null ? `${(p.loss <= 1 ? p.loss * 100 : p.loss).toFixed(1)} %` : DASH) },
  { label: 'Fingerprint', value: (p) => (p.fingerprint ? `${p.fingerprint.slice(0, 19)}…` : DASH), full: (p) => p.fingerprint ?? '' },
  { label: 'Tags', value: (p) => p.tags ?? DASH },
  { label: 'Its links', value: (p) => (p.linkedTo === undefined || p.linkedTo === null ? DASH : p.linkedTo.length > 0 ? p.linkedTo.join(', ') : 'none') },
  { label: 'Address', value: (p) => p.address ?? DASH },
  { label: 'More', value: (p) => (p.extra.length > 0 ? p.extra.map(([k, v]) => `${k}: ${v}`).join('; ') : DASH) },
];

export type PeerAction = (action: 'connect' | 'disconnect' | 'force-leave', node: string) => void;

interface Row {
  readonly tr: HTMLTableRowElement;
  readonly cells: HTMLTableCellElement[];
  readonly button: HTMLButtonElement;
  /** Force-leave, for a node that is gone (shown while it is not linked). */
  readonly forget: HTMLButtonElement;
}

export class PeerTable {
  readonly #body: HTMLTableSectionElement;
  readonly #empty: HTMLTableRowElement;
  readonly #rows = new Map<string, Row>();
  readonly #act: PeerAction;

  constructor(table: HTMLTableElement, act: PeerAction) {
    this.#act = act;
    table.replaceChildren(
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Node'), el('th', { scope: 'col' }, 'Action'), ...COLUMNS.map((c) => el('th', { scope: 'col' }, c.label)))),
      (this.#body = el('tbody')),
    );
    this.#empty = el('tr', {}, el('td', { colspan: String(COLUMNS.length + 2) }, 'none'));
    this.#body.append(this.#empty);
  }

  update(peers: readonly PeerView[], now: number): void {
    const seen = new Set(peers.map((p) => p.name));
    for (const [name, row] of this.#rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        this.#rows.delete(name);
      }
    }
    this.#empty.hidden = peers.length > 0;
    peers.forEach((peer, i) => {
      let row = this.#rows.get(peer.name);
      if (!row) {
        const button = el('button', { type: 'button' });
        button.addEventListener('click', () => this.#act(button.dataset['action'] === 'disconnect' ? 'disconnect' : 'connect', peer.name));
        const forget = el('button', { type: 'button', class: 'forget', 'aria-label': `Forget ${peer.name} (force-leave)` }, 'Forget…');
        forget.addEventListener('click', () => this.#act('force-leave', peer.name));
        row = { tr: el('tr', { 'data-node': peer.name }), cells: COLUMNS.map(() => el('td')), button, forget };
        row.tr.append(el('th', { scope: 'row' }, peer.name), el('td', { class: 'action' }, button, ' ', forget), ...row.cells);
        this.#rows.set(peer.name, row);
      }
      // Rows in the given order, moved only when out of place (a moved row would lose focus).
      const want = this.#body.children[i + 1] ?? null;
      if (want !== row.tr) this.#body.insertBefore(row.tr, want);
      row.tr.dataset['state'] = peer.state;
      row.tr.className = `state-${peer.state}`;
      COLUMNS.forEach((c, i) => {
        const cell = row.cells[i] as HTMLTableCellElement;
        setText(cell, c.value(peer, now));
        if (c.full && cell.title !== c.full(peer)) cell.title = c.full(peer);
      });
      const action = peer.connected ? 'disconnect' : 'connect';
      row.button.dataset['action'] = action;
      setText(row.button, peer.connected ? 'Disconnect…' : 'Connect…');
      row.button.setAttribute('aria-label', `${peer.connected ? 'Disconnect from' : 'Connect to'} ${peer.name}`);
      row.forget.hidden = peer.connected;
    });
  }
}
