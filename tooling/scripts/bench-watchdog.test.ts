// The bench watchdog (tooling/bench/watchdog.ts): a suite that hangs, whether its main thread
// spins in a loop that never yields or waits forever on a promise with sockets open, is killed
// with a non-zero status after its step's budget, and says which step it was in. A suite that
// finishes exits as usual (the watchdog never keeps it alive).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const WATCHDOG = pathToFileURL(fileURLToPath(new URL('../bench/watchdog.ts', import.meta.url))).href;

function run(body: string): { status: number | null; signal: string | null; stderr: string; ms: number } {
  const child = `
import { startWatchdog } from ${JSON.stringify(WATCHDOG)};
import { createServer } from 'node:net';
const dog = startWatchdog('demo', { suiteMs: 60_000 });
dog.step('warming up', 5_000);
await new Promise((r) => setTimeout(r, 50));
${body}
`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', TSX, '--input-type=module', '-e', child], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  return { status: r.status, signal: r.signal, stderr: r.stderr, ms: Date.now() - t0 };
}

describe('bench watchdog', () => {
  it('kills a step that spins forever, naming it', () => {
    const r = run(`dog.step('spinning', 1_000); for (;;) {}`);
    expect(r.signal ?? r.status).not.toBe(0);
    expect(r.signal).not.toBe('SIGKILL'); // the watchdog ended it, not this test's timeout
    expect(r.stderr).toMatch(/bench demo: WATCHDOG: step "spinning" has run \d+\.\d s, over its 1\.0 s budget/);
  }, 40_000);

  it('kills a step that waits forever with a socket open', () => {
    const r = run(`dog.step('waiting for a reply', 1_000); createServer().listen(0); await new Promise(() => {});`);
    expect(r.signal ?? r.status).not.toBe(0);
    expect(r.stderr).toMatch(/step "waiting for a reply"/);
  }, 40_000);

  it('lets a suite that finishes exit on its own, with status 0', () => {
    const r = run(`dog.step('quick', 5_000); await new Promise((r) => setTimeout(r, 50)); dog.done();`);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/WATCHDOG/);
    expect(r.ms).toBeLessThan(20_000);
  }, 40_000);
});
