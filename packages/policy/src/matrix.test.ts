// Every event under every mode: one row per (situation, event), the decisions expected under
// `always`, `once` and `never`. The baseline table's cells are rows here too (marked "table").
import { describe, expect, it } from 'vitest';
import type { Mode, Policy, PolicyEvent } from './index.ts';
import { kinds, policy } from './policy.test-support.ts';

type Row = {
  name: string;
  /** Brings a fresh engine (peer `beta`, mesh on, `beta` configured) into the situation. */
  setup: (p: Policy) => void;
  event: PolicyEvent;
  now?: number;
  /** Under `always`, `once`, `never` with the default `reconnect: 'on-demand'` (OTP). */
  expect: Record<Mode, string[]>;
  /** Under `always` with `reconnect: 'eager'`, when it differs from on-demand. */
  eager?: string[];
};

const same = (k: string[]): Record<Mode, string[]> => ({ always: k, once: k, never: k });
const explicitDial = (p: Policy) => p.handle({ type: 'connectRequested', node: 'beta', kind: 'explicit' }, 0);
const linkUp = (p: Policy) => {
  explicitDial(p);
  p.handle({ type: 'connected', node: 'beta', connection: 'l1', direction: 'out', incarnation: 1 }, 0);
};
const linkFailed = (p: Policy) => {
  linkUp(p);
  // The link lived past stableAfter (default 60 s): under always the next need dials at once.
  p.handle({ type: 'disconnected', node: 'beta', connection: 'l1', reason: 'tickTimeout' }, 100_000);
};
const dialFailed = (p: Policy) => {
  p.handle({ type: 'heard', node: 'beta', incarnation: 1 }, 0);
  explicitDial(p);
  p.handle({ type: 'dialFailed', node: 'beta', reason: 'refused' }, 0);
};
const none = () => {};

