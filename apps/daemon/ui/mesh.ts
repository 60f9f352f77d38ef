// The mesh as this node sees it: every visible node on a circle (this one on top), a line for
// each of this node's links coloured and labelled by its state, an arrow for who dialled whom,
// thin lines for the links between other nodes as those nodes report them, and hidden nodes
// (clients, never counted in anyone's view) set apart in a row below.
// The peer table below the picture says the same in text, for keyboards and screen readers.
import { svg } from './element.ts';
import { LINK_STATES, type LinkState, type PeerView } from './peer-view.ts';
import { formatDuration } from './words.ts';

const WIDTH = 640;
const HEIGHT = 440;
const RADIUS = 24;
const STATES = Object.keys(LINK_STATES) as LinkState[];

interface Point {
  readonly x: number;
  readonly y: number;
}

export function renderMesh(root: SVGSVGElement, self: { name: string; incarnation: number | null }, peers: readonly PeerView[], now: number): void {
  const visible = peers.filter((p) => !p.hidden);
  const hidden = peers.filter((p) => p.hidden);
  const places = new Map<string, Point>();
  const ring = [self.name, ...visible.map((p) => p.name)];
  const centre = { x: WIDTH / 2, y: hidden.length > 0 ? 175 : 205 };
  const r = Math.min(170, Math.max(135, 40 + 25 * ring.length));
  ring.forEach((name, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / ring.length;
    places.set(name, { x: centre.x + r * Math.cos(angle), y: centre.y + r * Math.sin(angle) });
  });
  hidden.forEach((p, i) => places.set(p.name, { x: (WIDTH * (i + 1)) / (hidden.length + 1), y: HEIGHT - 40 }));

  const defs = svg('defs', {}, ...STATES.map((s) => svg('marker', { id: `arrow-${s}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrowhead state-${s}` }))));
  const links = svg('g', { class: 'links' });
  const home = places.get(self.name) as Point;
  // Links between two other nodes, as either end reports it (a node this one is not linked to says nothing).
  const drawn = new Set<string>();
  for (const peer of visible) {
    for (const other of peer.linkedTo ?? []) {
      const to = places.get(other);
      const pair = [peer.name, other].sort().join('|');
      if (other === self.name || !to || drawn.has(pair)) continue;
      drawn.add(pair);
      const [a, b] = trim(places.get(peer.name) as Point, to);
      links.append(svg('g', { class: 'remote-link', 'data-pair': pair }, svg('title', {}, `${peer.name} — ${other}: linked, as ${peer.name} reports`), svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y })));
    }
  }
  for (const peer of peers) {
    const at = places.get(peer.name) as Point;
    const [a, b] = trim(home, at);
    const label = [LINK_STATES[peer.state].split(':')[0], peer.since !== null ? formatDuration(now - peer.since) : null].filter(Boolean).join(' · ');
    const arrow = peer.direction === 'outbound' ? { 'marker-end': `url(#arrow-${peer.state})` } : peer.direction === 'inbound' ? { 'marker-start': `url(#arrow-${peer.state})` } : {};
    // Labels nearer the peer than this node, so the labels of two lines leaving it do not collide.
    const mid = { x: a.x + (b.x - a.x) * 0.62, y: a.y + (b.y - a.y) * 0.62 };
    links.append(
      svg(
        'g',
        { class: `link state-${peer.state}${peer.hidden ? ' hidden-node' : ''}`, 'data-peer': peer.name, 'data-state': peer.state },
        svg('title', {}, `${self.name} — ${peer.name}: ${LINK_STATES[peer.state]}${peer.direction ? `, ${peer.direction}` : ''}${peer.suite ? `, ${peer.suite}` : ''}`),
        svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, ...arrow }),
        svg('text', { x: mid.x, y: mid.y - 6, class: 'link-label' }, label),
        peer.suite ? svg('text', { x: mid.x, y: mid.y + 10, class: 'link-suite' }, peer.suite) : null,
      ),
    );
  }
  const nodes = svg('g', { class: 'nodes' });
  // Names outside the ring, where no line runs.
  const above = (p: Point): boolean => p.y < centre.y - 1;
  nodes.append(node(home, self.name, self.incarnation, 'self', above(home)));
  for (const peer of peers) {
    const at = places.get(peer.name) as Point;
    nodes.append(node(at, peer.name, peer.incarnation, `state-${peer.state}${peer.hidden ? ' hidden-node' : ''}`, !peer.hidden && above(at)));
  }
  const parts: SVGElement[] = [defs, links, nodes];
  if (hidden.length > 0) {
    parts.unshift(svg('rect', { x: 8, y: HEIGHT - 92, width: WIDTH - 16, height: 84, rx: 8, class: 'hidden-area' }), svg('text', { x: 18, y: HEIGHT - 74, class: 'area-label' }, 'hidden nodes (not counted in views)'));
  }
  root.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  root.setAttribute('aria-label', `${self.name}: ${peers.length === 0 ? 'no known nodes' : peers.map((p) => `${p.name} ${p.state}`).join(', ')}`);
  root.replaceChildren(...parts);
}

function node(at: Point, name: string, incarnation: number | null, kind: string, labelAbove: boolean): SVGGElement {
  return svg(
    'g',
    { class: `node ${kind}`, 'data-node': name },
    svg('circle', { cx: at.x, cy: at.y, r: RADIUS }),
    svg('text', { x: at.x, y: labelAbove ? at.y - RADIUS - 8 : at.y + RADIUS + 16, class: 'node-name' }, name),
    incarnation !== null ? svg('text', { x: at.x, y: at.y + 4, class: 'node-inc' }, `#${incarnation}`) : null,
  );
}

/** The segment between two circles' edges, so arrowheads are not hidden under the nodes. */
function trim(a: Point, b: Point): [Point, Point] {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  const k = (RADIUS + 3) / len;
  return [
    { x: a.x + dx * k, y: a.y + dy * k },
    { x: b.x - dx * k, y: b.y - dy * k },
  ];
}
