// Two engines, two fake kernels and a network that delivers handshakes, refusals, closes and
// link losses in an order fast-check chooses. Whatever the interleaving of simultaneous connects,
// both sides end up agreeing on at most one link, and (under `always`) on exactly one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPolicy, simultaneousWinner, type Decision, type Policy, type PolicyEvent } from './index.ts';
import { idOf, prng, seeded } from './policy.test-support.ts';

type Side = 'A' | 'B';
const other = (s: Side): Side => (s === 'A' ? 'B' : 'A');
const NAME: Record<Side, string> = { A: 'alpha', B: 'beta' };

interface Conn {
  id: number;
  dialer: Side;
  dead: boolean;
  /** What each side's kernel has reported to its engine about this connection. */
  reported: Record<Side, 'none' | 'up' | 'gone'>;
}

type Action =
  | { k: 'arrive'; c: Conn }
  | { k: 'up'; c: Conn; s: Side }
  | { k: 'dialFail'; c: Conn }
  | { k: 'down'; c: Conn; s: Side }
  | { k: 'need'; s: Side };

class Pair {
  readonly p: Record<Side, Policy>;
  readonly ids: Record<Side, Uint8Array | undefined>;
  now = 0;
  next = 1;
  pending: Action[] = [];
  readonly conns: Conn[] = [];
  /** The dial each side's kernel has in flight. */
  readonly dialing: Record<Side, Conn | null> = { A: null, B: null };

  constructor(idA: number | null, idB: number | null, seed: number) {
    this.ids = { A: idA === null ? undefined : idOf(idA), B: idB === null ? undefined : idOf(idB) };
    const make = (s: Side) =>
      createPolicy(
        // Eager reconnects: a link the network drops is made again without a further need.
        { self: this.ids[s] ? { name: NAME[s], id: this.ids[s] } : { name: NAME[s] }, reconnect: 'eager', backoff: { base: 50, cap: 400 } },
        { random: prng(seed + (s === 'A' ? 0 : 1)) },
      );
    this.p = { A: make('A'), B: make('B') };
  }

  feed(s: Side, event: PolicyEvent): void {
    this.apply(s, this.p[s].handle(event, this.now));
  }

  private hello(s: Side): { incarnation: number; id?: Uint8Array } {
    const id = this.ids[s];
    return id ? { incarnation: 1, id } : { incarnation: 1 };
  }

  /** Kills `c` from side `s`'s end; the other side's kernel notices in due course. */
  private kill(c: Conn, s: Side): void {
    if (c.dead) return;
    c.dead = true;
    if (c.reported[s] === 'up') c.reported[s] = 'gone';
    const o = other(s);
    if (c.reported[o] === 'up') this.pending.push({ k: 'down', c, s: o });
  }

  private apply(s: Side, ds: readonly Decision[]): void {
    for (const d of ds) {
      switch (d.type) {
        case 'dial': {
          expect(this.dialing[s]).toBeNull();
          const c: Conn = { id: this.next++, dialer: s, dead: false, reported: { A: 'none', B: 'none' } };
          this.conns.push(c);
          this.dialing[s] = c;
          this.p[s].handle({ type: 'dialStarted', node: NAME[other(s)], connection: c.id }, this.now);
          this.pending.push({ k: 'arrive', c });
          break;
        }
        case 'cancel': {
          const c = this.dialing[s]!;
          expect(d.connection).toBe(c.id);
          this.dialing[s] = null;
          c.reported[s] = 'gone'; // the kernel reports nothing more about a cancelled dial
          this.kill(c, s);
          break;
        }
        case 'close': {
          const c = this.conns.find((x) => x.id === d.connection)!;
          c.reported[s] = 'gone';
          this.kill(c, s);
          break;
        }
        default:
          break;
      }
    }
  }

