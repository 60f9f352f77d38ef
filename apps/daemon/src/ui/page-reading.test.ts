// The page's reading of what the API gives (its pure half, from apps/daemon/ui/): fields that
// other work adds later (suite, tags, φ, loss, last heartbeat) show up once they exist, garbage is
// skipped rather than thrown, and decisions read as words. The DOM half is page.test.ts.
import { describe, expect, it } from 'vitest';
import { parseBlock } from '../../ui/api.ts';
import { linkState, readPeers } from '../../ui/peer-view.ts';
import { describeEvent, describeView, formatDuration } from '../../ui/words.ts';

describe('the page reads /v1/nodes defensively', () => {
  it('today\'s fields, and "—" material (null) for what the daemon does not serve yet', () => {
    const [peer] = readPeers({
      nodes: [{ name: 'beta', connected: true, hidden: false, verdict: 'up', incarnation: 3, fingerprint: 'SHA256:x', direction: 'outbound', address: { host: '::1', port: 4370 }, since: '2026-01-01T00:00:00.000Z', lastDownReason: null }],
    });
    expect(peer).toMatchObject({ name: 'beta', state: 'up', direction: 'outbound', incarnation: 3, address: '[::1]:4370', since: Date.parse('2026-01-01T00:00:00.000Z') });
    expect([peer?.suite, peer?.tags, peer?.phi, peer?.loss, peer?.lastHeard, peer?.linkedTo]).toEqual([null, null, null, null, null, undefined]);
    expect(peer?.extra).toEqual([]);
  });

  it('fields other work adds are shown as they come, unknown ones kept for the "More" column', () => {
    const [peer] = readPeers({
      nodes: [{ name: 'beta', connected: true, verdict: 'up', suite: '25519_AESGCM_SHA256', tags: { role: 'db', zone: 'a' }, phi: 0.7, loss: 0.02, lastHeardAt: 1_800_000_000_000, linkedTo: ['alpha'], rtt: { ms: 3 } }],
    });
    expect(peer).toMatchObject({ suite: '25519_AESGCM_SHA256', tags: 'role=db, zone=a', phi: 0.7, loss: 0.02, lastHeard: 1_800_000_000_000, linkedTo: ['alpha'] });
    expect(peer?.extra).toEqual([['rtt', '{"ms":3}']]);
  });

  it('garbage is skipped, never thrown', () => {
    expect(readPeers(null)).toEqual([]);
    expect(readPeers({ nodes: 'no' })).toEqual([]);
    const peers = readPeers({ nodes: [null, 7, { connected: true }, { name: 'ok', incarnation: 'x', since: 'not a date', address: { host: 1 } }] });
    expect(peers.map((p) => [p.name, p.incarnation, p.since, p.address, p.state])).toEqual([['ok', null, null, null, 'down']]);
  });

  it('link states: the verdict when unlinked, the last nodedown reason for a deliberate close', () => {
    expect(linkState(true, 'up', null)).toBe('up');
    expect(linkState(true, 'degraded', null)).toBe('degraded');
    expect(linkState(false, 'partitioned', 'tick_timeout')).toBe('partitioned');
    expect(linkState(false, 'restarted', 'connection_closed')).toBe('restarted');
    expect(linkState(false, 'down', 'disconnect')).toBe('disconnected');
    expect(linkState(false, 'down', 'shutdown')).toBe('disconnected');
    expect(linkState(false, 'down', 'connection_closed')).toBe('down');
    // The side that was told: its reason is connection_closed, the kernel's verdict says on purpose.
    expect(linkState(false, 'disconnected', 'connection_closed')).toBe('disconnected');
  });
});

describe('the page puts events in words', () => {
  const names: Record<string, string> = { QUxQSEE: 'alpha', R0FNTUE: 'gamma' };
  const nameOf = (id: string): string | undefined => names[id];

  it('a decision, with both sides\' views', () => {
    const text = describeEvent(
      'decision',
      {
        node: 'gamma',
        strategy: 'keep-majority',
        decision: 'stay',
        mine: { connected: 2, lowest: 'QUxQSEE', oldest: { id: 'QUxQSEE', startedAt: 1 }, referee: false, hash: 'x' },
        theirs: { connected: 0, lowest: 'R0FNTUE', oldest: null, referee: false, hash: 'y' },
      },
      nameOf,
    );
    expect(text).toBe('gamma: mine: 3 nodes, lowest id alpha, oldest alpha — theirs: 1 node, lowest id gamma → stay (keep-majority)');
    expect(describeView({ connected: 1, lowest: 'dW5rbm93bl9pZA' }, nameOf)).toBe('2 nodes, lowest id dW5rbm93…');
    expect(describeView('nonsense', nameOf)).toBe('no view');
  });

  it('the other kinds, and an unknown one as data', () => {
    expect(describeEvent('nodedown', { node: 'beta', reason: 'tick_timeout' }, nameOf)).toBe('beta link down: tick_timeout');
    expect(describeEvent('partition', { node: 'beta', incarnation: 1, via: 'alpha' }, nameOf)).toBe('beta is alive but not linked (incarnation 1): a partition (reported by alpha)');
    expect(describeEvent('refused', { node: null, remote: '10.0.0.9:5000', reason: 'not in authorized_nodes' }, nameOf)).toBe('refused a stranger from 10.0.0.9:5000: not in authorized_nodes');
    expect(describeEvent('leave', { node: 'beta', at: 5, seenAt: 6, graceful: true }, nameOf)).toBe('beta: {"node":"beta","graceful":true}');
  });

  it('durations read at a glance', () => {
    expect([formatDuration(-5), formatDuration(1234), formatDuration(65_000), formatDuration(600_000), formatDuration(3 * 3_600_000), formatDuration(5 * 86_400_000)]).toEqual(['0.0 s', '1.2 s', '65 s', '10 min', '3 h', '5 d']);
  });
});

describe('the page reads server-sent events', () => {
  it('event and data lines; comments, ids and broken JSON skipped', () => {
    expect(parseBlock('id: 3\nevent: nodeup\ndata: {"node":"beta"}')).toEqual({ type: 'nodeup', data: { node: 'beta' } });
    expect(parseBlock(': keep-alive')).toBeNull();
    expect(parseBlock('event: x\ndata: {broken')).toBeNull();
    expect(parseBlock('data: {"a":1}')).toEqual({ type: 'message', data: { a: 1 } });
  });
});
