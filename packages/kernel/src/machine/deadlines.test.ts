import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deadlines } from './deadlines.ts';

// A model test: fast-check drives random operations on Deadlines and on a plain map side by side.
type Op =
  | { readonly kind: 'set'; readonly key: number; readonly after: number }
  | { readonly kind: 'clear'; readonly key: number }
  | { readonly kind: 'delete'; readonly key: number }
  | { readonly kind: 'due'; readonly advance: number };

const key = fc.integer({ min: 0, max: 39 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 45, arbitrary: fc.record({ kind: fc.constant('set' as const), key, after: fc.integer({ min: 0, max: 99 }) }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('clear' as const), key }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 20, arbitrary: fc.record({ kind: fc.constant('due' as const), advance: fc.integer({ min: 0, max: 19 }) }) },
);

describe('Deadlines (one timer per key, the earliest first)', () => {
  it('next() and due() agree with a plain map after any sequence of sets, moves, clears and dues', () => {
    const seed = Number(process.env['FC_SEED'] ?? (Math.random() * 2 ** 31) | 0);
    console.log(`[deadlines] fast-check seed=${seed} (replay with FC_SEED=${seed})`);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const d = new Deadlines<number>();
        const model = new Map<number, number>();
        let now = 0;
        for (const o of ops) {
          if (o.kind === 'set') {
            d.set(o.key, now + o.after);
            model.set(o.key, now + o.after);
          } else if (o.kind === 'clear') {
            d.set(o.key, Number.POSITIVE_INFINITY);
            model.delete(o.key);
          } else if (o.kind === 'delete') {
            d.delete(o.key);
            model.delete(o.key);
          } else {
            now += o.advance;
            const due = d.due(now);
            const expected = [...model].filter(([, at]) => at <= now).sort((x, y) => x[1] - y[1]);
            expect(due.map((k) => model.get(k))).toEqual(expected.map(([, at]) => at));
            expect(new Set(due)).toEqual(new Set(expected.map(([k]) => k)));
            for (const k of due) model.delete(k);
          }
          expect(d.next()).toBe(model.size === 0 ? Number.POSITIVE_INFINITY : Math.min(...model.values()));
          expect(d.size).toBe(model.size);
        }
      }),
      { seed, numRuns: 200 },
    );
  });
});
