// Model-based tests: random command sequences drive the engine through a fake kernel that obeys
// its decisions, while a small reference model of the Erlang rules (who is barred, what may be
// dialled) checks every step. The seed is printed; replay with FC_SEED=<seed>.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPolicy, type Decision, type Mode, type Policy, type PolicyEvent } from './index.ts';
import { prng, seeded } from './policy.test-support.ts';

const NODES = ['b', 'c'] as const;
type Node = (typeof NODES)[number];
const node = fc.constantFrom<Node>(...NODES);
const mode = fc.constantFrom<Mode>('always', 'once', 'never');
const CAP = 5_000;

type Command =
  | { c: 'send' | 'connect' | 'dialOk' | 'dialFail' | 'inbound' | 'inboundUp' | 'linkDown' | 'restart' | 'heard'; n: Node }
  | { c: 'learned'; n: Node; via: Node }
  | { c: 'advance'; ms: number }
  | { c: 'setMode'; n: Node; mode: Mode }
  | { c: 'setLists'; deny: Node[]; allow: Node[] | null };

const on = (c: 'send' | 'connect' | 'dialOk' | 'dialFail' | 'inbound' | 'inboundUp' | 'linkDown' | 'restart' | 'heard') =>
  node.map((n): Command => ({ c, n }));
// Weighted towards the commands that move a link through its life (need, dial, up, down), on few
// nodes, so that sequences like "send, up, down, send" under `once` come up often.
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: on('send') },
  { weight: 2, arbitrary: on('connect') },
  { weight: 5, arbitrary: on('dialOk') },
  { weight: 2, arbitrary: on('dialFail') },
  { weight: 2, arbitrary: on('inbound') },
  { weight: 2, arbitrary: on('inboundUp') },
  { weight: 4, arbitrary: on('linkDown') },
  { weight: 1, arbitrary: on('restart') },
  { weight: 1, arbitrary: on('heard') },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('learned' as const), n: node, via: node }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 8_000 }) }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('setMode' as const), n: node, mode }) },
  {
    weight: 1,
    arbitrary: fc.record({
      c: fc.constant('setLists' as const),
      deny: fc.subarray([...NODES]),
      allow: fc.option(fc.subarray([...NODES]), { nil: null }),
    }).map((l): Command => ({ ...l, allow: l.allow === null ? null : l.allow.filter((n) => !l.deny.includes(n)) })),
  },
);

const setup = fc.record({
  mode,
  overrides: fc.dictionary(node, mode, { maxKeys: 2 }),
  peers: fc.subarray([...NODES]),
  mesh: fc.boolean(),
  maxDialsInFlight: fc.integer({ min: 1, max: 3 }),
  maxLinks: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 2 })),
  hidden: fc.subarray([...NODES], { maxLength: 1 }),
  seed: fc.integer(),
});

type Setup = typeof setup extends fc.Arbitrary<infer T> ? T : never;

interface Conn {
  node: Node;
  dir: 'in' | 'out';
  up: boolean;
}

/** Drives one engine like a kernel would, checking invariants after every event. */
class Harness {
  readonly p: Policy;
  now = 0;
  nextConn = 1;
  readonly dialing = new Set<Node>();
  readonly conns = new Map<number, Conn>();
  readonly inc: Record<Node, number> = { b: 1, c: 1 };
  // The reference model.
  readonly barred: Record<Node, boolean> = { b: false, c: false };
  modes: Record<Node, Mode>;
  deny = new Set<Node>();
  allow: Set<Node> | null = null;
  readonly explicitOutstanding = new Set<Node>();
  readonly hidden: Set<Node>;

  constructor(s: Setup) {
    this.modes = { b: s.overrides.b ?? s.mode, c: s.overrides.c ?? s.mode };
    this.hidden = new Set(s.hidden);
    this.p = createPolicy(
      {
        self: { name: 'a' },
        mode: s.mode,
        modes: s.overrides,
        peers: s.peers,
        mesh: s.mesh,
        backoff: { base: 100, factor: 2, cap: CAP, stableAfter: 10_000 },
        hidden: s.hidden,
        limits: { maxDialsInFlight: s.maxDialsInFlight, maxLinks: s.maxLinks },
      },
      { random: prng(s.seed) },
    );
  }

  permitted(n: Node): boolean {
    return !this.deny.has(n) && (this.allow === null || this.allow.has(n));
  }

  upConn(n: Node): number | undefined {
    for (const [id, c] of this.conns) if (c.node === n && c.up) return id;
    return undefined;
  }

