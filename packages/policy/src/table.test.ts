// The baseline table of the issue (Erlang/OTP `dist_auto_connect`), one test per (mode × column)
// cell, then one block per distkit addition.
import { describe, expect, it } from 'vitest';
import type { Decision, Mode, Policy } from './index.ts';
import { idOf, kinds, policy } from './policy.test-support.ts';

const MODES: Mode[] = ['always', 'once', 'never'];

/** Brings `node` to a link that is up (dialled explicitly, which every mode allows). */
function linked(p: Policy, node: string, now: number, connection = `${node}-1`, incarnation = 1): void {
  p.handle({ type: 'connectRequested', node, kind: 'explicit' }, now);
  p.handle({ type: 'connected', node, connection, direction: 'out', incarnation }, now);
  expect(p.state(node)?.phase).toBe('linked');
}

function fails(p: Policy, node: string, now: number): readonly Decision[] {
  const connection = p.state(node)!.connection!;
  return p.handle({ type: 'disconnected', node, connection, reason: 'tickTimeout' }, now);
}

describe('baseline table: auto-connect to an unconnected node', () => {
  it('always: dial', () => {
    const p = policy({ mode: 'always' });
    const d = p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto', message: 'm1' }, 0);
    expect(d).toEqual([{ type: 'dial', node: 'beta', at: 0, attempt: 1, reason: 'auto' }]);
    // A second send while the dial is in flight holds the message; no second dial.
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 1))).toEqual(['wait:dialing']);
  });

  it('once: dial, until that node\'s first link failure', () => {
    const p = policy({ mode: 'once' });
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 0))).toEqual(['dial:auto']);
    p.handle({ type: 'connected', node: 'beta', connection: 1, direction: 'out', incarnation: 1 }, 1);
    fails(p, 'beta', 2);
    const d = p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto', message: 'm2' }, 3);
    expect(d).toEqual([{ type: 'drop', node: 'beta', message: 'm2', reason: 'barred' }]);
  });

  it('never: refuse; the send is dropped and reported with its message', () => {
    const p = policy({ mode: 'never' });
    const d = p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto', message: { n: 1 } }, 0);
    expect(d).toEqual([{ type: 'drop', node: 'beta', message: { n: 1 }, reason: 'never' }]);
    expect(p.stats().dialsInFlight).toBe(0);
  });
});

