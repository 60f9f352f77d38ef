// The page's access rules through the real control API (node:http on loopback, real kernel
// nodes), with the headers a browser sends, including those of another local web app trying to
// ride on the page's cookie (another port of 127.0.0.1 is the same site for SameSite). The page
// in a real browser is page.test.ts; this file tries what a browser would not let a test send.
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, type DistkitNode } from '@distkit/kernel';
import { afterEach, describe, expect, it } from 'vitest';
import { startControlApi, type ControlServer } from '../control-api.ts';
import { EventHub } from '../event-hub.ts';
import { generateIdentity } from '../identity.ts';
import { createMetrics } from '../metrics.ts';
import { loadUiAssets, pageWeight, uiAssetDir } from './assets.ts';
import { CONTENT_SECURITY_POLICY } from './page-server.ts';

if (uiAssetDir() === null) throw new Error('the page is not built: run `npm run build` first (npm test does)');

const TOKEN = 'page-test-token-0123456789abcdef';
const servers: ControlServer[] = [];
const nodes: DistkitNode[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const n of nodes.splice(0)) await n.stop();
});

async function setup(listen: Parameters<typeof startControlApi>[0]['listen'] = { kind: 'tcp', host: '127.0.0.1', port: 0 }, extra: { ui?: boolean; allowRemote?: boolean } = {}) {
  const beta = createNode({ name: 'beta', cluster: 'test', identity: generateIdentity(), incarnation: 1, heartbeatIntervalMs: 200 });
  await beta.start();
  nodes.push(beta);
  const node = createNode({ name: 'alpha', cluster: 'test', identity: generateIdentity(), incarnation: 1, autoConnect: 'never', heartbeatIntervalMs: 200, peers: [{ name: 'beta', address: beta.address }] });
  await node.start();
  nodes.push(node);
  const events = new EventHub();
  // The daemon's pump, in short: kernel events into the hub.
  void (async () => {
    for await (const e of node.events()) events.publish(e);
  })();
  const server = await startControlApi({ node, token: TOKEN, listen, allowRemote: extra.allowRemote ?? false, metrics: createMetrics(node, { processMetrics: false }), events, ...(extra.ui === undefined ? {} : { ui: extra.ui }) });
  servers.push(server);
  return { server, node, origin: server.url };
}

/** Logs in with a fresh one-time URL; the session cookie and the page's CSRF token. */
async function login(server: ControlServer): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(server.loginUrl() as string, { redirect: 'manual' });
  expect(res.status).toBe(303);
  const cookie = (res.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
  const page = await (await fetch(`${server.url}/ui`, { headers: { cookie } })).text();
  const csrf = /name="distkit-csrf" content="([^"]+)"/.exec(page)?.[1] as string;
  return { cookie, csrf };
}

