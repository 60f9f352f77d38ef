// fast-check generators for view summaries, and the seed helper (copied from @distkit/wire's).
import fc from 'fast-check';
import type { ViewSummary } from '@distkit/wire';

const id = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** View summaries, biased towards ties (small id alphabet, few sizes) so tie-breaks are exercised. */
export const viewArb: fc.Arbitrary<ViewSummary> = fc.record({
  connected: fc.nat(6),
  lowest: fc.option(fc.oneof(id, fc.constantFrom(new Uint8Array(32), new Uint8Array(32).fill(1))), { nil: null }),
  oldest: fc.option(
    fc.record({ id: fc.oneof(id, fc.constant(new Uint8Array(32))), startedAt: fc.oneof(fc.constant(1000), fc.nat(2000)) }),
    { nil: null },
  ),
  referee: fc.boolean(),
  hash: fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constant(new Uint8Array(16))),
});

/** fast-check parameters: a seed from FC_SEED (to replay) or a fresh one, always printed. */
export function seeded(label: string, numRuns: number): { seed: number; numRuns: number } {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const seed = env?.['FC_SEED'] ? Number(env['FC_SEED']) : (Math.random() * 2 ** 31) | 0;
  console.log(`[${label}] fast-check seed=${seed} runs=${numRuns} (replay with FC_SEED=${seed})`);
  return { seed, numRuns };
}