describe('baseline table: after the link fails', () => {
  it('always (OTP, reconnect on-demand): nothing redials by itself; the next need dials at once', () => {
    const p = policy({ mode: 'always', backoff: { base: 100 } });
    linked(p, 'beta', 0);
    expect(fails(p, 'beta', 120_000)).toEqual([]);
    expect(p.nextWakeup()).toBeNull();
    expect(p.state('beta')?.phase).toBe('idle');
    expect(p.handle({ type: 'tick' }, 1_000_000)).toEqual([]);
    expect(p.handle({ type: 'heard', node: 'beta', incarnation: 9 }, 1_000_001)).toEqual([]); // it restarted: still only on need
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 1_000_002))).toEqual(['dial:auto']);
    // A failed dial is not retried either: the next need tries again, at once.
    expect(p.handle({ type: 'dialFailed', node: 'beta', reason: 'econnrefused' }, 1_000_003)).toEqual([]);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 1_000_004))).toEqual(['dial:auto']);
  });

  it('always with reconnect eager: dial again on the next need; redial with backoff', () => {
    const p = policy({ mode: 'always', reconnect: 'eager', backoff: { base: 100 } });
    linked(p, 'beta', 0);
    const d = fails(p, 'beta', 120_000);
    expect(d).toHaveLength(1);
    const retry = d[0]!;
    expect(retry).toMatchObject({ type: 'retry', node: 'beta', reason: 'linkFailed', attempt: 1 });
    const at = (retry as { at: number }).at;
    expect(at).toBeGreaterThanOrEqual(120_000);
    expect(at).toBeLessThanOrEqual(120_100);
    expect(p.nextWakeup()).toBe(at);
    expect(p.isBarred('beta')).toBe(false);
    // The next need dials at once (Erlang), without waiting for the planned redial ...
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 120_000))).toEqual(['dial:auto']);
    // ... which is then void.
    expect(p.handle({ type: 'tick' }, at)).toEqual([]);
  });

  it('always with reconnect eager: without a need, the planned redial fires on tick; a per-peer override holds', () => {
    const q = policy({ mode: 'always', reconnects: { beta: 'eager' }, backoff: { base: 100 } });
    linked(q, 'beta', 0);
    linked(q, 'gamma', 0, 'c2');
    expect(kinds(fails(q, 'beta', 120_000))).toEqual(['retry:linkFailed']);
    expect(fails(q, 'gamma', 120_000)).toEqual([]);
    const p = policy({ mode: 'always', reconnect: 'eager', backoff: { base: 100 } });
    linked(p, 'beta', 0);
    fails(p, 'beta', 120_000);
    const at = p.nextWakeup()!;
    expect(p.handle({ type: 'tick' }, at - 0.5 >= 120_000 ? at - 0.5 : 120_000).filter((x) => x.type === 'dial')).toEqual([]);
    expect(p.handle({ type: 'tick' }, at + 5)).toEqual([{ type: 'dial', node: 'beta', at, attempt: 1, reason: 'redial' }]);
  });

  it('once: the node is barred from auto-connect for good, even if it restarts', () => {
    const p = policy({ mode: 'once' });
    linked(p, 'beta', 0, 'c1', 7);
    expect(fails(p, 'beta', 10)).toEqual([{ type: 'barred', node: 'beta', reason: 'linkFailed' }]);
    expect(p.isBarred('beta')).toBe(true);
    expect(p.nextWakeup()).toBeNull();
    for (const [t, inc] of [[20, 8], [30, 9], [40_000, 10]] as const) {
      expect(p.handle({ type: 'heard', node: 'beta', incarnation: inc }, t)).toEqual([]); // it restarted
      expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, t))).toEqual(['drop:barred']);
      expect(p.handle({ type: 'tick' }, t)).toEqual([]);
    }
    expect(p.isBarred('beta')).toBe(true);
  });

  it('once: a dial that never came up does not bar (net_kernel: never alive)', () => {
    const p = policy({ mode: 'once' });
    p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 0);
    expect(p.handle({ type: 'dialFailed', node: 'beta', reason: 'econnrefused' }, 1)).toEqual([]);
    expect(p.isBarred('beta')).toBe(false);
    expect(p.nextWakeup()).toBeNull(); // no redial outside `always`
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 2))).toEqual(['dial:auto']);
  });

  it('never: nothing', () => {
    const p = policy({ mode: 'never' });
    linked(p, 'beta', 0);
    expect(fails(p, 'beta', 10)).toEqual([]);
    expect(p.isBarred('beta')).toBe(false);
    expect(p.nextWakeup()).toBeNull();
    expect(p.state('beta')?.phase).toBe('idle');
  });
});

describe('baseline table: explicit connect', () => {
  it.each(MODES)('%s: dial', (mode) => {
    const p = policy({ mode });
    expect(p.handle({ type: 'connectRequested', node: 'beta', kind: 'explicit' }, 0)).toEqual([
      { type: 'dial', node: 'beta', at: 0, attempt: 1, reason: 'explicit' },
    ]);
  });

  it('once: dial and lift the bar; auto-connect works again afterwards', () => {
    const p = policy({ mode: 'once' });
    linked(p, 'beta', 0);
    fails(p, 'beta', 1);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'explicit' }, 2))).toEqual([
      'unbarred:explicit',
      'dial:explicit',
    ]);
    expect(p.isBarred('beta')).toBe(false);
    // As in net_kernel, the bar is gone even if this explicit attempt fails.
    p.handle({ type: 'dialFailed', node: 'beta', reason: 'timeout' }, 3);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 4))).toEqual(['dial:auto']);
  });
});

