// The scenarios of the differential test (issue 12's table), each written once against the
// System / ControlledNode shape and run unchanged against real OTP nodes and distkit kernels.
// A scenario records observations (step, value); the test compares them step by step.
//
// Every wait is either a deadline on something expected (an event, a link) or, where the row is
// about something NOT happening ("nothing redials by itself"), a stated idle time that is part of
// the row's definition (2.5 s after a disconnect, as in the issue).
import type { ControlledNode, LinkEvent, Mode, System } from './controlled-node.test-support.ts';

/** OTP's net_ticktime for every scenario (whole seconds: OTP takes seconds), and distkit's tickTimeMs. */
export const TICK_TIME_MS = 4000;
/** OTP's (and distkit's default) net_tickintensity. */
export const TICK_INTENSITY = 4;
/** How long a send waits for the peer's reply before it counts as `timeout`. */
export const SEND_TIMEOUT_MS = 3000;
/** The idle time of the "nothing redials by itself" rows, from the issue. */
export const IDLE_MS = 2500;

export interface Observation {
  readonly step: string;
  /** What is compared (after the documented mapping, for a `reason`). */
  readonly value: string;
  /** `reason`: a nodedown reason, compared through the test's mapping of reason names. */
  readonly kind?: 'reason';
  /** What the table shows when it says more than `value` (a measured time, an error code). */
  readonly shown?: string;
}

export interface Scenario {
  /** The row of the issue's table this measures (with the mode, where the row has several). */
  readonly row: string;
  readonly names: readonly string[];
  /** Links go through a relay the test controls (to cut the network between two nodes). */
  readonly relay?: boolean;
  /**
   * What OTP answers, step by step, per the issue's reference table: the OTP run must reproduce
   * it (a check of the oracle and of this harness, independent of distkit).
   */
  readonly reference: readonly string[];
  run(system: System, see: (o: Observation) => void): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * OTP re-makes a dropped link on the send that needs it: its reply is back in milliseconds
 * (2..30 ms measured here), where a redial after a backoff takes up to seconds. The bound is
 * loose on purpose, for a loaded test machine; a backoff shorter than it goes unnoticed by this
 * step (full jitter can be), but not by the idle rows, where any redial by itself shows.
 */
export const AT_ONCE_MS = 1000;

async function send(see: (o: Observation) => void, from: ControlledNode, to: string, options: { label?: string; atOnce?: boolean } = {}): Promise<void> {
  const t0 = performance.now();
  const r = await from.send(to, SEND_TIMEOUT_MS);
  const ms = performance.now() - t0;
  const value = r.result === 'ok' && options.atOnce && ms > AT_ONCE_MS ? 'ok, not at once' : r.result;
  const why = r.result === 'ok' ? `${ms.toFixed(0)} ms` : r.detail;
  see({ step: options.label ?? `${from.name}: send to ${to}`, value, ...(why ? { shown: `${value} (${why})` } : {}) });
}

async function connect(see: (o: Observation) => void, from: ControlledNode, to: string): Promise<void> {
  see({ step: `${from.name}: connect ${to}`, value: String(await from.connect(to)) });
}

async function disconnect(see: (o: Observation) => void, from: ControlledNode, to: string): Promise<void> {
  see({ step: `${from.name}: disconnect ${to}`, value: String(await from.disconnect(to)) });
}

/** The first nodedown of `peer` on `node` after `since` (performance.now()), or null past `ms`. */
async function nodedown(node: ControlledNode, peer: string, since: number, ms: number): Promise<LinkEvent | null> {
  return node.waitEvent(`nodedown ${peer}`, (e) => e.event === 'nodedown' && e.node === peer && e.at >= since, ms).catch(() => null);
}

async function seeNodedown(see: (o: Observation) => void, node: ControlledNode, peer: string, since: number, ms = 10_000): Promise<LinkEvent | null> {
  const e = await nodedown(node, peer, since, ms);
  see({ step: `${node.name}: nodedown ${peer}`, value: e?.reason ?? `none within ${ms / 1000} s`, kind: 'reason' });
  return e;
}

async function seeLinks(see: (o: Observation) => void, node: ControlledNode): Promise<void> {
  const l = await node.nodes();
  see({ step: `${node.name}: nodes(connected)`, value: `[${l.connected.join(',')}]` });
}

/** Polls until `cond` holds or `ms` pass; true if it held. */
async function eventually(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (performance.now() > deadline) return false;
    await sleep(100);
  }
}