  /** Feeds an event, checks the decisions against the model, and carries them out. */
  /** `settle` lets the model take in what it can only know from the decisions (a limit). */
  feed(event: PolicyEvent, settle?: (ds: readonly Decision[]) => void): readonly Decision[] {
    const barredBefore = { ...this.barred };
    const ds = this.p.handle(event, this.now);
    settle?.(ds);
    const follow: PolicyEvent[] = [];
    for (const d of ds) {
      switch (d.type) {
        case 'dial': {
          const n = d.node as Node;
          const explicit = d.reason === 'explicit';
          // Under never, no dial without an explicit request.
          if (this.modes[n] === 'never') expect(explicit && this.explicitOutstanding.has(n)).toBe(true);
          // A barred node is never auto-dialled.
          if (!explicit) expect(barredBefore[n]).toBe(false);
          expect(this.permitted(n)).toBe(true);
          expect(this.dialing.has(n)).toBe(false);
          this.dialing.add(n);
          break;
        }
        case 'retry':
          expect(d.at - this.now).toBeGreaterThanOrEqual(0);
          expect(d.at - this.now).toBeLessThanOrEqual(CAP);
          expect(this.modes[d.node as Node]).toBe('always');
          break;
        case 'cancel':
          if (d.inFlight) {
            expect(this.dialing.has(d.node as Node)).toBe(true);
            this.dialing.delete(d.node as Node);
            this.explicitOutstanding.delete(d.node as Node);
          }
          break;
        case 'close': {
          const c = this.conns.get(d.connection as number);
          expect(c?.node).toBe(d.node);
          this.conns.delete(d.connection as number);
          // Reports about a connection the engine told us to close are ignored.
          follow.push({ type: 'disconnected', node: d.node, connection: d.connection, reason: 'closed' });
          break;
        }
        case 'refuse':
          if (d.connection !== null) this.conns.delete(d.connection as number);
          break;
        case 'violation':
          // This kernel closes links that break the lists (after this batch).
          follow.push({ type: 'disconnected', node: d.node, connection: d.connection, reason: 'policy' });
          break;
        case 'barred':
          expect(this.modes[d.node as Node]).toBe('once');
          break;
        default:
          break;
      }
    }
    this.checkInvariants();
    for (const e of follow) {
      if (e.type === 'disconnected' && e.reason === 'closed') expect(this.p.handle(e, this.now)).toEqual([]);
      else {
        const c = this.conns.get((e as { connection: number }).connection);
        this.conns.delete((e as { connection: number }).connection);
        // An accepted inbound that never came up is not a link failure.
        if (c?.up) this.linkFailed(e as Extract<PolicyEvent, { type: 'disconnected' }>);
        else this.feed(e);
      }
    }
    return ds;
  }

  /** A link that was up went down: the model bars it under once. */
  linkFailed(e: Extract<PolicyEvent, { type: 'disconnected' }>): void {
    const n = e.node as Node;
    if (this.modes[n] === 'once') this.barred[n] = true;
    this.feed(e);
  }

  checkInvariants(): void {
    for (const n of NODES) {
      const s = this.p.state(n);
      const up = [...this.conns.values()].filter((c) => c.node === n && c.up);
      // At most one surviving link per pair.
      expect(up.length).toBeLessThanOrEqual(1);
      expect(s?.phase === 'linked').toBe(up.length === 1);
      if (up.length === 1) expect(s?.connection).toBe(this.upConn(n));
      expect(s?.phase === 'dialing').toBe(this.dialing.has(n));
      expect(this.p.isBarred(n)).toBe(this.barred[n]);
      if (this.barred[n]) expect(s?.phase).toBe('idle');
    }
    const links = this.p.links();
    expect(new Set(links.map((l) => l.node)).size).toBe(links.length);
    expect(this.p.stats().dialsInFlight).toBe(this.dialing.size);
    expect(this.dialing.size).toBeLessThanOrEqual(this.p.config.limits.maxDialsInFlight);
    const st = this.p.stats();
    expect(st.links + st.accepting + st.dialsInFlight).toBeLessThanOrEqual(this.p.config.limits.maxLinks);
  }