const rows: Row[] = [
  { name: 'start, beta configured', setup: none, event: { type: 'start' }, expect: { always: ['dial:startup'], once: ['dial:startup'], never: [] } },
  { name: 'configure denying a linked peer', setup: linkUp, event: { type: 'configure', config: { deny: ['beta'] } }, expect: same(['violation:denied']) },
  { name: 'table: auto connect, unconnected', setup: none, event: { type: 'connectRequested', node: 'beta', kind: 'auto' }, expect: { always: ['dial:auto'], once: ['dial:auto'], never: ['drop:never'] } },
  { name: 'auto connect, linked', setup: linkUp, event: { type: 'connectRequested', node: 'beta', kind: 'auto' }, expect: { always: ['ready:linked'], once: ['ready:linked'], never: ['drop:never'] } },
  { name: 'auto connect, dialling', setup: explicitDial, event: { type: 'connectRequested', node: 'beta', kind: 'auto' }, expect: { always: ['wait:dialing'], once: ['wait:dialing'], never: ['drop:never'] } },
  { name: 'table: auto connect after the link failed', setup: linkFailed, event: { type: 'connectRequested', node: 'beta', kind: 'auto' }, now: 100_001, expect: { always: ['dial:auto'], once: ['drop:barred'], never: ['drop:never'] } },
  { name: 'table: explicit connect, unconnected', setup: none, event: { type: 'connectRequested', node: 'beta', kind: 'explicit' }, expect: same(['dial:explicit']) },
  { name: 'table: explicit connect after the link failed', setup: linkFailed, event: { type: 'connectRequested', node: 'beta', kind: 'explicit' }, now: 100_001, expect: { always: ['dial:explicit'], once: ['unbarred:explicit', 'dial:explicit'], never: ['dial:explicit'] } },
  { name: 'explicit connect, linked', setup: linkUp, event: { type: 'connectRequested', node: 'beta', kind: 'explicit' }, expect: same(['ready:linked']) },
  { name: 'dialStarted', setup: explicitDial, event: { type: 'dialStarted', node: 'beta', connection: 'd1' }, expect: same([]) },
  { name: 'dialFailed', setup: explicitDial, event: { type: 'dialFailed', node: 'beta', reason: 'refused' }, expect: { always: [], once: [], never: [] }, eager: ['retry:dialFailed'] },
  { name: 'connected, outbound', setup: explicitDial, event: { type: 'connected', node: 'beta', connection: 'l1', direction: 'out', incarnation: 1 }, expect: same([]) },
  { name: 'table: the link fails', setup: linkUp, event: { type: 'disconnected', node: 'beta', connection: 'l1', reason: 'tickTimeout' }, expect: { always: [], once: ['barred:linkFailed'], never: [] }, eager: ['retry:linkFailed'] },
  { name: 'the link is closed on purpose (disconnect_node, leave)', setup: linkUp, event: { type: 'disconnected', node: 'beta', connection: 'l1', reason: 'disconnect', deliberate: true }, expect: { always: [], once: ['barred:linkFailed'], never: [] }, eager: [] },
  { name: 'disconnected, unknown connection', setup: linkUp, event: { type: 'disconnected', node: 'beta', connection: 'zz', reason: 'closed' }, expect: same([]) },
  { name: 'inbound stream, peer not named yet', setup: none, event: { type: 'inboundAttempt', connection: 'i1', address: '10.0.0.2:9000' }, expect: same(['accept:pending']) },
  { name: 'table: inbound from the peer', setup: none, event: { type: 'inboundAttempt', connection: 'i1', node: 'beta', incarnation: 1 }, expect: same(['accept:allowed']) },
  { name: 'table: inbound from the peer after the link failed', setup: linkFailed, event: { type: 'inboundAttempt', connection: 'i1', node: 'beta', incarnation: 2 }, now: 100_001, expect: { always: ['accept:allowed'], once: ['unbarred:inbound', 'accept:allowed'], never: ['accept:allowed'] } },
  { name: 'inboundFailed', setup: (p) => p.handle({ type: 'inboundAttempt', connection: 'i1' }, 0), event: { type: 'inboundFailed', connection: 'i1', reason: 'handshake' }, expect: same([]) },
  { name: 'heard, same incarnation', setup: linkUp, event: { type: 'heard', node: 'beta', incarnation: 1 }, expect: same([]) },
  { name: 'heard, new incarnation after a failed dial', setup: dialFailed, event: { type: 'heard', node: 'beta', incarnation: 2 }, expect: { always: [], once: [], never: [] }, eager: ['dial:restarted'] },
  { name: 'table: heard, restarted after the link failed', setup: linkFailed, event: { type: 'heard', node: 'beta', incarnation: 2 }, now: 100_001, expect: { always: [], once: [], never: [] }, eager: ['dial:restarted'] },
  { name: 'learned (mesh on)', setup: none, event: { type: 'learned', node: 'beta', via: 'gamma' }, expect: { always: ['dial:mesh'], once: ['dial:mesh'], never: ['ignore:never'] } },
  { name: 'learned after the link failed', setup: linkFailed, event: { type: 'learned', node: 'beta', via: 'gamma' }, now: 100_001, expect: { always: ['dial:mesh'], once: ['ignore:barred'], never: ['ignore:never'] } },
  { name: 'tick long after a failed dial', setup: dialFailed, event: { type: 'tick' }, now: 1_000_000, expect: { always: [], once: [], never: [] }, eager: ['dial:redial'] },
  { name: 'tick long after the link failed', setup: linkFailed, event: { type: 'tick' }, now: 1_000_000, expect: { always: [], once: [], never: [] }, eager: ['dial:redial'] },
];

const cases = rows.flatMap((r) => (['always', 'once', 'never'] as const).map((mode) => [r.name, mode, r] as const));

describe('every event under every mode (reconnect on-demand, the default)', () => {
  it.each(cases)('%s under %s', (_name: string, mode: Mode, row: Row) => {
    const p = policy({ mode, peers: ['beta'], mesh: true });
    row.setup(p);
    expect(kinds(p.handle(row.event, row.now ?? 0))).toEqual(row.expect[mode]);
  });
});

describe('every event under always with reconnect: eager', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name: string, row: Row) => {
    const p = policy({ mode: 'always', reconnect: 'eager', peers: ['beta'], mesh: true });
    row.setup(p);
    expect(kinds(p.handle(row.event, row.now ?? 0))).toEqual(row.eager ?? row.expect.always);
  });
});