describe('baseline table: inbound from the peer', () => {
  it.each(MODES)('%s: accept', (mode) => {
    const p = policy({ mode });
    expect(p.handle({ type: 'inboundAttempt', connection: 9, node: 'beta', incarnation: 1 }, 0)).toEqual([
      { type: 'accept', node: 'beta', connection: 9, reason: 'allowed' },
    ]);
    expect(p.handle({ type: 'connected', node: 'beta', connection: 9, direction: 'in', incarnation: 1 }, 1)).toEqual([]);
    expect(p.links()).toEqual([{ node: 'beta', connection: 9, direction: 'in', incarnation: 1, since: 1 }]);
  });

  it('once: accept and lift the bar', () => {
    const p = policy({ mode: 'once' });
    linked(p, 'beta', 0);
    fails(p, 'beta', 1);
    expect(kinds(p.handle({ type: 'inboundAttempt', connection: 'in-2', node: 'beta', incarnation: 2 }, 2))).toEqual([
      'unbarred:inbound',
      'accept:allowed',
    ]);
    expect(p.isBarred('beta')).toBe(false);
    p.handle({ type: 'connected', node: 'beta', connection: 'in-2', direction: 'in', incarnation: 2 }, 3);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 4))).toEqual(['ready:linked']);
    // And when this link fails, the node is barred again.
    expect(kinds(fails(p, 'beta', 5))).toEqual(['barred:linkFailed']);
  });
});

describe('per-peer mode overrides', () => {
  it('an override beats the default, both ways', () => {
    const p = policy({ mode: 'never', modes: { beta: 'always', gamma: 'once' } });
    expect(p.modeOf('beta')).toBe('always');
    expect(p.modeOf('gamma')).toBe('once');
    expect(p.modeOf('delta')).toBe('never');
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 0))).toEqual(['dial:auto']);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'delta', kind: 'auto' }, 0))).toEqual(['drop:never']);
    const q = policy({ mode: 'always', modes: { beta: 'never' } });
    expect(kinds(q.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 0))).toEqual(['drop:never']);
  });

  it('changing a barred node away from once lifts its bar', () => {
    const p = policy({ mode: 'once' });
    linked(p, 'beta', 0);
    fails(p, 'beta', 1);
    const d = p.handle({ type: 'configure', config: { modes: { beta: 'always' } } }, 2);
    expect(kinds(d)).toEqual(['unbarred:modeChanged']);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 3))).toEqual(['dial:auto']);
  });
});

describe('allow and deny lists that grow and shrink', () => {
  it('deny refuses every way in or out', () => {
    const p = policy({ deny: ['evil'] });
    expect(kinds(p.handle({ type: 'connectRequested', node: 'evil', kind: 'auto' }, 0))).toEqual(['drop:denied']);
    expect(p.handle({ type: 'connectRequested', node: 'evil', kind: 'explicit' }, 0)).toEqual([
      { type: 'refuse', node: 'evil', connection: null, reason: 'denied' },
    ]);
    expect(p.handle({ type: 'inboundAttempt', connection: 1, node: 'evil' }, 0)).toEqual([
      { type: 'refuse', node: 'evil', connection: 1, reason: 'denied' },
    ]);
  });

  it('shrinking refuses future links and reports the links that now violate the rule', () => {
    const p = policy({ mode: 'always', allow: ['beta', 'gamma', 'delta'], limits: { maxDialsInFlight: 1 } });
    linked(p, 'beta', 0, 'b1');
    p.handle({ type: 'connectRequested', node: 'gamma', kind: 'auto' }, 1); // dialing
    expect(kinds(p.handle({ type: 'connectRequested', node: 'delta', kind: 'auto' }, 1))).toEqual(['wait:queued']);
    const d = p.handle({ type: 'configure', config: { allow: ['gamma'], deny: ['delta'] } }, 2);
    expect(d).toEqual([
      { type: 'violation', node: 'beta', connection: 'b1', reason: 'notAllowed' },
      { type: 'cancel', node: 'delta', connection: null, inFlight: false, reason: 'denied' },
    ]);
    // The kernel decides about beta; the policy keeps reporting it as linked meanwhile.
    expect(p.state('beta')?.phase).toBe('linked');
    expect(kinds(p.handle({ type: 'inboundAttempt', connection: 5, node: 'beta' }, 3))).toEqual(['refuse:notAllowed']);
    // Shrinking again cancels the dial in flight.
    expect(p.handle({ type: 'configure', config: { allow: [] } }, 4)).toEqual([
      { type: 'violation', node: 'beta', connection: 'b1', reason: 'notAllowed' },
      { type: 'cancel', node: 'gamma', connection: null, inFlight: true, reason: 'notAllowed' },
    ]);
    expect(p.stats().dialsInFlight).toBe(0);
    // Growing back lets them in again.
    p.handle({ type: 'configure', config: { allow: null, deny: [] } }, 5);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'delta', kind: 'auto' }, 6))).toEqual(['dial:auto']);
  });

  it('a link that fails while its node is no longer allowed is not redialled', () => {
    const p = policy({ mode: 'always' });
    linked(p, 'beta', 0);
    p.handle({ type: 'configure', config: { deny: ['beta'] } }, 1);
    expect(fails(p, 'beta', 2)).toEqual([]);
    expect(p.nextWakeup()).toBeNull();
  });
});