  step(a: Action): void {
    switch (a.k) {
      case 'need':
        this.feed(a.s, { type: 'connectRequested', node: NAME[other(a.s)], kind: 'auto' });
        return;
      case 'arrive': {
        // The dialer's identification may already be on the wire when the dialer gives up, so a
        // dead attempt still arrives; the acceptor then sees the stream close.
        const { c } = a;
        const acceptor = other(c.dialer);
        const ds = this.p[acceptor].handle(
          { type: 'inboundAttempt', connection: c.id, node: NAME[c.dialer], ...this.hello(c.dialer) },
          this.now,
        );
        this.apply(acceptor, ds);
        if (ds.some((d) => d.type === 'accept' && d.connection === c.id)) {
          this.pending.push({ k: 'up', c, s: acceptor }, { k: 'up', c, s: c.dialer });
        } else {
          c.dead = true;
          if (c.reported[c.dialer] === 'none') this.pending.push({ k: 'dialFail', c });
        }
        return;
      }
      case 'up': {
        const { c, s } = a;
        if (c.reported[s] !== 'none') return;
        if (c.dead) {
          // The stream died before this side saw the handshake finish.
          if (s === c.dialer) this.pending.push({ k: 'dialFail', c });
          else {
            c.reported[s] = 'gone';
            this.feed(s, { type: 'disconnected', node: NAME[other(s)], connection: c.id, reason: 'closed' });
          }
          return;
        }
        c.reported[s] = 'up';
        if (this.dialing[s] === c) this.dialing[s] = null;
        this.feed(s, {
          type: 'connected', node: NAME[other(s)], connection: c.id, direction: s === c.dialer ? 'out' : 'in', ...this.hello(other(s)),
        });
        return;
      }
      case 'dialFail': {
        const { c } = a;
        const s = c.dialer;
        if (c.reported[s] !== 'none') return;
        c.reported[s] = 'gone';
        if (this.dialing[s] === c) this.dialing[s] = null;
        this.feed(s, { type: 'dialFailed', node: NAME[other(s)], reason: 'refused' });
        return;
      }
      case 'down': {
        const { c, s } = a;
        if (c.reported[s] !== 'up') return;
        c.reported[s] = 'gone';
        this.feed(s, { type: 'disconnected', node: NAME[other(s)], connection: c.id, reason: 'closed' });
        return;
      }
    }
  }

  /** The network drops the live link, if any: both kernels notice. */
  dropLink(): void {
    const c = this.conns.find((x) => !x.dead && (x.reported.A === 'up' || x.reported.B === 'up'));
    if (c === undefined) return;
    c.dead = true;
    for (const s of ['A', 'B'] as const) if (c.reported[s] === 'up') this.pending.push({ k: 'down', c, s });
  }

  /** Runs until nothing is pending and no redial is planned. */
  settle(choices: readonly number[], drops: readonly number[]): void {
    let i = 0;
    for (let guard = 0; guard < 5000; guard++) {
      if (drops.includes(guard)) this.dropLink();
      if (this.pending.length > 0) {
        const [a] = this.pending.splice(choices[i++ % choices.length]! % this.pending.length, 1);
        this.step(a!);
        continue;
      }
      const wake = [this.p.A.nextWakeup(), this.p.B.nextWakeup()].filter((w): w is number => w !== null);
      if (wake.length === 0) return;
      this.now = Math.max(this.now, Math.min(...wake));
      this.feed('A', { type: 'tick' });
      this.feed('B', { type: 'tick' });
    }
    throw new Error('did not settle in 5000 steps');
  }
}

const ids = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).filter(([a, b]) => a !== b),
  fc.constant([null, null] as [null, null]),
);

describe('simultaneous connect between two engines', () => {
  it('both sides agree on exactly one link, whatever the interleaving', () => {
    fc.assert(
      fc.property(
        ids,
        fc.array(fc.nat(), { minLength: 1, maxLength: 60, size: 'max' }),
        fc.array(fc.constantFrom<Side>('A', 'B'), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(100), { maxLength: 5 }),
        fc.integer(),
        ([idA, idB], choices, needs, drops, seed) => {
          const pair = new Pair(idA, idB, seed);
          pair.pending.push(...needs.map((s): Action => ({ k: 'need', s })));
          pair.settle(choices, drops);
          const la = pair.p.A.links();
          const lb = pair.p.B.links();
          // Under `always` a link that was needed is there at the end, one, the same on both sides.
          expect(la).toHaveLength(1);
          expect(lb).toHaveLength(1);
          expect(la[0]!.connection).toBe(lb[0]!.connection);
          expect(la[0]!.direction).not.toBe(lb[0]!.direction);
          const live = pair.conns.filter((c) => c.reported.A === 'up' && c.reported.B === 'up');
          expect(live.map((c) => c.id)).toEqual([la[0]!.connection]);
        },
      ),
      seeded('policy pair', 1000),
    );
  });

  it('simultaneousWinner is a total order: exactly one side wins, the same seen from either', () => {
    fc.assert(
      fc.property(
        fc.record({ name: fc.string({ minLength: 1 }), id: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: null }) }, { requiredKeys: ['name'] }),
        fc.record({ name: fc.string({ minLength: 1 }), id: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: null }) }, { requiredKeys: ['name'] }),
        (a, b) => {
          fc.pre(a.name !== b.name);
          const ab = simultaneousWinner(a, b);
          const ba = simultaneousWinner(b, a);
          expect(ab === 'a' ? 'x' : 'y').toBe(ba === 'b' ? 'x' : 'y');
        },
      ),
      seeded('policy tie-break', 500),
    );
  });
});
