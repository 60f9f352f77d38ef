import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ViewSummary } from '@distkit/wire';
import { compareIds, decide, type ResolutionRule } from './index.ts';
import { seeded, viewArb } from './arbitraries.test-support.ts';

const distinct = fc.tuple(viewArb, viewArb).filter(([a, b]) => compareIds(a.hash, b.hash) !== 0);
const id = (b: number) => new Uint8Array(32).fill(b);
const view = (connected: number, lowest: number, extra: Partial<ViewSummary> = {}): ViewSummary => ({
  connected, lowest: id(lowest), oldest: { id: id(lowest), startedAt: 1000 }, referee: false, hash: new Uint8Array(16).fill(lowest), ...extra,
});

describe('decide: both sides compute complementary answers', () => {
  it.each(['keep-majority', 'keep-oldest'] as const)('%s: exactly one side restarts for any two distinct views', (strategy) => {
    fc.assert(
      fc.property(distinct, ([a, b]) => {
        const mine = decide(a, b, { strategy });
        const theirs = decide(b, a, { strategy });
        expect([mine, theirs].sort()).toEqual(['restart', 'stay']);
      }),
      seeded(`decide ${strategy}`, 2000),
    );
  });

  it('static-quorum: exactly one side restarts when exactly one or both reach the quorum; both restart when neither does', () => {
    fc.assert(
      fc.property(distinct, fc.integer({ min: 1, max: 8 }), ([a, b], quorum) => {
        const rule: ResolutionRule = { strategy: 'static-quorum', quorum };
        const pair = [decide(a, b, rule), decide(b, a, rule)].sort();
        const neither = a.connected + 1 < quorum && b.connected + 1 < quorum;
        expect(pair).toEqual(neither ? ['restart', 'restart'] : ['restart', 'stay']);
      }),
      seeded('decide static-quorum', 2000),
    );
  });

  it('keep-referee: the referee side stays; without a referee on either side both restart', () => {
    fc.assert(
      fc.property(distinct, ([a, b]) => {
        const rule: ResolutionRule = { strategy: 'keep-referee' };
        const pair = [decide(a, b, rule), decide(b, a, rule)].sort();
        expect(pair).toEqual(!a.referee && !b.referee ? ['restart', 'restart'] : ['restart', 'stay']);
        if (a.referee !== b.referee) expect(decide(a, b, rule)).toBe(a.referee ? 'stay' : 'restart');
      }),
      seeded('decide keep-referee', 2000),
    );
  });

  it('down-all restarts both sides, manual restarts neither', () => {
    fc.assert(
      fc.property(distinct, ([a, b]) => {
        expect([decide(a, b, { strategy: 'down-all' }), decide(b, a, { strategy: 'down-all' })]).toEqual(['restart', 'restart']);
        expect([decide(a, b, { strategy: 'manual' }), decide(b, a, { strategy: 'manual' })]).toEqual(['stay', 'stay']);
      }),
      seeded('decide down-all/manual', 500),
    );
  });
});

describe('decide: the rules', () => {
  it('keep-majority: the larger side stays, a tie goes to the side holding the lowest id', () => {
    expect(decide(view(3, 9), view(1, 1), { strategy: 'keep-majority' })).toBe('stay');
    expect(decide(view(1, 1), view(3, 9), { strategy: 'keep-majority' })).toBe('restart');
    expect(decide(view(2, 1), view(2, 9), { strategy: 'keep-majority' })).toBe('stay');
    expect(decide(view(2, 9), view(2, 1), { strategy: 'keep-majority' })).toBe('restart');
  });

  it('keep-oldest: the side with the earliest start stays, whatever the sizes', () => {
    const small = view(0, 5, { oldest: { id: id(5), startedAt: 10 } });
    const big = view(9, 1, { oldest: { id: id(1), startedAt: 20 } });
    expect(decide(small, big, { strategy: 'keep-oldest' })).toBe('stay');
    expect(decide(big, small, { strategy: 'keep-oldest' })).toBe('restart');
  });

  it('static-quorum counts the deciding node: connected + 1', () => {
    const rule: ResolutionRule = { strategy: 'static-quorum', quorum: 3 };
    expect(decide(view(2, 9), view(1, 1), rule)).toBe('stay');
    expect(decide(view(1, 1), view(2, 9), rule)).toBe('restart');
    expect(decide(view(1, 1), view(1, 2), rule)).toBe('restart');
  });

  it('the same view on both sides is no partition: nobody restarts', () => {
    const v = view(2, 1);
    expect(decide(v, { ...v }, { strategy: 'keep-majority' })).toBe('stay');
  });
});