describe('connect at startup', () => {
  it('dials every configured peer under always and once, not never; start is idempotent', () => {
    const p = policy({ mode: 'once', modes: { delta: 'never', gamma: 'always' }, peers: ['beta', 'gamma', 'delta'] });
    expect(p.handle({ type: 'start' }, 0)).toEqual([
      { type: 'dial', node: 'beta', at: 0, attempt: 1, reason: 'startup' },
      { type: 'dial', node: 'gamma', at: 0, attempt: 1, reason: 'startup' },
    ]);
    expect(p.handle({ type: 'start' }, 1)).toEqual([]);
  });

  it('peers added by configure after start are dialled; denied ones are reported', () => {
    const p = policy({ peers: ['beta'], deny: ['evil'] });
    p.handle({ type: 'start' }, 0);
    expect(kinds(p.handle({ type: 'configure', config: { peers: ['beta', 'gamma', 'evil'] } }, 1))).toEqual([
      'dial:startup',
      'refuse:denied',
    ]);
  });
});

describe('backoff under always', () => {
  it('delays grow as base·factor^k, capped, with full jitter; reset after a stable link', () => {
    const p = policy({ reconnect: 'eager', backoff: { base: 100, factor: 2, cap: 1000, stableAfter: 5000 } }, () => 0.999999);
    let now = 0;
    p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, now);
    const delays: number[] = [];
    for (let k = 0; k < 7; k++) {
      const d = p.handle({ type: 'dialFailed', node: 'beta', reason: 'refused' }, now);
      const retry = d.find((x) => x.type === 'retry') as { at: number; attempt: number };
      delays.push(Math.round(retry.at - now));
      expect(retry.attempt).toBe(k + 2);
      // A need during backoff after failed dials waits for the planned redial.
      expect(kinds(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, now))).toEqual(['wait:backoff']);
      now = retry.at;
      expect(kinds(p.handle({ type: 'tick' }, now))).toEqual(['dial:redial']);
    }
    expect(delays).toEqual([200, 400, 800, 1000, 1000, 1000, 1000]);
    // A short-lived link does not reset the count ...
    p.handle({ type: 'connected', node: 'beta', connection: 1, direction: 'out', incarnation: 1 }, now);
    const short = p.handle({ type: 'disconnected', node: 'beta', connection: 1, reason: 'closed' }, now + 10);
    expect(short[0]).toMatchObject({ type: 'retry', attempt: 9 });
    // ... a stable one does.
    now = (short[0] as { at: number }).at;
    p.handle({ type: 'tick' }, now);
    p.handle({ type: 'connected', node: 'beta', connection: 2, direction: 'out', incarnation: 1 }, now);
    const stable = p.handle({ type: 'disconnected', node: 'beta', connection: 2, reason: 'closed' }, now + 5001);
    expect(stable[0]).toMatchObject({ type: 'retry', attempt: 1 });
    expect((stable[0] as { at: number }).at - (now + 5001)).toBeCloseTo(100, 2);
  });

  it('gives up after maxAttempts consecutive failures; the next need starts afresh', () => {
    const p = policy({ reconnect: 'eager', backoff: { maxAttempts: 3 } });
    let now = 0;
    p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, now);
    const seen: string[] = [];
    for (let k = 0; k < 3; k++) {
      const d = p.handle({ type: 'dialFailed', node: 'beta', reason: 'refused' }, now);
      seen.push(...kinds(d));
      const wake = p.nextWakeup();
      if (wake !== null) p.handle({ type: 'tick' }, (now = wake));
    }
    expect(seen).toEqual(['retry:dialFailed', 'retry:dialFailed', 'giveUp:maxAttempts']);
    expect(p.nextWakeup()).toBeNull();
    expect(p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, now)).toEqual([
      { type: 'dial', node: 'beta', at: now, attempt: 1, reason: 'auto' },
    ]);
  });

  it('a heartbeat with a new incarnation during backoff redials at once', () => {
    const p = policy({ reconnect: 'eager', backoff: { base: 10_000 } });
    p.handle({ type: 'heard', node: 'beta', incarnation: 3 }, 0);
    p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 0);
    p.handle({ type: 'dialFailed', node: 'beta', reason: 'refused' }, 1);
    expect(p.handle({ type: 'heard', node: 'beta', incarnation: 3 }, 2)).toEqual([]);
    expect(kinds(p.handle({ type: 'heard', node: 'beta', incarnation: 4 }, 3))).toEqual(['dial:restarted']);
  });
});

