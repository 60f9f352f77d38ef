// The client commands against real `distkitd run` processes: they use only the daemon of the
// state folder they were pointed at (no fallback to a default address, where another daemon may
// listen) and say clearly when it is not running; `send NODE -5` sends -5; event times are epoch
// milliseconds (issue 14).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './cli-process.test-support.ts';
import { callControl, streamControlEvents, type StreamedEvent } from './control-client.ts';
import { startDaemon, type RunningDaemon } from './daemon-process.test-support.ts';

let home: string;
let env: Record<string, string>;
let alpha: RunningDaemon;
let beta: RunningDaemon;
const received: StreamedEvent[] = [];
let testStart: number;

beforeAll(async () => {
  testStart = Date.now();
  home = await mkdtemp(join(tmpdir(), 'distkitd-clients-'));
  env = cleanEnv(home);
  const start = (name: string, args: string[] = []): Promise<RunningDaemon> =>
    startDaemon(['--name', name, '--state-dir', join(home, name), '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0', ...args], { cwd: home, env, stateDir: join(home, name) });
  alpha = await start('alpha');
  beta = await start('beta', ['--peer', `alpha=${alpha.ready.listen}`]);
  void (async () => {
    for await (const e of streamControlEvents(await alpha.target())) received.push(e);
  })().catch(() => {});
  await until(async () => ((await callControl(await beta.target(), 'GET', '/v1/nodes')) as { nodes: Array<{ connected: boolean }> }).nodes.some((n) => n.connected));
});
afterAll(async () => {
  for (const d of [alpha, beta]) await d?.stop('SIGKILL');
});

describe('client commands find their own daemon, or say it is not running', () => {
  it('a state folder without a running daemon: exit 69 and the command to start it, even when another daemon listens where its config says', async () => {
    const other = join(home, 'other');
    // The control address of this folder's config is alpha's: the old fallback would have asked
    // alpha (and failed with alpha's 401, or worse, answered with alpha's state).
    const alphaControl = alpha.ready.control.replace('http://', '');
    const r = await runCli(['status', '--state-dir', other], { cwd: home, env: { ...env, DISTKIT_CONTROL_LISTEN: alphaControl } });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`no distkitd is running for the state folder ${other} (it has no control.json). Start one with: `);
    expect(r.stderr).toContain(`run --state-dir ${other}`);
    expect(r.stderr).not.toContain('401');
    expect(r.stdout).toBe('');
  });

  it('each folder gets its own daemon', async () => {
    for (const d of [alpha, beta]) {
      const r = await runCli(['status', '--state-dir', join(home, d.ready.name), '--json'], { cwd: home, env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ name: d.ready.name, pid: d.process.pid });
    }
  });

  it('a daemon killed with -9 (its control.json left behind) is reported as not running, not as unreachable', async () => {
    const state = join(home, 'gone');
    const gone = await startDaemon(['--state-dir', state, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'], { cwd: home, env, stateDir: state });
    await gone.stop('SIGKILL');
    for (const command of [['status'], ['nodes'], ['send', 'alpha', '1'], ['events', '--count', '1']]) {
      const r = await runCli([...command, '--state-dir', state], { cwd: home, env });
      expect(r.code, r.stderr).toBe(69);
      expect(r.stderr).toContain(`the distkitd of the state folder ${state} is not running (pid ${gone.process.pid} has exited without removing control.json`);
    }
  });

  it('a token that is not the daemon\'s: exit 1 with the 401, naming the token file', async () => {
    const wrong = join(home, 'wrong.token');
    await writeFile(wrong, 'x'.repeat(40), { mode: 0o600 });
    const r = await runCli(['status', '--state-dir', join(home, 'alpha'), '--token-file', wrong], { cwd: home, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('401 UNAUTHORIZED');
    expect(r.stderr).toContain(`the token in ${wrong} is not the one of the daemon at ${alpha.ready.control}`);
  });
});

describe('send takes any value', () => {
  it('`send NODE -5` sends -5, `send NODE -- -x` the string "-x", `send NODE -1.5e3` a number', async () => {
    const cases: Array<[string[], unknown]> = [
      [['-5'], -5],
      [['-1.5e3'], -1500],
      [['--', '-x'], '-x'],
      [['--', '--json'], '--json'],
      // Not JSON (JSON wants -0.5), so the text itself: but a value, not a flag.
      [['-.5'], '-.5'],
    ];
    for (const [value, expected] of cases) {
      const r = await runCli(['send', '--state-dir', join(home, 'beta'), 'alpha', ...value], { cwd: home, env });
      expect(r.code, `${value.join(' ')}: ${r.stderr}`).toBe(0);
      await until(async () => received.some((e) => e.type === 'message' && JSON.stringify((e.data as { value: unknown }).value) === JSON.stringify(expected)));
    }
    // Flags still work around a negative value, and a negative count is still refused as a count.
    const flagged = await runCli(['send', '--json', 'alpha', '-7', '--state-dir', join(home, 'beta')], { cwd: home, env });
    expect(flagged.code, flagged.stderr).toBe(0);
    expect(JSON.parse(flagged.stdout)).toEqual({ ok: true });
    const count = await runCli(['events', '--count', '-1', '--state-dir', join(home, 'beta')], { cwd: home, env });
    expect(count.code).toBe(78);
    expect(count.stderr).toContain('--count: must be a positive integer (got "-1")');
  });
});

describe('one time base', () => {
  it('every event the daemon streams and logs has `at` in epoch ms, kernel events and messages alike', async () => {
    // A link down and up again, through the CLI, while alpha's stream is open.
    for (const command of ['disconnect', 'connect']) {
      const r = await runCli([command, 'alpha', '--state-dir', join(home, 'beta')], { cwd: home, env });
      expect(r.code, r.stderr).toBe(0);
    }
    await until(async () => received.some((e) => e.type === 'nodeup') && received.some((e) => e.type === 'nodedown') && received.some((e) => e.type === 'message'));
    const now = Date.now();
    for (const e of received) {
      const at = (e.data as { at: number }).at;
      expect(at, `${e.type} ${JSON.stringify(e.data)}`).toBeGreaterThanOrEqual(testStart - 1000);
      expect(at).toBeLessThanOrEqual(now + 1000);
    }
    for (const line of alpha.logs.filter((l) => l.msg === 'nodeup')) {
      expect(line['at']).toBeGreaterThanOrEqual(testStart - 1000);
      expect(Math.abs((line['at'] as number) - (line['time'] as number))).toBeLessThan(5000);
    }
  });
});

async function until(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
