// Shared by the policy tests: a seeded PRNG, a fast-check seed helper and small constructors.
import { prng, seeded } from '../../../tooling/test-support/seeded.ts';
import { createPolicy, type Decision, type Policy, type PolicyConfig } from './index.ts';

export { prng, seeded };

export function policy(config: Partial<PolicyConfig> = {}, random: () => number = prng(1)): Policy {
  return createPolicy({ self: { name: 'alpha' }, ...config }, { random });
}

/** The decisions as `type:reason` strings, the shape most table cells assert on. */
export function kinds(decisions: readonly Decision[]): string[] {
  return decisions.map((d) => `${d.type}:${d.reason}`);
}

/** A 32-byte id whose first byte is `b` (so ids order by `b`). */
export function idOf(b: number): Uint8Array {
  const id = new Uint8Array(32);
  id[0] = b;
  return id;
}
