// `distkitd run` as separate processes with the real kernel on loopback sockets: the issue's
// tests 1 (no config, files and modes, incarnation + 1), 2 (three daemons, a message through the
// control API, SSE events) and 3 (kill -9, nodedown, restart, restarted, links back under once).
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { cleanEnv, runCli } from './cli-process.test-support.ts';
import { callControl, streamControlEvents, type StreamedEvent } from './control-client.ts';
import { freePort, startDaemon, type RunningDaemon } from './daemon-process.test-support.ts';

const running: RunningDaemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop('SIGKILL');
});

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

async function launch(home: string, stateDir: string, args: readonly string[], env: Record<string, string> = {}): Promise<RunningDaemon> {
  const d = await startDaemon(['--state-dir', stateDir, '--control', '127.0.0.1:0', ...args], { cwd: home, env: cleanEnv(home, env), stateDir });
  running.push(d);
  return d;
}

describe('distkitd run (real kernel, separate processes)', () => {
  it('a listen address in use: exit 71 with the reason, no stack trace, nothing written', async () => {
    const home = await mkdtemp(join(tmpdir(), 'distkitd-busy-'));
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await runCli(['run', '--state-dir', join(home, 's'), '--listen', `127.0.0.1:${port}`, '--control', '127.0.0.1:0'], { cwd: home, env: cleanEnv(home) });
      expect(r.code).toBe(71);
      expect(r.stderr).toContain(`listen: cannot bind links (TCP) on 127.0.0.1:${port} (EADDRINUSE)`);
      expect(r.stderr).toContain('choose another with --listen');
      expect(r.stderr).not.toContain('    at ');
      // Found before anything was written: not even the state folder exists.
      await expect(stat(join(home, 's'))).rejects.toThrow();
    } finally {
      busy.close();
    }
  });


  it('starts with no config: fresh identity and state folder with the right modes; restart: incarnation + 1', async () => {
    const home = await mkdtemp(join(tmpdir(), 'distkitd-run-'));
    // No --config, no --state-dir: the default folder, which is ~/.local/state/distkit, or
    // /var/lib/distkit for root (CI), unless systemd's $STATE_DIRECTORY says otherwise.
    const root = process.getuid?.() === 0;
    const state = join(home, root ? 'systemd-state' : '.local/state/distkit');
    const env = cleanEnv(home, { DISTKIT_LISTEN: '127.0.0.1:0', DISTKIT_CONTROL_LISTEN: '127.0.0.1:0', ...(root ? { STATE_DIRECTORY: state } : {}) });
    const first = await startDaemon([], { cwd: home, env, stateDir: state });
    running.push(first);
    expect(first.ready).toMatchObject({ incarnation: 1, createdIdentity: true, stateDir: state });
    expect(first.ready.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(first.ready.control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.ready.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(first.stderr()).toContain('Start a second node on this host that joins this one:');
    expect(first.stderr()).toContain(`--peer '${first.ready.name}=${first.ready.listen}#${first.ready.publicKey}'`);
    expect(await mode(state)).toBe(0o700);
    expect(await mode(join(state, 'identity.key'))).toBe(0o600);
    expect(await mode(join(state, 'control.token'))).toBe(0o600);
    expect(await mode(join(state, 'identity.pub'))).toBe(0o644);
    expect((await readFile(join(state, 'incarnation'), 'utf8')).trim()).toBe('1');
    const status = await callControl(await first.target(), 'GET', '/v1/status');
    expect(status).toMatchObject({ name: first.ready.name, incarnation: 1 });
    const firstExit = await first.stop();
    expect(firstExit, `${first.stderr()}\n${first.logs.map((l) => JSON.stringify(l)).join("\n")}`).toBe(0);
    await expect(stat(join(state, 'distkitd.pid'))).rejects.toThrow();

    const second = await startDaemon([], { cwd: home, env, stateDir: state });
    running.push(second);
    expect(second.ready).toMatchObject({ incarnation: 2, createdIdentity: false, fingerprint: first.ready.fingerprint, name: first.ready.name });
    expect(await second.stop('SIGINT')).toBe(0);
  });

  it('three daemons: nodes listed, a message sent through the control API arrives, SSE events seen; kill -9 and restart', async () => {
    const home = await mkdtemp(join(tmpdir(), 'distkitd-three-'));
    const names = ['alpha', 'beta', 'gamma'] as const;
    const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()] as const))) as Record<(typeof names)[number], number>;
    const fast = { DISTKIT_HEARTBEAT_INTERVAL: '300' };
    const start = (name: (typeof names)[number]): Promise<RunningDaemon> =>
      launch(home, join(home, name), ['--name', name, '--listen', `127.0.0.1:${ports[name]}`, ...names.filter((n) => n !== name).map((n) => ['--peer', `${n}=127.0.0.1:${ports[n]}`]).flat()], fast);

    const alpha = await start('alpha');
    const events: StreamedEvent[] = [];
    const sse = (async () => {
      for await (const e of streamControlEvents(await alpha.target())) events.push(e);
    })().catch(() => {});
    const beta = await start('beta');
    let gamma = await start('gamma');
    const target = await alpha.target();
    await until(async () => {
      const { nodes } = (await callControl(target, 'GET', '/v1/nodes')) as { nodes: Array<{ name: string; connected: boolean }> };
      return nodes.filter((n) => n.connected).map((n) => n.name).sort().join() === 'beta,gamma';
    });
    expect(events.some((e) => e.type === 'nodeup')).toBe(true);
    // Trust on first use (the default): alpha wrote the keys it learned to known_nodes.
    await until(async () => {
      const known = await readFile(join(home, 'alpha', 'known_nodes'), 'utf8').catch(() => '');
      return /^beta [A-Za-z0-9+/]{43}=$/m.test(known) && /^gamma [A-Za-z0-9+/]{43}=$/m.test(known);
    });

    await callControl(await beta.target(), 'POST', '/v1/send', { node: 'alpha', value: { hello: 'from beta' } });
    await until(async () => events.some((e) => e.type === 'message'));
    expect(events.find((e) => e.type === 'message')?.data).toMatchObject({ from: 'beta', value: { hello: 'from beta' } });

    // kill -9 gamma: the others see nodedown; restarted with the same state: `restarted`, links back.
    const gammaInc = gamma.ready.incarnation;
    await gamma.stop('SIGKILL');
    await until(async () => events.some((e) => e.type === 'nodedown' && (e.data as { node: string }).node === 'gamma'));
    await beta.waitForLog((l) => l.msg === 'nodedown' && l['node'] === 'gamma');
    gamma = await start('gamma');
    expect(gamma.ready.incarnation).toBe(gammaInc + 1);
    await until(async () =>
      events.some((e) => (e.type === 'restarted' || (e.type === 'verdict' && (e.data as { verdict: string }).verdict === 'restarted')) && (e.data as { node: string }).node === 'gamma'),
    );
    await until(async () => {
      const { nodes } = (await callControl(target, 'GET', '/v1/nodes')) as { nodes: Array<{ name: string; connected: boolean; incarnation: number | null }> };
      const g = nodes.find((n) => n.name === 'gamma');
      return g?.connected === true && g.incarnation === gammaInc + 1;
    });

    // SIGHUP reloads without dropping good links.
    const before = events.filter((e) => e.type === 'nodedown').length;
    alpha.process.kill('SIGHUP');
    await alpha.waitForLog((l) => l.msg === 'reloaded');
    await new Promise((r) => setTimeout(r, 300));
    expect(events.filter((e) => e.type === 'nodedown')).toHaveLength(before);

    // SIGTERM: a graceful stop; the peers see the link closed (OTP's `connection_closed`), on purpose.
    expect(await gamma.stop()).toBe(0);
    await until(async () => events.some((e) => {
      const d = e.data as { node: string; reason: string; deliberate?: string };
      return e.type === 'nodedown' && d.node === 'gamma' && d.reason === 'connection_closed' && d.deliberate === 'shutdown';
    }));
    for (const d of [alpha, beta]) expect(await d.stop()).toBe(0);
    await sse;
  });
});

async function until(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  const where = new Error('timed out waiting').stack?.split('\n')[2]?.trim() ?? '';
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting (${where})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