const MODES: readonly Mode[] = ['always', 'once', 'never'];

function modeSteps(mode: Mode): Scenario {
  return {
    row: `${mode}: send to unconnected B; disconnect; send; connect_node; send`,
    reference: {
      always: ['ok', 'true', 'ok', 'true', 'ok'],
      once: ['ok', 'true', 'timeout', 'true', 'ok'],
      never: ['timeout', 'false', 'timeout', 'true', 'ok'],
    }[mode],
    names: ['a', 'b'],
    async run(sys, see) {
      const a = await sys.start('a', { mode });
      await sys.start('b');
      await send(see, a, 'b');
      await disconnect(see, a, 'b');
      await send(see, a, 'b', { atOnce: true });
      await connect(see, a, 'b');
      await send(see, a, 'b');
    },
  };
}

function idleAfterDisconnect(mode: Mode): Scenario {
  return {
    row: `${mode}: ${IDLE_MS / 1000} s idle after disconnect_node`,
    reference: ['true', 'true', '[]', '[]'],
    names: ['a', 'b'],
    async run(sys, see) {
      const [a, b] = await Promise.all([sys.start('a', { mode }), sys.start('b', { mode })]);
      await connect(see, a, 'b');
      // Let OTP's `global` finish the sync a new connection starts: a sync message still in flight
      // after the disconnect re-makes the link under `always` (an auto-connect), which is not the
      // idle case this row is about. Seen on a loaded machine.
      await sleep(500);
      await disconnect(see, a, 'b');
      await sleep(IDLE_MS);
      await seeLinks(see, a);
      await seeLinks(see, b);
    },
  };
}

const onceRestart: Scenario = {
  row: 'once: B restarts (same name)',
  reference: ['ok', 'connection_closed', 'timeout', 'true', 'ok'],
  names: ['a', 'b'],
  async run(sys, see) {
    const a = await sys.start('a', { mode: 'once' });
    const b = await sys.start('b', { mode: 'once' });
    await send(see, a, 'b');
    const t0 = performance.now();
    await b.stop(); // graceful: OTP's init:stop(), distkit's node.stop()
    await seeNodedown(see, a, 'b', t0);
    await sys.start('b', { mode: 'once' });
    await sleep(1000); // the new B has been up for a second (distkit: several heartbeats)
    await send(see, a, 'b');
    await connect(see, a, 'b');
    await send(see, a, 'b');
  },
};

const alwaysRestart: Scenario = {
  row: 'always: B restarts, no traffic',
  reference: ['ok', 'connection_closed', '[]', '[]', 'ok'],
  names: ['a', 'b'],
  async run(sys, see) {
    const a = await sys.start('a', { mode: 'always' });
    const b = await sys.start('b', { mode: 'always' });
    await send(see, a, 'b');
    const t0 = performance.now();
    await b.stop();
    await seeNodedown(see, a, 'b', t0);
    const b2 = await sys.start('b', { mode: 'always' });
    await sleep(IDLE_MS);
    await seeLinks(see, a);
    await seeLinks(see, b2);
    await send(see, a, 'b', { atOnce: true });
  },
};

function connectsIn(mode: 'once' | 'never'): Scenario {
  return {
    row: `${mode}: B connects in`,
    reference: mode === 'once'
      ? ['ok', 'true', 'timeout', 'true', 'ok', 'true', 'timeout']
      : ['timeout', 'true', 'ok', 'true', 'timeout'],
    names: ['a', 'b'],
    async run(sys, see) {
      const a = await sys.start('a', { mode });
      const b = await sys.start('b', { mode: 'always' });
      if (mode === 'once') {
        // Use up A's one automatic connection, then drop it: A is barred from B.
        await send(see, a, 'b');
        await disconnect(see, a, 'b');
      }
      await send(see, a, 'b', { label: 'a: send to b (before B connects in)' });
      await connect(see, b, 'a');
      await send(see, a, 'b', { label: 'a: send to b (on the link B made)' });
      const t0 = performance.now();
      await disconnect(see, b, 'a');
      await nodedown(a, 'b', t0, 5000);
      await send(see, a, 'b', { label: 'a: send to b (after that link dropped)' });
    },
  };
}

