// The liveness watchdog, in real distkitd processes whose main thread is wedged for real (a
// preload blocks it in native code, or spins it in JavaScript, on SIGUSR2): the process must
// abort (SIGABRT) within the configured bound, saying why on stderr, so a supervisor restarts it;
// meanwhile /healthz no longer answers, which proves the main thread was stuck. /healthz of a
// healthy daemon reports the event loop's lag and nothing else, without a token (issue 17 item 7).
import { request } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv } from './cli-process.test-support.ts';
import { startDaemon, type RunningDaemon } from './daemon-process.test-support.ts';

const WEDGE = fileURLToPath(new URL('./wedge.test-support.mjs', import.meta.url));
const running: RunningDaemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop('SIGKILL');
});

async function launch(extra: Record<string, string>): Promise<RunningDaemon> {
  const home = await mkdtemp(join(tmpdir(), 'distkitd-watchdog-'));
  const state = join(home, 'state');
  const d = await startDaemon(['--state-dir', state, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'], {
    cwd: home,
    env: cleanEnv(home, extra),
    stateDir: state,
    nodeArgs: ['--import', WEDGE],
  });
  running.push(d);
  return d;
}

/** GET /healthz without a token; null when no answer comes within `ms`. */
function healthz(control: string, ms = 1000): Promise<{ status: number; body: unknown } | null> {
  return new Promise((resolve) => {
    const req = request(`${control}/healthz`, { timeout: ms }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(null);
    });
    req.on('error', () => resolve(null));
    req.end();
  });
}

describe('liveness watchdog (real distkitd processes)', () => {
  it.each(['native', 'busy'])('a main thread wedged (%s) past watchdog.timeout: SIGABRT within the bound, the reason on stderr', async (kind) => {
    const d = await launch({ DISTKIT_WATCHDOG_TIMEOUT: '2s', DISTKIT_TEST_WEDGE: kind });
    expect((await healthz(d.ready.control))?.status).toBe(200);
    const wedgedAt = Date.now();
    d.process.kill('SIGUSR2');
    // Stuck: /healthz stops answering (the main thread serves it).
    await new Promise((r) => setTimeout(r, 300));
    expect(await healthz(d.ready.control, 500)).toBeNull();
    const code = await d.exited;
    const after = Date.now() - wedgedAt;
    expect(code).toBeNull();
    expect(d.signal()).toBe('SIGABRT');
    // The watchdog counts from the main thread's last beat, which came up to one beat (250 ms)
    // before the signal that wedged it.
    expect(after).toBeGreaterThanOrEqual(2000 - 250 - 100);
    // The bound plus one check interval; generous for a loaded machine.
    expect(after).toBeLessThan(15_000);
    expect(d.stderr()).toMatch(/distkitd: watchdog: the main thread has not run for \d+\.\d s \(watchdog\.timeout = 2000 ms\): the event loop is stalled .* aborting \(SIGABRT\) so the supervisor restarts distkitd/);
  });

  it('a healthy daemon keeps running; /healthz says ok and the loop lag, and nothing about the node, without a token', async () => {
    const d = await launch({ DISTKIT_WATCHDOG_TIMEOUT: '2s' });
    // Longer than the bound: nothing fires while the loop runs.
    await new Promise((r) => setTimeout(r, 3000));
    const h = await healthz(d.ready.control);
    expect(h?.status).toBe(200);
    expect(Object.keys(h?.body as object).sort()).toEqual(['loopLagMaxMs', 'loopLagMs', 'status']);
    expect(h?.body).toMatchObject({ status: 'ok', loopLagMs: expect.any(Number), loopLagMaxMs: expect.any(Number) });
    expect(d.process.exitCode).toBeNull();
    expect(await d.stop()).toBe(0);
  });

  it('watchdog.timeout = 0 turns it off', async () => {
    const d = await launch({ DISTKIT_WATCHDOG_TIMEOUT: '0', DISTKIT_TEST_WEDGE: 'native' });
    d.process.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 3000));
    expect(d.process.exitCode).toBeNull();
    expect(d.process.signalCode).toBeNull();
  });
});