describe('the page: login', () => {
  it('the one-time URL sets an HttpOnly, SameSite=Strict cookie and redirects to a URL without it; it works once', async () => {
    const { server } = await setup();
    const url = server.loginUrl() as string;
    expect(url).toMatch(new RegExp(`^${server.url}/ui/login\\?code=[A-Za-z0-9_-]{43}$`));
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui');
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(/^distkitd_ui_\d+=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
    const again = await fetch(url, { redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('already used or has expired');
    expect((await fetch(`${server.url}/ui/login?code=forged`, { redirect: 'manual' })).status).toBe(401);
  });

  it('without a session the page, its script and the API answer 401; the stylesheet and icon are public', async () => {
    const { server } = await setup();
    const page = await fetch(`${server.url}/ui`);
    expect(page.status).toBe(401);
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(await page.text()).toContain('<form method="post" action="/ui/login">');
    for (const path of ['/ui/app.js', '/ui/anything', '/v1/nodes', '/v1/events']) expect((await fetch(`${server.url}${path}`)).status, path).toBe(401);
    expect((await fetch(`${server.url}/ui/app.css`)).status).toBe(200);
    const slash = await fetch(`${server.url}/ui/`, { redirect: 'manual' });
    expect([slash.status, slash.headers.get('location')]).toEqual([301, '/ui']);
    expect((await fetch(`${server.url}/ui/icon.svg`)).status).toBe(200);
    // A forged or foreign cookie is no session.
    expect((await fetch(`${server.url}/v1/nodes`, { headers: { cookie: `distkitd_ui_${new URL(server.url).port}=forged` } })).status).toBe(401);
  });

  it('the control token typed into the form logs in; a wrong one or a cross-origin post does not', async () => {
    const { server, origin } = await setup();
    const post = (token: string, from: string) =>
      fetch(`${server.url}/ui/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: from }, body: new URLSearchParams({ token }) });
    expect((await post('wrong-token-0123456789', origin)).status).toBe(401);
    expect((await post(TOKEN, 'http://127.0.0.1:1')).status).toBe(403);
    const ok = await post(TOKEN, origin);
    expect(ok.status).toBe(303);
    const cookie = (ok.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
    expect((await fetch(`${server.url}/v1/status`, { headers: { cookie } })).status).toBe(200);
  });

  it('no page on a Unix socket, off loopback or when turned off', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkit-page-'));
    expect((await setup({ kind: 'unix', path: join(dir, 'control.sock') })).server.loginUrl()).toBeNull();
    expect((await setup(undefined, { ui: false })).server.loginUrl()).toBeNull();
    expect((await setup({ kind: 'tcp', host: '0.0.0.0', port: 0 }, { allowRemote: true })).server.loginUrl()).toBeNull();
  });
});

describe('the page: with a session', () => {
  it('serves the page under a strict CSP with its CSRF token, and the API by cookie', async () => {
    const { server } = await setup();
    const { cookie, csrf } = await login(server);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const page = await fetch(`${server.url}/ui`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(Object.fromEntries(['content-security-policy', 'x-frame-options', 'referrer-policy', 'x-content-type-options', 'cache-control'].map((h) => [h, page.headers.get(h)]))).toEqual({
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
    const html = await page.text();
    expect(html).not.toContain('__CSRF_TOKEN__');
    // No inline script and nothing from elsewhere: the only script is the daemon's own file.
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual(['<script src="/ui/app.js" defer>']);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    const script = await fetch(`${server.url}/ui/app.js`, { headers: { cookie, 'accept-encoding': 'gzip' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${server.url}/v1/nodes`, { headers: { cookie } })).status).toBe(200);
  });

  it('an action by cookie needs this origin and the session\'s CSRF token; by bearer token it needs neither', async () => {
    const { server, node, origin } = await setup();
    const { cookie, csrf } = await login(server);
    const connect = (headers: Record<string, string>) =>
      fetch(`${server.url}/v1/connect`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ node: 'beta' }) });
    const refusals: Array<[string, Record<string, string>]> = [
      ['no Origin', { 'x-distkit-csrf': csrf }],
      ['another local app (same site, other port)', { origin: 'http://127.0.0.1:1', 'x-distkit-csrf': csrf }],
      ['a same-site fetch', { origin, 'sec-fetch-site': 'same-site', 'x-distkit-csrf': csrf }],
      ['no CSRF token (a plain form post)', { origin }],
      ['a wrong CSRF token', { origin, 'x-distkit-csrf': 'x'.repeat(43) }],
    ];
    for (const [what, headers] of refusals) {
      const res = await connect(headers);
      expect(res.status, what).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code, what).toBe('CSRF');
    }
    expect(node.nodes()).toEqual([]);
    expect((await connect({ origin, 'sec-fetch-site': 'same-origin', 'x-distkit-csrf': csrf })).status).toBe(200);
    expect(node.nodes()).toEqual(['beta']);
    // The CLI's way is unchanged.
    const byToken = await fetch(`${server.url}/v1/disconnect`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ node: 'beta' }) });
    expect(byToken.status).toBe(200);
  });

  it('logout ends the session', async () => {
    const { server, origin } = await setup();
    const { cookie, csrf } = await login(server);
    expect((await fetch(`${server.url}/ui/logout`, { method: 'POST', headers: { cookie, origin } })).status).toBe(403);
    const out = await fetch(`${server.url}/ui/logout`, { method: 'POST', headers: { cookie, origin, 'x-distkit-csrf': csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()[0]).toMatch(/Max-Age=0/);
    expect((await fetch(`${server.url}/v1/nodes`, { headers: { cookie } })).status).toBe(401);
  });
});