describe('hidden nodes and the mesh', () => {
  it('mesh: a learned node is auto-connected, subject to its mode', () => {
    const p = policy({ mesh: true, modes: { gamma: 'never', delta: 'once' } });
    expect(kinds(p.handle({ type: 'learned', node: 'beta', via: 'zeta' }, 0))).toEqual(['dial:mesh']);
    expect(p.handle({ type: 'learned', node: 'beta', via: 'eta' }, 0)).toEqual([]); // already dialling
    expect(kinds(p.handle({ type: 'learned', node: 'gamma', via: 'zeta' }, 0))).toEqual(['ignore:never']);
    linked(p, 'delta', 1);
    fails(p, 'delta', 2);
    expect(kinds(p.handle({ type: 'learned', node: 'delta', via: 'zeta' }, 3))).toEqual(['ignore:barred']);
  });

  it('without mesh, learning a node does nothing', () => {
    const p = policy({ mesh: false });
    expect(p.handle({ type: 'learned', node: 'beta', via: 'zeta' }, 0)).toEqual([]);
    expect(p.state('beta')).toBeNull();
  });

  it('hidden nodes are never learned transitively nor auto-connected through learned', () => {
    const p = policy({ mesh: true, hidden: ['h1'] });
    expect(kinds(p.handle({ type: 'learned', node: 'h1', via: 'zeta' }, 0))).toEqual(['ignore:hidden']);
    expect(kinds(p.handle({ type: 'learned', node: 'h2', via: 'zeta', hidden: true }, 0))).toEqual(['ignore:hidden']);
    // What a hidden node tells us is not learned either.
    expect(kinds(p.handle({ type: 'learned', node: 'beta', via: 'h1' }, 0))).toEqual(['ignore:hidden']);
    p.handle({ type: 'inboundAttempt', connection: 1, node: 'h3', hidden: true }, 0);
    expect(kinds(p.handle({ type: 'learned', node: 'gamma', via: 'h3' }, 0))).toEqual(['ignore:hidden']);
    expect(p.state('h2')).toBeNull();
    expect(p.state('beta')).toBeNull();
    // A hidden node can still be reached directly, as in Erlang.
    expect(kinds(p.handle({ type: 'connectRequested', node: 'h1', kind: 'auto' }, 0))).toEqual(['dial:auto']);
  });

  it('a hidden node itself does not take part in the mesh', () => {
    const p = policy({ self: { name: 'alpha', hidden: true }, mesh: true });
    expect(p.handle({ type: 'learned', node: 'beta', via: 'zeta' }, 0)).toEqual([]);
  });
});

