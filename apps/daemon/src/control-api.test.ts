// Control API over real loopback sockets and a Unix socket, in front of real kernel nodes
// (createNode from @distkit/kernel): alpha, served by the API, and beta, its peer.
import { request } from 'node:http';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlListen } from './config-schema.ts';
import { callControl, streamControlEvents } from './control-client.ts';
import { startControlApi, type ControlServer } from './control-api.ts';
import { isDaemonError } from './errors.ts';
import { EventHub } from './event-hub.ts';
import { createMetrics } from './metrics.ts';
import { createNode, type DistkitNode, type IncomingMessage } from '@distkit/kernel';
import { generateIdentity } from './identity.ts';
import { sampleView } from './node-stand-in.test-support.ts';

const TOKEN = 'test-token-0123456789abcdef';
const servers: ControlServer[] = [];
const nodes: DistkitNode[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const n of nodes.splice(0)) await n.stop();
});

async function setup(listen: ControlListen = { kind: 'tcp', host: '127.0.0.1', port: 0 }, allowRemote = false) {
  const beta = createNode({ name: 'beta', cluster: 'test', identity: generateIdentity(), incarnation: 1, heartbeatIntervalMs: 200 });
  await beta.start();
  nodes.push(beta);
  const identity = generateIdentity();
  const node = createNode({
    name: 'alpha',
    cluster: 'test',
    identity,
    incarnation: 4,
    // Explicit connects only, so a send before `connect` is refused rather than auto-connected.
    autoConnect: 'never',
    heartbeatIntervalMs: 200,
    peers: [{ name: 'beta', address: beta.address }, { name: 'evil-1', address: beta.address }],
    policy: { deny: ['evil-*'] },
  });
  await node.start();
  nodes.push(node);
  const events = new EventHub();
  const metrics = createMetrics(node, { processMetrics: false });
  const server = await startControlApi({
    node,
    token: TOKEN,
    listen,
    allowRemote,
    metrics,
    events,
    status: () => ({ cluster: 'test' }),
  });
  servers.push(server);
  return { node, beta, identity, events, metrics, server, target: { url: server.url, token: TOKEN } };
}

