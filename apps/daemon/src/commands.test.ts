// keygen, fingerprint, trust and the client commands, each run as a separate process. The client
// commands talk to a control API served in this test in front of real kernel nodes (alpha, and
// beta its peer), so the test can watch what arrives at beta.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, cleanEnv, runCli } from './cli-process.test-support.ts';
import { startControlApi, type ControlServer } from './control-api.ts';
import { EventHub } from './event-hub.ts';
import { fingerprint, generateIdentity, encodePublicKey } from './identity.ts';
import { createMetrics } from './metrics.ts';
import { createNode, type DistkitNode, type IncomingMessage } from '@distkit/kernel';
import { sampleView } from './node-stand-in.test-support.ts';
import { ensureStateDir, loadOrCreateToken, statePaths, writeControlInfo } from './state.ts';

let root: string;
let env: Record<string, string>;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'distkitd-cmd-'));
  env = cleanEnv(root);
});

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

describe('keygen and fingerprint', () => {
  it('keygen writes the identity 0600 (+ .pub 0644), refuses to overwrite, fingerprint agrees', async () => {
    const state = join(root, 'kg');
    const k = await runCli(['keygen', '--state-dir', state, '--json'], { cwd: root, env });
    expect(k.code, k.stderr).toBe(0);
    const made = JSON.parse(k.stdout) as { fingerprint: string; publicKey: string; privateKeyFile: string; publicKeyFile: string };
    expect(made.privateKeyFile).toBe(join(state, 'identity.key'));
    expect(await mode(made.privateKeyFile)).toBe(0o600);
    expect(await mode(made.publicKeyFile)).toBe(0o644);
    expect(await mode(state)).toBe(0o700);
    const before = await readFile(made.privateKeyFile, 'utf8');

    const again = await runCli(['keygen', '--state-dir', state], { cwd: root, env });
    expect(again.code).toBe(73);
    expect(again.stderr).toContain('already exists; keeping it');
    expect(await readFile(made.privateKeyFile, 'utf8')).toBe(before);

    const f = await runCli(['fingerprint', '--state-dir', state], { cwd: root, env });
    expect(f.stdout.trim()).toBe(made.fingerprint);
    const ofPub = await runCli(['fingerprint', made.publicKeyFile], { cwd: root, env });
    expect(ofPub.stdout.trim()).toBe(made.fingerprint);
    const ofKey = await runCli(['fingerprint', made.publicKey], { cwd: root, env });
    expect(ofKey.stdout.trim()).toBe(made.fingerprint);
    expect(made.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);

    const forced = await runCli(['keygen', '--state-dir', state, '--force'], { cwd: root, env });
    expect(forced.code).toBe(0);
    expect(await readFile(made.privateKeyFile, 'utf8')).not.toBe(before);
  });

  it('a readable identity key is refused with the exact chmod, exit 77', async () => {
    const state = join(root, 'loose-state');
    expect((await runCli(['keygen', '--state-dir', state], { cwd: root, env })).code).toBe(0);
    await chmod(join(state, 'identity.key'), 0o604);
    const r = await runCli(['fingerprint', '--state-dir', state], { cwd: root, env });
    expect(r.code).toBe(77);
    expect(r.stderr).toContain(`Fix with: chmod 600 ${join(state, 'identity.key')}`);
  });
});

describe('trust add | list | remove', () => {
  it('round trip through authorized_nodes; keys from base64, key lines or @file', async () => {
    const state = join(root, 'trust');
    const beta = generateIdentity().publicKey;
    const gamma = generateIdentity().publicKey;
    await writeFile(join(root, 'gamma.pub'), `distkit-x25519 ${encodePublicKey(gamma)} gamma@host\n`);
    expect((await runCli(['trust', 'add', 'beta', encodePublicKey(beta), '--state-dir', state], { cwd: root, env })).code).toBe(0);
    const g = await runCli(['trust', 'add', 'gamma', '@gamma.pub', '--state-dir', state, '--option', 'hidden'], { cwd: root, env });
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toContain(`authorized gamma ${fingerprint(gamma)}`);
    const list = await runCli(['trust', 'list', '--state-dir', state, '--json'], { cwd: root, env });
    expect(JSON.parse(list.stdout)).toEqual([
      { name: 'beta', source: 'authorized', fingerprint: fingerprint(beta), publicKey: encodePublicKey(beta), options: {} },
      { name: 'gamma', source: 'authorized', fingerprint: fingerprint(gamma), publicKey: encodePublicKey(gamma), options: { hidden: true } },
    ]);
    const table = await runCli(['trust', 'list', '--state-dir', state], { cwd: root, env });
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+SOURCE\s+FINGERPRINT\s+OPTIONS$/);
    expect((await runCli(['trust', 'remove', 'beta', '--state-dir', state], { cwd: root, env })).code).toBe(0);
    const missing = await runCli(['trust', 'remove', 'beta', '--state-dir', state], { cwd: root, env });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('beta was not in authorized_nodes or known_nodes');
    expect(await readFile(join(state, 'authorized_nodes'), 'utf8')).not.toContain('beta ');
  });

  it('a bad key or name is a usage error (78) and writes nothing', async () => {
    const state = join(root, 'trust-bad');
    const r = await runCli(['trust', 'add', 'beta', 'not-a-key', '--state-dir', state], { cwd: root, env });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('KEY: key is not valid base64');
    const n = await runCli(['trust', 'add', 'bad name', encodePublicKey(generateIdentity().publicKey), '--state-dir', state], { cwd: root, env });
    expect(n.code).toBe(78);
    await expect(stat(state)).rejects.toThrow();
  });
});

