// The mesh's rules on their own: what is offered to the policy (and retried), what counts as an
// overlapping partition, and which links one drops (the same choice on every node holding both
// sides).
import { describe, expect, it } from 'vitest';
import { Mesh, type MeshHost } from './mesh.ts';

function host(name: string, peers: string[], dialable: string[] = [], refuses: string[] = [], unknown: string[] = []) {
  const calls = { sent: [] as string[], learned: [] as string[], located: [] as string[], dropped: [] as string[], deadlines: new Map<string, number>() };
  const h: MeshHost = {
    name,
    visiblePeers: () => peers.filter((p) => !calls.dropped.includes(p)).sort(),
    reach: (n) => (dialable.includes(n) ? 'dial' : unknown.includes(n) ? 'locate' : 'skip'),
    locate: (nodes, via) => calls.located.push(`${nodes.join(',')} from ${via}`),
    sendLinks: (to, nodes, apart) => calls.sent.push(`${to}:${nodes.join(',')}|${apart.join(',')}`),
    learned: (node, via) => {
      calls.learned.push(`${node} via ${via}`);
      return refuses.includes(node);
    },
    drop: (node) => calls.dropped.push(node),
    deadline: (key, at) => calls.deadlines.set(key, at),
  };
  return { h, calls };
}

const options = { connectAll: true, preventOverlap: true, graceMs: 1000, debounceMs: 50, retryMs: 300 };

describe('mesh', () => {
  it('connect_all: a node a peer is linked to is offered to the policy when we may dial it, and again while it stays unlinked', () => {
    const dialable = ['c'];
    const { h, calls } = host('a', ['b'], dialable);
    const m = new Mesh(h, options);
    m.peerLinks('b', ['a', 'c', 'z'], [], 0);
    expect(calls.learned).toEqual(['c via b']); // not ourselves, not z (skipped)
    expect(calls.deadlines.get('mesh')).toBe(300);
    m.timeout('mesh', 300);
    expect(calls.learned).toEqual(['c via b', 'c via b']);
    dialable.length = 0; // now linked
    m.timeout('mesh', 600);
    expect(calls.learned).toHaveLength(2);
    expect(calls.deadlines.get('mesh')).toBe(600); // not armed again
  });

  it('nodes we have no address for are asked of the peer that listed them, then offered once located', () => {
    const dialable: string[] = [];
    const unknown = ['j', 'k'];
    const { h, calls } = host('a', ['b'], dialable, [], unknown);
    const m = new Mesh(h, options);
    m.peerLinks('b', ['a', 'j', 'k'], [], 0);
    expect(calls.located).toEqual(['j,k from b']);
    expect(calls.learned).toEqual([]);
    unknown.splice(0, 1);
    dialable.push('j'); // the answer came for j
    m.located(10);
    expect(calls.learned).toEqual(['j via b']);
    expect(calls.located).toEqual(['j,k from b', 'k from b']); // k still unknown: asked again (the host rate-limits)
  });

  it('a burst of link changes is one links list per peer, after the debounce; it names what we are apart from', () => {
    const peers = ['b', 'c'];
    const { h, calls } = host('a', peers, ['x', 'y'], ['x']);
    const m = new Mesh(h, options);
    m.ownLinksChanged(0);
    m.ownLinksChanged(10);
    expect(calls.deadlines.get('links')).toBe(50);
    m.timeout('links', 50);
    expect(calls.sent).toEqual(['b:b,c|', 'c:b,c|']);
    calls.sent.length = 0;
    m.peerLinks('b', ['a', 'x', 'y'], [], 60); // our policy refuses x
    peers.pop();
    m.forget('c', true, 70); // the link to c was lost
    m.timeout('links', 110);
    expect(calls.sent).toEqual(['b:b|c,x']);
  });

  it('a pair not linked yet is no overlap; a lost or refused one is, and after the grace one side is dropped', () => {
    const { h, calls } = host('b', ['a', 'c']);
    const m = new Mesh(h, options);
    m.peerLinks('a', ['b'], [], 0);
    m.peerLinks('c', ['b'], [], 0);
    expect(calls.deadlines.has('overlap')).toBe(false); // a mesh still forming
    m.peerLinks('a', ['b'], ['c'], 100); // a lost c
    expect(calls.deadlines.get('overlap')).toBe(1100);
    m.timeout('overlap', 1100);
    expect(calls.dropped).toEqual(['c']); // a tie: the greatest name goes
    // In time: A and C link again within the grace period, nothing is dropped.
    const other = host('b', ['a', 'c']);
    const n = new Mesh(other.h, options);
    n.peerLinks('a', ['b'], ['c'], 0);
    n.peerLinks('c', ['b'], [], 0);
    expect(other.calls.deadlines.get('overlap')).toBe(1000);
    n.peerLinks('a', ['b', 'c'], [], 500);
    expect(other.calls.deadlines.get('overlap')).toBe(Number.POSITIVE_INFINITY);
  });

  it('a link closed on purpose is not lost: it is not told as apart', () => {
    const { h, calls } = host('a', ['b']);
    const m = new Mesh(h, options);
    m.forget('c', false, 0);
    m.timeout('links', 50);
    expect(calls.sent).toEqual(['b:b|']);
  });

  it('three groups, the outer two cut from each other: every middle node drops the same whole group', () => {
    const g1 = ['a1', 'a2', 'a3'];
    const g2 = ['m1', 'm2', 'm3'];
    const g3 = ['z1', 'z2', 'z3'];
    for (const me of g2) {
      const peers = [...g1, ...g2, ...g3].filter((p) => p !== me);
      const { h, calls } = host(me, peers);
      const m = new Mesh(h, options);
      for (const p of g1) m.peerLinks(p, [...g1, ...g2].filter((x) => x !== p), g3, 0);
      for (const p of g2.filter((x) => x !== me)) m.peerLinks(p, peers.concat(me).filter((x) => x !== p), [], 0);
      for (const p of g3) m.peerLinks(p, [...g2, ...g3].filter((x) => x !== p), g1, 0);
      m.timeout('overlap', 1000);
      expect(calls.dropped.sort()).toEqual(g3);
    }
  });
});
