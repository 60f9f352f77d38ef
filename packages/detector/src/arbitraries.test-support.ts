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

export { seeded } from '../../../tooling/test-support/seeded.ts';