function raw(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('control API: authentication', () => {
  it('without a token every route, known or not, answers 401 and nothing else', async () => {
    const { server } = await setup();
    for (const [method, path] of [
      ['GET', '/v1/status'], ['GET', '/v1/nodes'], ['POST', '/v1/connect'], ['POST', '/v1/send'], ['GET', '/v1/events'],
      ['GET', '/metrics'], ['GET', '/no/such/path'], ['DELETE', '/v1/status'],
    ] as const) {
      const r = await raw(server.url, method, path);
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(JSON.parse(r.body)).toEqual({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' } });
      expect(r.headers['www-authenticate']).toBe('Bearer realm="distkitd"');
    }
  });

  it('a wrong token (or another scheme) is 401 too', async () => {
    const { server } = await setup();
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, 'Bearer', `bearer  ${TOKEN} extra`]) {
      expect((await raw(server.url, 'GET', '/v1/status', { authorization })).status, authorization).toBe(401);
    }
    expect((await raw(server.url, 'GET', '/v1/status', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });

  it('/healthz is open and says only "ok"', async () => {
    const { server } = await setup();
    const r = await raw(server.url, 'GET', '/healthz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok' });
  });

  it('a non-loopback bind is refused unless configured explicitly', async () => {
    await expect(setup({ kind: 'tcp', host: '0.0.0.0', port: 0 })).rejects.toThrow(/not a loopback address/);
    const { server } = await setup({ kind: 'tcp', host: '0.0.0.0', port: 0 }, true);
    expect(server.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  });
});

describe('control API: routes (real kernel nodes)', () => {
  it('status and nodes', async () => {
    const { target, identity } = await setup();
    const status = (await callControl(target, 'GET', '/v1/status')) as Record<string, unknown>;
    expect(status).toMatchObject({ name: 'alpha', incarnation: 4, cluster: 'test', publicKey: Buffer.from(identity.publicKey).toString('base64') });
    const { nodes } = (await callControl(target, 'GET', '/v1/nodes')) as { nodes: Array<{ name: string }> };
    expect(nodes.map((n) => n.name)).toEqual(['beta', 'evil-1']);
  });

  it('connect, send, disconnect reach the node; kernel errors keep their code', async () => {
    const { target, node, beta } = await setup();
    const received: IncomingMessage[] = [];
    void (async () => {
      for await (const m of beta.messages()) received.push(m);
    })();
    await expect(callControl(target, 'POST', '/v1/send', { node: 'beta', value: { hi: 1 } })).rejects.toThrow(/409 (AUTO_CONNECT_REFUSED|NOT_CONNECTED)/);
    await callControl(target, 'POST', '/v1/connect', { node: 'beta' });
    expect(node.nodes()).toEqual(['beta']);
    await callControl(target, 'POST', '/v1/send', { node: 'beta', value: { hi: 1 } });
    await waitFor(() => received.length === 1);
    expect(received[0]).toEqual({ from: 'alpha', value: { hi: 1 } });
    await callControl(target, 'POST', '/v1/disconnect', { node: 'beta' });
    await waitFor(() => node.nodes().length === 0);
    await expect(callControl(target, 'POST', '/v1/connect', { node: 'nobody' })).rejects.toThrow('404 UNKNOWN_NODE');
    await expect(callControl(target, 'POST', '/v1/connect', { node: 'evil-1' })).rejects.toThrow('403 REFUSED: connect to evil-1: denied by the policy (deny list)');
    await expect(callControl(target, 'POST', '/v1/connect', {})).rejects.toThrow('400 BAD_REQUEST');
    await expect(callControl(target, 'POST', '/v1/send', { node: 'beta' })).rejects.toThrow('"value"');
    await expect(callControl(target, 'GET', '/v1/connect')).rejects.toThrow('405');
  });

  it('a malformed or oversize body is a 4xx, not a crash', async () => {
    const { server } = await setup();
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await raw(server.url, 'POST', '/v1/connect', auth, '{not json')).status).toBe(400);
    expect((await raw(server.url, 'POST', '/v1/connect', auth, '[1]')).status).toBe(400);
    expect((await raw(server.url, 'POST', '/v1/send', auth, `{"node":"beta","value":"${'x'.repeat(1_100_000)}"}`)).status).toBe(413);
    expect((await raw(server.url, 'GET', '/v1/status', auth)).status).toBe(200);
  });

  it('server-sent events: every event, or only the asked types, as JSON with bytes in base64', async () => {
    const { target, events } = await setup();
    const all = streamControlEvents(target);
    const downs = streamControlEvents(target, ['nodedown']);
    const firstAll = all.next();
    const firstDown = downs.next();
    await waitFor(() => events.size === 2);
    events.publish({ type: 'nodeup', node: 'beta', incarnation: 2, direction: 'outbound', hidden: false, at: 1 });
    events.publish({ type: 'nodedown', node: 'beta', reason: 'tick_timeout', at: 2 });
    events.publish({ type: 'decision', node: 'beta', strategy: 'keep-majority', decision: 'stay', mine: sampleView({ lowest: new Uint8Array([1, 2]) }), theirs: sampleView({ connected: 2 }), at: 3 });
    expect((await firstAll).value).toEqual({ type: 'nodeup', data: { type: 'nodeup', node: 'beta', incarnation: 2, direction: 'outbound', hidden: false, at: 1 } });
    expect((await all.next()).value?.type).toBe('nodedown');
    expect((await all.next()).value?.data).toMatchObject({ mine: { lowest: 'AQI=' } });
    expect((await firstDown).value).toEqual({ type: 'nodedown', data: { type: 'nodedown', node: 'beta', reason: 'tick_timeout', at: 2 } });
    await all.return(undefined);
    await downs.return(undefined);
    await waitFor(() => events.size === 0);
  });

  it('metrics: links, heartbeats, drops by reason, handshakes by outcome, verdicts, decisions', async () => {
    const { target, metrics, node } = await setup();
    await callControl(target, 'POST', '/v1/connect', { node: 'beta' });
    metrics.observe({ type: 'decision', node: 'beta', strategy: 'keep-majority', decision: 'restart', mine: sampleView(), theirs: sampleView({ connected: 2 }), at: 1 });
    metrics.observe({ type: 'verdict', node: 'beta', verdict: 'partitioned', previous: 'up', at: 1 });
    await new Promise((r) => setTimeout(r, 500)); // a few heartbeat rounds
    const text = (await callControl(target, 'GET', '/metrics')) as string;
    const value = (line: string): number => Number(new RegExp(`^${line.replace(/[{}"=,]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('distkit_links')).toBe(1);
    expect(value('distkit_heartbeats_sent_total')).toBeGreaterThan(0);
    expect(value('distkit_handshakes_total{outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE distkit_heartbeat_drops_total counter');
    expect(value('distkit_nodes{verdict="up"}')).toBe(1);
    expect(value('distkit_verdicts_total{verdict="partitioned"}')).toBe(1);
    expect(value('distkit_decisions_total{decision="restart",strategy="keep-majority"}')).toBe(1);
    // Scraping again mirrors the kernel's total; it does not add it up twice.
    const again = (await callControl(target, 'GET', '/metrics')) as string;
    const sent = Number(/^distkit_heartbeats_sent_total (\S+)$/m.exec(again)?.[1]);
    expect(sent).toBeGreaterThanOrEqual(value('distkit_heartbeats_sent_total'));
    expect(sent).toBeLessThanOrEqual(node.stats().heartbeatsSent);
  });

  it('serves on a Unix socket, 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-sock-'));
    const path = join(dir, 'control.sock');
    const { target } = await setup({ kind: 'unix', path });
    expect(target.url).toBe(`unix:${path}`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await callControl(target, 'GET', '/v1/status')).toMatchObject({ name: 'alpha' });
    await expect(callControl({ ...target, token: 'nope-nope-nope-nope' }, 'GET', '/v1/status')).rejects.toThrow('401');
  });

  it('the client says the daemon is unreachable when nothing listens', async () => {
    const { server } = await setup();
    const url = server.url;
    await servers.pop()?.close();
    try {
      await callControl({ url, token: TOKEN }, 'GET', '/v1/status');
      expect.unreachable();
    } catch (err) {
      expect(isDaemonError(err) && err.code).toBe('CONTROL_UNREACHABLE');
      expect(isDaemonError(err) && err.exitCode).toBe(69);
    }
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
