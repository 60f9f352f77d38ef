// Seeds for the packages' randomized tests (fast-check's, and a small PRNG), one definition for all. Portable
// (Node and Deno): the environment is read through globalThis, with no `node:` import.

/** fast-check parameters: a seed from FC_SEED (to replay) or a fresh one, always printed. */
export function seeded(label: string, numRuns: number): { seed: number; numRuns: number } {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const seed = env?.['FC_SEED'] ? Number(env['FC_SEED']) : (Math.random() * 2 ** 31) | 0;
  console.log(`[${label}] fast-check seed=${seed} runs=${numRuns} (replay with FC_SEED=${seed})`);
  return { seed, numRuns };
}

/** mulberry32 (Tommy Ettinger's 32-bit generator): a tiny seeded PRNG returning [0, 1). */
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