describe('client commands against a control API (real kernel nodes)', () => {
  let server: ControlServer;
  let node: DistkitNode;
  let beta: DistkitNode;
  const received: IncomingMessage[] = [];
  let events: EventHub;
  let state: string;
  beforeAll(async () => {
    state = join(root, 'client');
    await ensureStateDir(state);
    const paths = statePaths(state);
    const token = await loadOrCreateToken(paths.token);
    beta = createNode({ name: 'beta', cluster: 'test', identity: generateIdentity(), incarnation: 1 });
    await beta.start();
    void (async () => {
      for await (const m of beta.messages()) received.push(m);
    })();
    node = createNode({
      name: 'alpha',
      cluster: 'test',
      identity: generateIdentity(),
      incarnation: 3,
      autoConnect: 'never',
      peers: [{ name: 'beta', address: beta.address }],
    });
    await node.start();
    events = new EventHub();
    server = await startControlApi({ node, token, listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, allowRemote: false, metrics: createMetrics(node, { processMetrics: false }), events });
    await writeControlInfo(paths, { url: server.url, pid: process.pid, name: 'alpha' });
  });
  afterAll(async () => {
    await server.close();
    await node.stop();
    await beta.stop();
  });

  it('status and nodes: tables for people, JSON for scripts', async () => {
    const s = await runCli(['status', '--state-dir', state], { cwd: root, env });
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/^name\s+alpha$/m);
    expect(s.stdout).toMatch(/^incarnation\s+3$/m);
    const j = await runCli(['status', '--state-dir', state, '--json'], { cwd: root, env });
    expect(JSON.parse(j.stdout)).toMatchObject({ name: 'alpha', incarnation: 3 });
    const n = await runCli(['nodes', '--state-dir', state], { cwd: root, env });
    expect(n.stdout.split('\n')[0]).toMatch(/^NAME\s+LINK\s+VERDICT\s+INCARNATION\s+DIRECTION\s+ADDRESS\s+TAGS\s+FINGERPRINT\s+SUITE$/);
    expect(n.stdout.split('\n')[1]).toMatch(new RegExp(`^beta\\s+down\\s+\\w+\\s+-\\s+-\\s+127\\.0\\.0\\.1:${beta.address.port}\\s+`));
    const nj = await runCli(['nodes', '--state-dir', state, '--json'], { cwd: root, env });
    expect(JSON.parse(nj.stdout)).toMatchObject([{ name: 'beta', connected: false, address: { host: '127.0.0.1', port: beta.address.port } }]);
  });

  it('connect, send (JSON or text), disconnect; a refusal exits 1 with the reason', async () => {
    const refused = await runCli(['send', 'beta', '{"x":1}', '--state-dir', state], { cwd: root, env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/409 (AUTO_CONNECT_REFUSED|NOT_CONNECTED)/);
    expect((await runCli(['connect', 'beta', '--state-dir', state], { cwd: root, env })).stdout).toBe('connected to beta\n');
    expect((await runCli(['send', 'beta', '{"x":1}', '--state-dir', state], { cwd: root, env })).code).toBe(0);
    expect((await runCli(['send', 'beta', 'hello there', '--state-dir', state], { cwd: root, env })).code).toBe(0);
    await waitFor(() => received.length === 2);
    expect(received).toEqual([
      { from: 'alpha', value: { x: 1 } },
      { from: 'alpha', value: 'hello there' },
    ]);
    expect((await runCli(['disconnect', 'beta', '--state-dir', state, '--json'], { cwd: root, env })).stdout).toContain('"ok": true');
  });

  it('events: follows the stream, filters by type, stops after --count', async () => {
    const run = runCli(['events', '--state-dir', state, '--type', 'nodedown,decision', '--count', '2', '--json'], { cwd: root, env });
    while (events.size === 0) await new Promise((r) => setTimeout(r, 20));
    events.publish({ type: 'nodeup', node: 'beta', incarnation: 1, direction: 'inbound', hidden: false, at: 1 });
    events.publish({ type: 'nodedown', node: 'beta', reason: 'connection_closed', at: 2 });
    events.publish({ type: 'decision', node: 'beta', strategy: 'keep-oldest', decision: 'stay', mine: sampleView(), theirs: sampleView({ connected: 2 }), at: 3 });
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).type)).toEqual(['nodedown', 'decision']);
  });

  it('events without --count follows the stream until stopped (no limit)', async () => {
    const child = spawn(process.execPath, [...CLI_ENTRY, 'events', '--state-dir', state, '--json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(() => events.size > 0, 15_000);
      for (let i = 0; i < 3; i++) events.publish({ type: 'nodedown', node: `n${i}`, reason: 'connection_closed', at: i });
      await waitFor(() => out.trim().split('\n').filter(Boolean).length === 3, 15_000);
      expect(child.exitCode).toBeNull(); // still following
    } finally {
      child.kill('SIGTERM');
    }
    const bad = await runCli(['events', '--state-dir', state, '--count', '0'], { cwd: root, env });
    expect(bad.code).toBe(78);
  });

  it('a wrong token file exits 1 with 401; no daemon exits 69', async () => {
    await writeFile(join(root, 'wrong.token'), 'x'.repeat(40), { mode: 0o600 });
    const w = await runCli(['status', '--state-dir', state, '--token-file', join(root, 'wrong.token')], { cwd: root, env });
    expect(w.code).toBe(1);
    expect(w.stderr).toContain('401 UNAUTHORIZED');
    const none = await runCli(['status', '--state-dir', state, '--control', '127.0.0.1:1'], { cwd: root, env });
    expect(none.code).toBe(69);
    expect(none.stderr).toContain('cannot reach distkitd at http://127.0.0.1:1');
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