  run(cmd: Command): void {
    switch (cmd.c) {
      case 'send': {
        const ds = this.feed({ type: 'connectRequested', node: cmd.n, kind: 'auto', message: 'm' });
        const expected = this.modes[cmd.n] === 'never' ? 'never' : this.barred[cmd.n] && this.modes[cmd.n] === 'once' ? 'barred'
          : this.deny.has(cmd.n) ? 'denied' : !this.permitted(cmd.n) ? 'notAllowed' : null;
        // With nothing in the way but a full maxLinks, the drop says so.
        if (expected === null) expect(ds.filter((d) => d.type === 'drop').every((d) => d.reason === 'maxLinks')).toBe(true);
        else expect(ds).toEqual([{ type: 'drop', node: cmd.n, message: 'm', reason: expected }]);
        return;
      }
      case 'connect':
        if (this.permitted(cmd.n)) this.explicitOutstanding.add(cmd.n);
        this.feed({ type: 'connectRequested', node: cmd.n, kind: 'explicit' }, (ds) => {
          // An explicit connect lifts the bar, unless it was refused (lists or maxLinks).
          if (ds.some((d) => d.type === 'refuse')) this.explicitOutstanding.delete(cmd.n);
          else this.barred[cmd.n] = false;
        });
        return;
      case 'dialOk':
        if (!this.dialing.has(cmd.n)) return;
        this.dialing.delete(cmd.n);
        this.explicitOutstanding.delete(cmd.n);
        this.conns.set(this.nextConn, { node: cmd.n, dir: 'out', up: true });
        this.feed({ type: 'connected', node: cmd.n, connection: this.nextConn++, direction: 'out', incarnation: this.inc[cmd.n] });
        return;
      case 'dialFail':
        if (!this.dialing.has(cmd.n)) return;
        this.dialing.delete(cmd.n);
        this.explicitOutstanding.delete(cmd.n);
        this.feed({ type: 'dialFailed', node: cmd.n, reason: 'refused' });
        return;
      case 'inbound': {
        const id = this.nextConn++;
        this.conns.set(id, { node: cmd.n, dir: 'in', up: false });
        const ds = this.feed({ type: 'inboundAttempt', connection: id, node: cmd.n, incarnation: this.inc[cmd.n] }, (ds) => {
          // An accepted inbound lifts the bar; a refused one (lists, maxLinks) does not.
          if (ds.some((d) => d.type === 'accept' && d.connection === id)) {
            expect(this.permitted(cmd.n)).toBe(true);
            this.barred[cmd.n] = false;
          }
        });
        // Every mode accepts inbound from an allowed peer that has no other connection.
        if (this.permitted(cmd.n) && this.p.state(cmd.n)?.connection === id) {
          expect(ds.some((d) => d.type === 'accept' && d.connection === id)).toBe(true);
        }
        return;
      }
      case 'inboundUp':
        for (const [id, c] of this.conns) {
          if (c.node === cmd.n && !c.up) {
            c.up = true;
            // An inbound link that comes up and stays lifts the bar (net_kernel: the connection
            // entry replaces the barred one), also when it was accepted while another link lived.
            this.feed({ type: 'connected', node: cmd.n, connection: id, direction: 'in', incarnation: this.inc[cmd.n] }, (ds) => {
              if (!ds.some((d) => (d.type === 'close' || d.type === 'refuse') && d.connection === id)) this.barred[cmd.n] = false;
            });
            return;
          }
        }
        return;
      case 'linkDown': {
        const id = this.upConn(cmd.n);
        if (id === undefined) return;
        this.conns.delete(id);
        this.linkFailed({ type: 'disconnected', node: cmd.n, connection: id, reason: 'tickTimeout' });
        return;
      }
      case 'restart':
        this.inc[cmd.n]++;
        this.feed({ type: 'heard', node: cmd.n, incarnation: this.inc[cmd.n] });
        return;
      case 'heard':
        this.feed({ type: 'heard', node: cmd.n, incarnation: this.inc[cmd.n] });
        return;
      case 'learned': {
        const ds = this.feed({ type: 'learned', node: cmd.n, via: cmd.via });
        // Hidden nodes are never reached through the mesh, nor is what they tell us.
        if (this.hidden.has(cmd.n) || this.hidden.has(cmd.via)) expect(ds.some((d) => d.type === 'dial')).toBe(false);
        return;
      }
      case 'advance':
        this.now += cmd.ms;
        this.feed({ type: 'tick' });
        return;
      case 'setMode':
        this.modes[cmd.n] = cmd.mode;
        if (cmd.mode !== 'once') this.barred[cmd.n] = false;
        this.feed({ type: 'configure', config: { modes: { ...this.modes } } });
        return;
      case 'setLists':
        this.deny = new Set(cmd.deny);
        this.allow = cmd.allow === null ? null : new Set(cmd.allow);
        this.feed({ type: 'configure', config: { deny: cmd.deny, allow: cmd.allow } });
        return;
    }
  }
}

describe('model-based: random command sequences against the reference model', () => {
  it('holds every invariant', () => {
    fc.assert(
      fc.property(setup, fc.array(command, { maxLength: 120, size: 'max' }), (s, cmds) => {
        const h = new Harness(s);
        h.feed({ type: 'start' });
        for (const cmd of cmds) h.run(cmd);
        // Eventually every planned redial fires or is void; nothing is left scheduled in the past.
        h.now += 10 * CAP;
        h.feed({ type: 'tick' });
        const wake = h.p.nextWakeup();
        if (wake !== null) expect(wake).toBeGreaterThan(h.now);
      }),
      seeded('policy model', 400),
    );
  });
});
