// Key generation must never wedge the process. Node 20's generateKeyPairSync followed by a
// KeyObject export deadlocked when a GC ran between the two (1k-9k iterations of a tight loop
// under a tiny young generation); a handshake flood froze distkitd that way for good. This runs
// the provider's own key generation, in a child with the smallest semi-space so that GCs happen
// all the time, and fails if it does not finish well within its deadline.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const NATIVE = pathToFileURL(fileURLToPath(new URL('./crypto/native.ts', import.meta.url))).href;
const ITERATIONS = 100_000;

const child = `
import { nativeProvider } from ${JSON.stringify(NATIVE)};
for (const curve of ['25519', '448']) {
  const dh = nativeProvider.dh(curve);
  const n = curve === '25519' ? ${ITERATIONS} : 10000;
  const started = Date.now();
  let last;
  for (let i = 0; i < n; i++) {
    const pair = dh.generateKeyPair();
    // Use the pair the way a handshake does: a DH with the previous ephemeral.
    if (last) dh.dh(pair, last.publicKey);
    last = pair;
  }
  console.log(JSON.stringify({ curve, n, ms: Date.now() - started }));
}
`;

describe('native key generation under constant GC pressure', () => {
  it(`generates ${ITERATIONS} X25519 key pairs (and 10k X448) with --max-semi-space-size=1 without hanging`, () => {
    const run = spawnSync(process.execPath, ['--max-semi-space-size=1', '--import', TSX, '--input-type=module', '-e', child], {
      encoding: 'utf8',
      timeout: 100_000,
      killSignal: 'SIGKILL',
    });
    const lines = run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { curve: string; n: number; ms: number });
    expect(run.signal, `key generation hung (killed after 100 s); stderr: ${run.stderr}`).toBeNull();
    expect(run.status, run.stderr).toBe(0);
    expect(lines.map((l) => l.curve)).toEqual(['25519', '448']);
    console.log(`[keygen] ${lines.map((l) => `${l.curve}: ${l.n} pairs in ${l.ms} ms`).join('; ')}`);
  }, 120_000);
});
