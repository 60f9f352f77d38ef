// Small byte helpers shared by this package's tests.

export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function unhex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** fast-check parameters: a seed from FC_SEED (to replay) or a fresh one, always printed. */
export function seeded(label: string, numRuns: number): { seed: number; numRuns: number } {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const seed = env?.['FC_SEED'] ? Number(env['FC_SEED']) : (Math.random() * 2 ** 31) | 0;
  console.log(`[${label}] fast-check seed=${seed} runs=${numRuns} (replay with FC_SEED=${seed})`);
  return { seed, numRuns };
}