describe('limits', () => {
  it('maxLinks: refusals say which limit', () => {
    const p = policy({ limits: { maxLinks: 1 } });
    linked(p, 'beta', 0);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'gamma', kind: 'auto' }, 1))).toEqual(['drop:maxLinks']);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'gamma', kind: 'explicit' }, 1))).toEqual(['refuse:maxLinks']);
    expect(kinds(p.handle({ type: 'inboundAttempt', connection: 4, node: 'gamma' }, 1))).toEqual(['refuse:maxLinks']);
  });

  it('maxDialsInFlight: further dials queue and start as slots free', () => {
    const p = policy({ reconnect: 'eager', peers: ['b', 'c', 'd'], limits: { maxDialsInFlight: 2 } });
    expect(kinds(p.handle({ type: 'start' }, 0))).toEqual(['dial:startup', 'dial:startup']);
    expect(p.state('d')?.phase).toBe('queued');
    expect(kinds(p.handle({ type: 'connectRequested', node: 'e', kind: 'explicit' }, 0))).toEqual(['wait:queued']);
    expect(p.handle({ type: 'connected', node: 'b', connection: 1, direction: 'out', incarnation: 1 }, 1)).toEqual([
      { type: 'dial', node: 'd', at: 1, attempt: 1, reason: 'startup' },
    ]);
    expect(kinds(p.handle({ type: 'dialFailed', node: 'c', reason: 'x' }, 2))).toEqual(['retry:dialFailed', 'dial:explicit']);
    expect(p.stats().dialsInFlight).toBe(2);
  });

  it('a queued auto dial whose node turned never is refused when its turn comes', () => {
    const p = policy({ limits: { maxDialsInFlight: 1 } });
    p.handle({ type: 'connectRequested', node: 'b', kind: 'auto' }, 0);
    expect(kinds(p.handle({ type: 'connectRequested', node: 'c', kind: 'auto' }, 0))).toEqual(['wait:queued']);
    p.handle({ type: 'configure', config: { modes: { c: 'never' } } }, 1);
    expect(p.handle({ type: 'dialFailed', node: 'b', reason: 'x' }, 2).filter((d) => d.node === 'c')).toEqual([
      { type: 'refuse', node: 'c', connection: null, reason: 'never' },
    ]);
    expect(p.state('c')?.phase).toBe('idle');
  });

  it('maxPendingInbound: unnamed inbound streams beyond the limit are refused', () => {
    const p = policy({ limits: { maxPendingInbound: 2 } });
    const d = [1, 2, 3].flatMap((c) => p.handle({ type: 'inboundAttempt', connection: c, address: '10.0.0.9:4000' }, 0));
    expect(kinds(d)).toEqual(['accept:pending', 'accept:pending', 'refuse:maxPendingInbound']);
    // Naming one (handshake done) or failing one frees its slot.
    p.handle({ type: 'inboundAttempt', connection: 1, node: 'beta' }, 1);
    p.handle({ type: 'inboundFailed', connection: 2, reason: 'handshake' }, 1);
    expect(p.stats().pendingInbound).toBe(0);
    expect(kinds(p.handle({ type: 'inboundAttempt', connection: 5 }, 2))).toEqual(['accept:pending']);
  });
});

