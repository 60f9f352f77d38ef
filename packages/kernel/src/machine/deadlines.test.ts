import { describe, expect, it } from 'vitest';
import { Deadlines } from './deadlines.ts';

/** mulberry32: a small seeded generator, so a failing sequence replays from the printed seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Deadlines (one timer per key, the earliest first)', () => {
  it('next() and due() agree with a plain map after any sequence of sets, moves, clears and dues', () => {
    const seed = Number(process.env.DEADLINES_SEED ?? Date.now() % 2 ** 31);
    console.log(`[deadlines] seed=${seed} (replay with DEADLINES_SEED=${seed})`);
    const random = seededRandom(seed);
    const d = new Deadlines<number>();
    const model = new Map<number, number>();
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      const r = random();
      const key = Math.floor(random() * 40);
      if (r < 0.45) {
        const at = now + Math.floor(random() * 100);
        d.set(key, at);
        model.set(key, at);
      } else if (r < 0.55) {
        d.set(key, Number.POSITIVE_INFINITY);
        model.delete(key);
      } else if (r < 0.65) {
        d.delete(key);
        model.delete(key);
      } else if (r < 0.85) {
        now += Math.floor(random() * 20);
        const due = d.due(now);
        const expected = [...model].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
        expect(due.map((k) => model.get(k))).toEqual(expected.map(([, at]) => at));
        expect(new Set(due)).toEqual(new Set(expected.map(([k]) => k)));
        for (const k of due) model.delete(k);
      }
      expect(d.next()).toBe(model.size === 0 ? Number.POSITIVE_INFINITY : Math.min(...model.values()));
      expect(d.size).toBe(model.size);
    }
  });
});
