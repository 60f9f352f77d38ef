// The mesh's rules on their own: what is offered to the policy, and which links an overlapping
// partition drops (the same choice on every node holding both sides).
import { describe, expect, it } from 'vitest';
import { Mesh, type MeshHost } from './mesh.ts';

function host(name: string, peers: string[], dialable: string[] = []) {
  const calls = { sent: [] as string[], learned: [] as string[], dropped: [] as string[], deadlines: new Map<string, number>() };
  const h: MeshHost = {
    name,
    visiblePeers: () => peers.filter((p) => !calls.dropped.includes(p)).sort(),
    canDial: (n) => dialable.includes(n),
    sendLinks: (to, nodes) => calls.sent.push(`${to}:${nodes.join(',')}`),
    learned: (node, via) => calls.learned.push(`${node} via ${via}`),
    drop: (node) => calls.dropped.push(node),
    deadline: (key, at) => calls.deadlines.set(key, at),
  };
  return { h, calls };
}

const options = { connectAll: true, preventOverlap: true, graceMs: 1000, debounceMs: 50 };

describe('mesh', () => {
  it("connect_all: a node a peer is linked to is offered to the policy when we may dial it", () => {
    const { h, calls } = host('a', ['b'], ['c']);
    const m = new Mesh(h, options);
    m.peerLinks('b', ['a', 'c', 'z'], 0);
    expect(calls.learned).toEqual(['c via b']); // not ourselves, not z (no address)
  });

  it('a burst of link changes is one links list per peer, after the debounce', () => {
    const { h, calls } = host('a', ['b', 'c']);
    const m = new Mesh(h, options);
    m.ownLinksChanged(0);
    m.ownLinksChanged(10);
    expect(calls.deadlines.get('links')).toBe(50);
    m.timeout('links', 50);
    expect(calls.sent).toEqual(['b:b,c', 'c:b,c']);
  });

  it('overlap (A–B, B–C, not A–C): after the grace period one side is dropped; a link made in time clears it', () => {
    const { h, calls } = host('b', ['a', 'c']);
    const m = new Mesh(h, options);
    m.peerLinks('a', ['b'], 0);
    m.peerLinks('c', ['b'], 0);
    expect(calls.deadlines.get('overlap')).toBe(1000);
    m.timeout('overlap', 1000);
    expect(calls.dropped).toEqual(['c']); // a tie: the greatest name goes
    // In time: A and C link within the grace period, nothing is dropped.
    const other = host('b', ['a', 'c']);
    const n = new Mesh(other.h, options);
    n.peerLinks('a', ['b'], 0);
    n.peerLinks('c', ['b'], 0);
    n.peerLinks('a', ['b', 'c'], 500);
    expect(other.calls.deadlines.get('overlap')).toBe(Number.POSITIVE_INFINITY);
  });

  it('three groups, the outer two cut from each other: every middle node drops the same whole group', () => {
    const g1 = ['a1', 'a2', 'a3'];
    const g2 = ['m1', 'm2', 'm3'];
    const g3 = ['z1', 'z2', 'z3'];
    for (const me of g2) {
      const peers = [...g1, ...g2, ...g3].filter((p) => p !== me);
      const { h, calls } = host(me, peers);
      const m = new Mesh(h, options);
      for (const p of g1) m.peerLinks(p, [...g1, ...g2].filter((x) => x !== p), 0);
      for (const p of g2.filter((x) => x !== me)) m.peerLinks(p, peers.concat(me).filter((x) => x !== p), 0);
      for (const p of g3) m.peerLinks(p, [...g2, ...g3].filter((x) => x !== p), 0);
      m.timeout('overlap', 1000);
      expect(calls.dropped.sort()).toEqual(g3);
    }
  });
});