describe('simultaneous connect and second connections', () => {
  it('dialling and an inbound from the same peer: the greater id keeps its own dial', () => {
    // alpha's id 0x09.. is greater than beta's 0x05..: alpha's outbound survives.
    const a = policy({ self: { name: 'alpha', id: idOf(9) } });
    a.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 0);
    expect(a.handle({ type: 'inboundAttempt', connection: 'b->a', node: 'beta', id: idOf(5), incarnation: 1 }, 1)).toEqual([
      { type: 'refuse', node: 'beta', connection: 'b->a', reason: 'simultaneous' },
    ]);
    // From beta's side the same pair of attempts: it gives up its own dial.
    const b = policy({ self: { name: 'beta', id: idOf(5) } });
    b.handle({ type: 'connectRequested', node: 'alpha', kind: 'auto' }, 0);
    b.handle({ type: 'dialStarted', node: 'alpha', connection: 'b->a' }, 0);
    expect(b.handle({ type: 'inboundAttempt', connection: 'a->b', node: 'alpha', id: idOf(9), incarnation: 1 }, 1)).toEqual([
      { type: 'cancel', node: 'alpha', connection: 'b->a', inFlight: true, reason: 'simultaneous' },
      { type: 'accept', node: 'alpha', connection: 'a->b', reason: 'simultaneous' },
    ]);
  });

  it('without ids the names decide, the greater name keeping its dial (as net_kernel)', () => {
    const a = policy({ self: { name: 'alpha' } });
    a.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 0);
    expect(kinds(a.handle({ type: 'inboundAttempt', connection: 1, node: 'beta' }, 1))).toEqual(['cancel:simultaneous', 'accept:simultaneous']);
    const z = policy({ self: { name: 'zulu' } });
    z.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 0);
    expect(kinds(z.handle({ type: 'inboundAttempt', connection: 1, node: 'beta' }, 1))).toEqual(['refuse:simultaneous']);
  });

  it('both connections up: keep one, close the other, the same one on both sides', () => {
    const a = policy({ self: { name: 'alpha', id: idOf(1) } });
    const b = policy({ self: { name: 'beta', id: idOf(2) } });
    a.handle({ type: 'connected', node: 'beta', connection: 'a->b', direction: 'out', incarnation: 1, id: idOf(2) }, 0);
    b.handle({ type: 'connected', node: 'alpha', connection: 'b->a', direction: 'out', incarnation: 1, id: idOf(1) }, 0);
    const da = a.handle({ type: 'connected', node: 'beta', connection: 'b->a', direction: 'in', incarnation: 1, id: idOf(2) }, 1);
    const db = b.handle({ type: 'connected', node: 'alpha', connection: 'a->b', direction: 'in', incarnation: 1, id: idOf(1) }, 1);
    // beta has the greater id: its outbound 'b->a' survives on both sides.
    expect(da).toEqual([
      { type: 'close', node: 'beta', connection: 'a->b', reason: 'simultaneous' },
      { type: 'keep', node: 'beta', connection: 'b->a', reason: 'simultaneous' },
    ]);
    expect(db).toEqual([
      { type: 'keep', node: 'alpha', connection: 'b->a', reason: 'simultaneous' },
      { type: 'close', node: 'alpha', connection: 'a->b', reason: 'simultaneous' },
    ]);
    expect(a.links().map((l) => l.connection)).toEqual(['b->a']);
    expect(b.links().map((l) => l.connection)).toEqual(['b->a']);
  });

  it('a restarted peer (higher incarnation) replaces the ghost of its old link, once the new one is up', () => {
    const p = policy({ mode: 'once' });
    linked(p, 'beta', 0, 'old', 4);
    // Until it has completed its handshake, the new connection disturbs nothing.
    expect(p.handle({ type: 'inboundAttempt', connection: 'new', node: 'beta', incarnation: 5 }, 1)).toEqual([
      { type: 'accept', node: 'beta', connection: 'new', reason: 'pending' },
    ]);
    expect(p.state('beta')?.connection).toBe('old');
    expect(p.handle({ type: 'connected', node: 'beta', connection: 'new', direction: 'in', incarnation: 5 }, 1)).toEqual([
      { type: 'close', node: 'beta', connection: 'old', reason: 'restarted' },
      { type: 'keep', node: 'beta', connection: 'new', reason: 'restarted' },
    ]);
    // A late report about the closed ghost changes nothing (no bar: the peer is back inbound).
    expect(p.handle({ type: 'disconnected', node: 'beta', connection: 'old', reason: 'closed' }, 2)).toEqual([]);
    expect(p.isBarred('beta')).toBe(false);
    expect(kinds(p.handle({ type: 'inboundAttempt', connection: 'older', node: 'beta', incarnation: 3 }, 3))).toEqual(['refuse:stale']);
  });

  it('always: an accepted inbound that dies before coming up does not lose our own redial', () => {
    // Found by the two-engine property: the inbound took the place of the planned redial, then
    // its stream closed, and neither side was left trying.
    const p = policy({ reconnect: 'eager', backoff: { base: 100 } });
    p.handle({ type: 'connectRequested', node: 'beta', kind: 'auto' }, 0);
    p.handle({ type: 'dialFailed', node: 'beta', reason: 'refused' }, 1);
    expect(kinds(p.handle({ type: 'inboundAttempt', connection: 7, node: 'beta' }, 2))).toEqual(['accept:allowed']);
    expect(kinds(p.handle({ type: 'disconnected', node: 'beta', connection: 7, reason: 'closed' }, 3))).toEqual(['retry:inboundFailed']);
    // An inbound we never asked for that dies is simply forgotten.
    p.handle({ type: 'inboundAttempt', connection: 8, node: 'gamma' }, 4);
    expect(p.handle({ type: 'disconnected', node: 'gamma', connection: 8, reason: 'closed' }, 5)).toEqual([]);
  });

  it('the peer redialling over an inbound link replaces it', () => {
    const p = policy();
    p.handle({ type: 'inboundAttempt', connection: 1, node: 'beta', incarnation: 1 }, 0);
    p.handle({ type: 'connected', node: 'beta', connection: 1, direction: 'in', incarnation: 1 }, 0);
    expect(kinds(p.handle({ type: 'inboundAttempt', connection: 2, node: 'beta', incarnation: 1 }, 1))).toEqual(['accept:pending']);
    expect(kinds(p.handle({ type: 'connected', node: 'beta', connection: 2, direction: 'in', incarnation: 1 }, 1))).toEqual([
      'close:replaced',
      'keep:replaced',
    ]);
  });
});

