import { TrustStore, fingerprint, generateIdentity } from '@distkit/handshake';
import { describe, expect, it } from 'vitest';
import { members, nodeFor, portBase, record, trustAll, until } from './cluster.test-support.ts';
import { KernelError } from './errors.ts';

// Test 4 of the kernel issue: who may link.
describe('trust on real loopback links', () => {
  it('strict: a node whose key is not in authorized_nodes cannot link, and is reported', async () => {
    const ms = members(['a', 'b'], portBase(21));
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, trust: { store: trustAll([ms[0]!]) } });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false });
    const ra = record(a);
    try {
      await Promise.all([a.start(), b.start()]);
      await expect(b.connectNode('a')).rejects.toThrow(KernelError);
      await until(() => ra.events.some((e) => e.type === 'refused'), 3000, 'refusal reported');
      expect(ra.events.find((e) => e.type === 'refused')).toMatchObject({ node: 'b' });
      expect(a.nodes()).toEqual([]);
      expect(a.stats().handshakes.refused).toBeGreaterThan(0);
    } finally {
      ra.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('TOFU: the first key is learned (and handed to the caller); a changed key is refused with key-changed', async () => {
    const ms = members(['a', 'b'], portBase(22));
    const store = new TrustStore({ mode: 'tofu' });
    const learned: string[] = [];
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, trust: { store, onLearned: (n, k) => learned.push(`${n} ${fingerprint(k)}`) } });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false, trust: { store: new TrustStore({ mode: 'tofu' }) } });
    const ra = record(a);
    const impostor = { ...ms[1]!, identity: generateIdentity() };
    const b2 = nodeFor(impostor, [ms[0]!, impostor], { connectAtStart: false, trust: { store: new TrustStore({ mode: 'tofu' }) } });
    try {
      await Promise.all([a.start(), b.start()]);
      await b.connectNode('a');
      expect(learned).toEqual([`b ${fingerprint(ms[1]!.identity.publicKey)}`]);
      expect(store.serializeKnownNodes()).toContain('b ');
      await b.stop();
      await until(() => a.nodes().length === 0, 5000, 'b gone');
      await b2.start(); // same name, same port, another key
      await expect(b2.connectNode('a')).rejects.toThrow(KernelError);
      await until(() => ra.events.some((e) => e.type === 'key-changed'), 3000, 'key-changed event');
      expect(ra.events.find((e) => e.type === 'key-changed')).toMatchObject({
        node: 'b',
        expected: fingerprint(ms[1]!.identity.publicKey),
        presented: fingerprint(impostor.identity.publicKey),
      });
      expect(a.nodes()).toEqual([]);
      expect(learned).toHaveLength(1);
    } finally {
      ra.stop();
      await Promise.all([a.stop(), b.stop(), b2.stop()]);
    }
  });

  it('a wrong cluster secret (or none) cannot complete a handshake', async () => {
    const ms = members(['a', 'b'], portBase(23));
    const s1 = new Uint8Array(32).fill(7);
    const s2 = new Uint8Array(32).fill(8);
    const a = nodeFor(ms[0]!, ms, { connectAtStart: false, clusterSecrets: [s1] });
    const b = nodeFor(ms[1]!, ms, { connectAtStart: false, clusterSecrets: [s2] });
    try {
      await Promise.all([a.start(), b.start()]);
      await expect(b.connectNode('a')).rejects.toThrow(KernelError);
      expect(a.nodes()).toEqual([]);
      expect(b.nodes()).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    // The same secret (as the older of two in a rotation keyring) links.
    const ms2 = members(['a', 'b'], portBase(24));
    const c = nodeFor(ms2[0]!, ms2, { connectAtStart: false, clusterSecrets: [s2, s1] });
    const d = nodeFor(ms2[1]!, ms2, { connectAtStart: false, clusterSecrets: [s1] });
    try {
      await Promise.all([c.start(), d.start()]);
      await d.connectNode('a');
      await until(() => c.nodes().length === 1, 5000, 'c sees the link');
      expect(c.nodes()).toEqual(['b']);
    } finally {
      await Promise.all([c.stop(), d.stop()]);
    }
  });
});
