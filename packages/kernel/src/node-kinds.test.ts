import { describe, expect, it } from 'vitest';
import { nodeKinds, type HasNodes } from './node-kinds.test-support.ts';

// The adapter the differential test reads nodes() through must give OTP's three lists from
// either kernel API, for every mix of visible and hidden links.
type Links = { visible: string[]; hidden: string[] };

/** Today's kernel: nodes() visible, nodes({ hidden: true }) all, a string argument ignored. */
function today(l: Links): HasNodes {
  return { nodes: ((o?: { hidden?: boolean }) => (o?.hidden ? [...l.visible, ...l.hidden] : [...l.visible])) as HasNodes['nodes'] };
}

/** The target kernel: OTP's arguments; `throws` for one that refuses the old object form. */
function target(l: Links, throws: boolean): HasNodes {
  return {
    nodes: ((kind?: unknown) => {
      if (kind === undefined || kind === 'visible') return [...l.visible];
      if (kind === 'hidden') return [...l.hidden];
      if (kind === 'connected') return [...l.visible, ...l.hidden];
      if (throws) throw new TypeError('nodes(kind): kind must be visible, hidden or connected');
      return [...l.visible, ...l.hidden];
    }) as HasNodes['nodes'],
  };
}

const cases: Links[] = [
  { visible: [], hidden: [] },
  { visible: ['b'], hidden: [] },
  { visible: [], hidden: ['h'] },
  { visible: ['b', 'c'], hidden: ['h'] },
];

describe('nodes() by kind on both kernel APIs', () => {
  for (const l of cases) {
    const expected = { visible: [...l.visible].sort(), hidden: [...l.hidden].sort(), connected: [...l.visible, ...l.hidden].sort() };
    it(`visible [${l.visible}] hidden [${l.hidden}]`, () => {
      expect(nodeKinds(today(l))).toEqual(expected);
      expect(nodeKinds(target(l, false))).toEqual(expected);
      expect(nodeKinds(target(l, true))).toEqual(expected);
    });
  }
});