const hiddenNode: Scenario = {
  row: 'hidden node H linked to A (A–B linked too)',
  reference: ['true', 'true', '[b]', '[h]', '[a]', '[]', '[]', '[a]'],
  names: ['a', 'b', 'h'],
  async run(sys, see) {
    const [a, b, h] = await Promise.all([sys.start('a'), sys.start('b'), sys.start('h', { hidden: true })]);
    await connect(see, a, 'b');
    await connect(see, h, 'a');
    await sleep(1000); // room for any transitive connection to happen (it must not, for H)
    for (const n of [a, b, h]) {
      const l = await n.nodes();
      see({ step: `${n.name}: nodes()`, value: `[${l.visible.join(',')}]` });
      see({ step: `${n.name}: nodes(hidden)`, value: `[${l.hidden.join(',')}]` });
    }
  },
};

const linkedTo = async (n: ControlledNode, peer: string): Promise<boolean> => (await n.nodes()).connected.includes(peer);

function transitive(mode: Mode): Scenario {
  return {
    row: `${mode}: A connects to B, B is linked to C`,
    reference: mode === 'never' ? ['true', 'true', 'no', 'no (one dropped)'] : ['true', 'true', 'yes'],
    names: ['a', 'b', 'c'],
    async run(sys, see) {
      const [a, b, c] = await Promise.all([sys.start('a', { mode }), sys.start('b', { mode }), sys.start('c', { mode })]);
      await connect(see, b, 'c');
      await connect(see, a, 'b');
      if (mode !== 'never') {
        const meshed = await eventually(async () => (await linkedTo(a, 'c')) && (await linkedTo(c, 'a')), 5000);
        see({ step: 'a–c linked (within 5 s)', value: meshed ? 'yes' : 'no' });
      } else {
        // OTP 25 (prevent_overlapping_partitions): a partial mesh is not kept.
        const partial = async () => (await linkedTo(a, 'b')) && (await linkedTo(b, 'c'));
        const resolved = await eventually(async () => !(await partial()), 5000);
        see({ step: 'a–c linked', value: (await linkedTo(a, 'c')) ? 'yes' : 'no' });
        const kept = [(await linkedTo(a, 'b')) ? 'a–b' : '', (await linkedTo(b, 'c')) ? 'b–c' : ''].filter(Boolean);
        see({
          step: 'a–b and b–c both kept (5 s)',
          value: resolved ? 'no (one dropped)' : 'yes',
          shown: `${resolved ? 'no (one dropped)' : 'yes'}; left: ${kept.join(', ') || 'none'}`,
        });
      }
    },
  };
}

/** kill -9 is noticed at once by both systems (the OS closes the socket); this bounds "at once". */
const KILL_NOTICED_MS = 1000;

const reasons: Scenario = {
  row: 'nodedown reasons (monitor_nodes with nodedown_reason)',
  reference: ['true', 'true', 'disconnect', 'connection_closed', 'true', 'connection_closed', 'yes'],
  names: ['a', 'b'],
  async run(sys, see) {
    const [a, b] = await Promise.all([sys.start('a'), sys.start('b')]);
    await connect(see, a, 'b');
    let t0 = performance.now();
    await disconnect(see, a, 'b');
    await seeNodedown(see, a, 'b', t0, 5000);
    await seeNodedown(see, b, 'a', t0, 5000);
    await connect(see, a, 'b');
    t0 = performance.now();
    b.signal('SIGKILL');
    const e = await nodedown(a, 'b', t0, 10_000);
    see({ step: 'a: nodedown b after kill -9 b', value: e?.reason ?? 'none within 10 s', kind: 'reason' });
    const ms = e ? e.at - t0 : Infinity;
    see({ step: `noticed within ${KILL_NOTICED_MS} ms`, value: ms < KILL_NOTICED_MS ? 'yes' : 'no', shown: `${ms < KILL_NOTICED_MS ? 'yes' : 'no'} (${e ? `${ms.toFixed(0)} ms` : 'never'})` });
  },
};