describe('events and time', () => {
  it('time must not go backwards', () => {
    const p = policy();
    p.handle({ type: 'tick' }, 10);
    let err: unknown;
    try {
      p.handle({ type: 'tick' }, 9);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: 'PolicyError', code: 'INVALID_TIME', key: 'now' });
    expect(() => p.handle({ type: 'tick' }, Number.NaN)).toThrow(/now must be/);
  });

  it('malformed events are PolicyErrors with the field', () => {
    const p = policy();
    const bad: unknown[] = [
      { type: 'nope' },
      { type: 'connectRequested', node: '', kind: 'auto' },
      { type: 'connectRequested', node: 'b', kind: 'sometimes' },
      { type: 'heard', node: 'b', incarnation: -1 },
      { type: 'connected', node: 'b', connection: 1, direction: 'sideways', incarnation: 1 },
      { type: 'connected', node: 'b', connection: 1, direction: 'in', incarnation: 1, id: 'abc' },
      { type: 'connectRequested', node: 'alpha', kind: 'auto' },
      null,
    ];
    for (const e of bad) {
      let err: unknown;
      try {
        p.handle(e as never, 0);
      } catch (x) {
        err = x;
      }
      expect(err).toMatchObject({ name: 'PolicyError' });
      expect((err as { code: string }).code).toMatch(/^INVALID_(EVENT|ID)$/);
    }
  });
});

describe('forget', () => {
  it('drops an idle peer entirely (its bar too); a peer with a link or a dial on its way is kept', () => {
    const p = policy({ mode: 'once' });
    linked(p, 'beta', 0);
    fails(p, 'beta', 10);
    expect(p.isBarred('beta')).toBe(true);
    p.handle({ type: 'forget', node: 'beta' }, 20);
    expect(p.state('beta')).toBeNull();
    expect(p.isBarred('beta')).toBe(false);
    expect(p.stats().peers).toBe(0);
    linked(p, 'gamma', 30);
    p.handle({ type: 'forget', node: 'gamma' }, 40);
    expect(p.state('gamma')?.phase).toBe('linked');
    p.handle({ type: 'connectRequested', node: 'delta', kind: 'explicit' }, 50);
    p.handle({ type: 'forget', node: 'delta' }, 60);
    expect(p.state('delta')?.phase).toBe('dialing');
  });
});
