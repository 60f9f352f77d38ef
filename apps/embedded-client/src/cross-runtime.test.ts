// The dual build, proven end to end with separate processes and real loopback sockets:
// (a) the client's TypeScript source under `deno run` against a Node `distkitd`;
// (b) the client built for Node against kernels running under Deno.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_BUILT, CLIENT_SOURCE, DENO, DENO_PERMISSIONS, DISTKITD, type Line, type Proc, exitCode, start } from './processes.test-support.ts';

let dir: string;
const procs: Proc[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'distkit-client-'));
});
afterEach(() => {
  for (const p of procs.splice(0)) p.kill();
  rmSync(dir, { recursive: true, force: true });
});
const run = (command: string, args: readonly string[]) => {
  const p = start(command, args);
  procs.push(p);
  return p;
};
const denoClient = (args: readonly string[]) => run(DENO, ['run', ...DENO_PERMISSIONS, CLIENT_SOURCE, ...args]);
const nodeClient = (args: readonly string[]) => run(process.execPath, [CLIENT_BUILT, ...args]);

/** The daemon's server-sent events, read as they come (the stream is open once this resolves). */
async function followEvents(control: string, token: string) {
  const abort = new AbortController();
  const response = await fetch(`${control}/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(response.status).toBe(200);
  const events: Line[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type && data) events.push({ event: type, ...(JSON.parse(data) as Line) });
          for (const w of waiters) w();
        }
      }
    } catch {
      // Aborted at the end of the test.
    }
  })();
  const waitFor = (what: string, match: (e: Line) => boolean, ms = 45_000) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = events.find(match);
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => reject(new Error(`no daemon event: ${what}; got ${JSON.stringify(events)}`)), ms);
      waiters.add(check);
      check();
    });
  return { waitFor, close: () => abort.abort() };
}

describe('cross-runtime', () => {
  it('a Deno client links to a Node distkitd: handshake, node list, messages both ways, events', async () => {
    const stateDir = join(dir, 'daemon');
    const clientDir = join(dir, 'client');
    // The user's path: the client creates its key (under Deno), the operator trusts it, strict mode.
    const key = denoClient(['--show-key', '--state-dir', clientDir]);
    expect(await exitCode(key)).toBe(0);
    const publicLine = String((await key.waitFor('the public key', (l) => typeof l.text === 'string')).text);
    expect(publicLine).toMatch(/^distkit-x25519 [A-Za-z0-9+/]{43}=$/);
    expect(statSync(join(clientDir, 'client.key')).mode & 0o777).toBe(0o600);
    const trust = run(process.execPath, [DISTKITD, 'trust', 'add', 'client@test', publicLine, '--state-dir', stateDir, '--no-reload']);
    expect(await exitCode(trust)).toBe(0);

    const daemon = run(process.execPath, [
      DISTKITD, 'run', '--state-dir', stateDir, '--name', 'daemon@test', '--cluster', 'cross', '--listen', '127.0.0.1:0',
      '--control', '127.0.0.1:0', '--trust-mode', 'strict', '--log-format', 'json', '--log-level', 'info',
    ]);
    const ready = await daemon.waitFor('distkitd ready', (l) => l.msg === 'ready');
    const control = String(ready.control);
    const token = readFileSync(join(stateDir, 'control.token'), 'utf8').trim();
    const events = await followEvents(control, token);
    try {
      const client = denoClient([
        '--json', '--state-dir', clientDir, '--name', 'client@test', '--cluster', 'cross',
        '--daemon', `daemon@test=${String(ready.listen)}`, '--daemon-key', `@${join(stateDir, 'identity.pub')}`,
        '--send', 'daemon@test={"from":"deno","n":1}',
      ]);
      // Handshake (Noise IK against the pinned key) and the link, seen from both sides.
      const up = await client.waitFor('nodeup', (l) => l.type === 'nodeup');
      expect(up).toMatchObject({ node: 'daemon@test', direction: 'outbound' });
      await events.waitFor('nodeup of the client', (e) => e.event === 'nodeup' && e.node === 'client@test' && e.hidden === true);
      // The cluster's nodes, asked through the daemon: the hidden client is not among them.
      expect(await client.waitFor('node list', (l) => l.type === 'nodes')).toMatchObject({ via: 'daemon@test', nodes: ['daemon@test'] });
      // Client -> daemon.
      await client.waitFor('sent', (l) => l.type === 'sent');
      const got = await events.waitFor('the client message', (e) => e.event === 'message' && e.from === 'client@test');
      expect(got.value).toEqual({ from: 'deno', n: 1 });
      // Daemon -> client, through the control API.
      const sent = await fetch(`${control}/v1/send`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ node: 'client@test', value: { from: 'distkitd', list: [1, 2, 3] } }),
      });
      expect(sent.status).toBe(200);
      const back = await client.waitFor('the daemon message', (l) => l.type === 'message');
      expect(back).toMatchObject({ from: 'daemon@test', value: { from: 'distkitd', list: [1, 2, 3] } });
      // The daemon sees the client as a hidden, linked node with the fingerprint it pinned.
      const nodes = (await (await fetch(`${control}/v1/nodes`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        nodes: Array<{ name: string; connected: boolean; hidden: boolean; fingerprint: string }>;
      };
      const identity = client.lines.find((l) => l.type === 'identity');
      expect(nodes.nodes.find((n) => n.name === 'client@test')).toMatchObject({ connected: true, hidden: true, fingerprint: identity?.fingerprint });
      // Events: the daemon stops; the client reports nodedown with the reason, keeps running,
      // then stops gracefully on SIGINT.
      daemon.child.kill('SIGTERM');
      expect(await exitCode(daemon)).toBe(0);
      const down = await client.waitFor('nodedown', (l) => l.type === 'nodedown');
      expect(down).toMatchObject({ node: 'daemon@test', reason: 'connection_closed', deliberate: 'shutdown' });
      expect(client.child.exitCode).toBe(null);
      client.child.kill('SIGINT');
      expect(await exitCode(client)).toBe(0);
    } finally {
      events.close();
    }
  }, 120_000);

  it('a Node client links to kernels running under Deno: handshake, node list, messages both ways, events', async () => {
    const clientDir = join(dir, 'client');
    const key = nodeClient(['--show-key', '--state-dir', clientDir]);
    expect(await exitCode(key)).toBe(0);
    const publicLine = String((await key.waitFor('the public key', (l) => typeof l.text === 'string')).text);
    const server = run(DENO, ['run', ...DENO_PERMISSIONS, join(import.meta.dirname, 'deno-kernel-server.test-support.ts'), 'client@node', publicLine]);
    const ready = await server.waitFor('the Deno kernel', (l) => l.type === 'ready');
    expect(ready.runtime).toBe('deno');
    const client = nodeClient([
      '--json', '--state-dir', clientDir, '--name', 'client@node', '--cluster', 'cross',
      '--daemon', `kernel@deno=127.0.0.1:${String(ready.port)}`, '--daemon-key', String(ready.publicKey),
      '--send', 'kernel@deno={"from":"node"}', '--send', 'peer@deno=unreachable',
    ]);
    expect(await client.waitFor('nodeup', (l) => l.type === 'nodeup')).toMatchObject({ node: 'kernel@deno', direction: 'outbound' });
    await server.waitFor('nodeup of the client', (l) => l.type === 'nodeup' && l.node === 'client@node' && l.hidden === true);
    // The node list comes from the Deno side: both of its nodes, not the hidden client.
    const list = await client.waitFor('node list', (l) => l.type === 'nodes');
    expect([...(list.nodes as string[])].sort()).toEqual(['kernel@deno', 'peer@deno']);
    // Both ways: the Deno kernel receives and echoes.
    expect(await server.waitFor('the client message', (l) => l.type === 'message')).toMatchObject({ from: 'client@node', value: { from: 'node' } });
    expect(await client.waitFor('the echo', (l) => l.type === 'message')).toMatchObject({ from: 'kernel@deno', value: { echo: { from: 'node' } } });
    // Auto-connect `never`: no link to peer@deno is made behind the user's back; the send fails clearly.
    await client.waitForStderr('the refused send', /cannot send to peer@deno: .*auto-connect/i);
    // Events: the Deno side stops; the client reports nodedown, then stops on SIGTERM (exit 1: a send failed).
    server.child.kill('SIGTERM');
    expect(await exitCode(server)).toBe(0);
    expect(await client.waitFor('nodedown', (l) => l.type === 'nodedown')).toMatchObject({ node: 'kernel@deno', reason: 'connection_closed', deliberate: 'shutdown' });
    client.child.kill('SIGTERM');
    expect(await exitCode(client)).toBe(1);
  }, 120_000);
});