/**
 * When a node notices a peer that stopped (SIGSTOP), counted from the freeze. OTP's kernel docs
 * give TickTime - TickTime/TickIntensity .. TickTime + TickTime/TickIntensity (45..75 s for the
 * default 60), but that counts from the peer's last write, not from the freeze. From OTP 25's
 * dist_util (send_tick/need_to_tick, a fact of the reference, not code taken from it): every
 * T/I each side checks its connection; the peer is down at the I-th check after the last one
 * that saw bytes arrive, so T to T + T/I after that arrival. A side writes a tick at a check only
 * if it wrote nothing since the previous one, so a peer that sent other data just after a check
 * (global's name sync after a connect does) writes its next bytes two checks later: its last
 * write before the freeze can be up to 2T/I old. Hence T - 2T/I .. T + T/I from the freeze,
 * 2..5 s here; widened by 250 ms below (the timers' phase) and 500 ms above (a loaded test
 * machine). Sampled on both systems: 3.0..4.9 s, and once 2.74 s for OTP (CI, 2026-12-01), under
 * the older T - T/I bound.
 */
export const TICK_WINDOW_MS: readonly [number, number] = [
  TICK_TIME_MS - (2 * TICK_TIME_MS) / TICK_INTENSITY - 250,
  TICK_TIME_MS + TICK_TIME_MS / TICK_INTENSITY + 500,
];

const frozen: Scenario = {
  row: `peer frozen (SIGSTOP), net_ticktime ${TICK_TIME_MS / 1000}`,
  reference: ['true', 'net_tick_timeout', 'yes'],
  names: ['a', 'b'],
  async run(sys, see) {
    const [a, b] = await Promise.all([sys.start('a'), sys.start('b')]);
    await connect(see, a, 'b');
    await sleep(1500); // an idle, ticking link
    const t0 = performance.now();
    b.signal('SIGSTOP');
    try {
      const e = await nodedown(a, 'b', t0, 15_000);
      see({ step: 'a: nodedown b', value: e?.reason ?? 'none within 15 s', kind: 'reason' });
      const ms = e ? e.at - t0 : Infinity;
      const inWindow = ms >= TICK_WINDOW_MS[0] && ms <= TICK_WINDOW_MS[1];
      see({
        step: `noticed within ${TICK_WINDOW_MS[0] / 1000}–${TICK_WINDOW_MS[1] / 1000} s`,
        value: inWindow ? 'yes' : 'no',
        shown: `${inWindow ? 'yes' : 'no'} (${e ? `${(ms / 1000).toFixed(2)} s` : 'never'})`,
      });
    } finally {
      b.signal('SIGCONT');
    }
  },
};

const seedCase: Scenario = {
  row: 'seed case: once, link lost across a partition, network heals',
  reference: ['ok', 'net_tick_timeout', 'net_tick_timeout', '[]', '[]', 'timeout', 'timeout'],
  names: ['a', 'b'],
  relay: true,
  async run(sys, see) {
    const [a, b] = await Promise.all([sys.start('a', { mode: 'once' }), sys.start('b', { mode: 'once' })]);
    await send(see, a, 'b');
    const t0 = performance.now();
    sys.stall(['a'], ['b']); // a pulled cable: connections open, nothing gets through
    const [ea, eb] = await Promise.all([nodedown(a, 'b', t0, 15_000), nodedown(b, 'a', t0, 15_000)]);
    see({ step: 'a: nodedown b', value: ea?.reason ?? 'none within 15 s', kind: 'reason' });
    see({ step: 'b: nodedown a', value: eb?.reason ?? 'none within 15 s', kind: 'reason' });
    sys.heal();
    await sleep(1500); // the network has been whole again for 1.5 s (distkit: heartbeats flow again)
    await seeLinks(see, a);
    await seeLinks(see, b);
    await send(see, a, 'b');
    await send(see, b, 'a');
  },
};

export const SCENARIOS: readonly Scenario[] = [
  ...MODES.map(modeSteps),
  ...MODES.map(idleAfterDisconnect),
  onceRestart,
  alwaysRestart,
  connectsIn('once'),
  connectsIn('never'),
  hiddenNode,
  transitive('always'),
  transitive('once'),
  transitive('never'),
  reasons,
  frozen,
  seedCase,
];
