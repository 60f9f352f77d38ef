// Shared by the policy tests: a seeded PRNG, a fast-check seed helper and small constructors.
import { createPolicy, type Decision, type Policy, type PolicyConfig } from './index.ts';

/** fast-check parameters: a seed from FC_SEED (to replay) or a fresh one, always printed. */
export function seeded(label: string, numRuns: number): { seed: number; numRuns: number } {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const seed = env?.['FC_SEED'] ? Number(env['FC_SEED']) : (Math.random() * 2 ** 31) | 0;
  console.log(`[${label}] fast-check seed=${seed} runs=${numRuns} (replay with FC_SEED=${seed})`);
  return { seed, numRuns };
}

/** mulberry32: a tiny seeded PRNG returning [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