describe('what the page reads', () => {
  it('/v1/nodes says since when a link is in its state and why it last went down', async () => {
    const { server, node } = await setup();
    const nodesNow = async () => ((await (await fetch(`${server.url}/v1/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { nodes: Array<Record<string, unknown>> }).nodes;
    expect(await nodesNow()).toEqual([expect.objectContaining({ name: 'beta', connected: false, since: null, lastDownReason: null })]);
    const before = Date.now();
    await node.connectNode('beta');
    await expect.poll(async () => (await nodesNow())[0]?.['since'], { timeout: 5000 }).not.toBeNull();
    const up = (await nodesNow())[0] as Record<string, unknown>;
    expect(up).toMatchObject({ connected: true, lastDownReason: null });
    expect(Date.parse(up['since'] as string)).toBeGreaterThanOrEqual(before - 5);
    // The kernel's own times, in epoch ms like every time the daemon serves.
    expect(up['linkedSince']).toBeGreaterThanOrEqual(before - 1000);
    expect(up['linkedSince']).toBeLessThanOrEqual(Date.now() + 1000);
    await expect.poll(async () => (await nodesNow())[0]?.['lastHeard'], { timeout: 5000 }).toBeGreaterThanOrEqual(before - 1000);
    await node.disconnectNode('beta');
    await expect.poll(async () => (await nodesNow())[0]?.['lastDownReason'], { timeout: 5000 }).toBe('disconnect');
  });

  it('/v1/nodes?remote=true adds each linked peer\'s own links, asked over the link', async () => {
    const { server, node } = await setup();
    await node.connectNode('beta');
    const res = await fetch(`${server.url}/v1/nodes?remote=true`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await res.json()) as { nodes: unknown[] }).nodes).toEqual([expect.objectContaining({ name: 'beta', connected: true, linkedTo: ['alpha'] })]);
    // Without the parameter, nothing is asked and the field is absent.
    const plain = (await (await fetch(`${server.url}/v1/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { nodes: Array<Record<string, unknown>> };
    expect(plain.nodes[0]).not.toHaveProperty('linkedTo');
  });

  it('/v1/events?replay=true starts with the recent past, each event with the time the daemon saw it', async () => {
    const { server, node } = await setup();
    await node.connectNode('beta');
    await new Promise((r) => setTimeout(r, 100));
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/events?replay=true&types=nodeup`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes(': replayed')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const data = /event: nodeup\ndata: (.*)\n/.exec(text)?.[1];
    expect(JSON.parse(data as string)).toMatchObject({ type: 'nodeup', node: 'beta', seenAt: expect.any(Number) });
  });
});

describe('page weight', () => {
  it('the README states the weight measured here (HTML + JS + CSS, gzip as served)', () => {
    const { gzip } = pageWeight(loadUiAssets() as NonNullable<ReturnType<typeof loadUiAssets>>);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const stated = /\*\*Page weight\*\*: \*\*([\d.]+) kB\*\*/.exec(readme)?.[1];
    expect(stated, 'the README says "**Page weight**: **N.N kB**"').toBeDefined();
    console.log(`page weight: ${(gzip / 1000).toFixed(1)} kB gzip (README: ${stated} kB)`);
    // Within 10%: a README that drifts from the build fails here (npm run ui:weight prints the figure).
    expect(Math.abs(gzip / 1000 - Number(stated)) / Number(stated)).toBeLessThan(0.1);
  });
});
