// The cluster page in real browsers (Debian's Chromium and Firefox ESR, through puppeteer-core)
// against three real distkitd processes behind the demo's relay, read from the DOM only: the
// login, the whole mesh, a cut of gamma (its links down on alpha's page and on its own), the heal
// (a partition, then a decision, within the detector's bounds), gamma's restart and the mesh
// whole again, a keyboard-driven, confirmed disconnect, then a join by address and a leave of the
// cluster. Screenshots of each phase go to bench/results/ui/<browser>/. No request may leave the
// daemons' origins: every request the browser makes is intercepted.
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoRelay } from '../../scripts/demo-relay.ts';
import { cleanEnv } from '../cli-process.test-support.ts';
import { callControl, streamControlEvents, type StreamedEvent } from '../control-client.ts';
import { freePort, startDaemon, type RunningDaemon } from '../daemon-process.test-support.ts';
import { uiAssetDir } from './assets.ts';
import { launchBrowser, type Browser, type BrowserName } from './browser.test-support.ts';
import { CONTENT_SECURITY_POLICY } from './page-server.ts';

const SHOTS = fileURLToPath(new URL('../../../../bench/results/ui/', import.meta.url));
const NAMES = ['alpha', 'beta', 'gamma'] as const;
type Name = (typeof NAMES)[number];

// Short intervals so the whole cycle takes seconds (the partition test's figures).
const HEARTBEAT_MS = 200;
const TICK_MS = 2000;
const STABLE_AFTER_MS = 600;
const MAX_SILENCE_MS = 1000;
// What a loaded two-core machine adds on top of the detector's own delays: scheduling, the
// event stream, the page's rendering.
const SLACK_MS = 3000;

if (uiAssetDir() === null) throw new Error('the page is not built: run `npm run build` first (npm test does)');

let home: string;
let relay: DemoRelay;
let browser: Browser;
let shots: string;
const ports = new Map<Name, number>();
const daemons = new Map<Name, RunningDaemon>();
const origins = new Set<string>();
const foreign: string[] = [];
const passed: string[] = [];
const problems: string[] = [];

async function start(n: Name): Promise<RunningDaemon> {
  const state = join(home, n);
  const args = [
    '--name', n,
    '--state-dir', state,
    '--listen', `127.0.0.1:${ports.get(n)}`,
    '--control', '127.0.0.1:0',
    '--auto-connect', 'once',
    '--strategy', 'keep-majority',
    ...NAMES.filter((x) => x !== n).flatMap((x) => ['--peer', `${x}=127.0.0.1:${relay.route(n, x).port}`]),
  ];
  const env = cleanEnv(home, {
    DISTKIT_HEARTBEAT_INTERVAL: String(HEARTBEAT_MS),
    DISTKIT_TICK_TIME: String(TICK_MS),
    DISTKIT_DETECTOR_STABLE_AFTER: String(STABLE_AFTER_MS),
    DISTKIT_DETECTOR_MAX_SILENCE: String(MAX_SILENCE_MS),
    DISTKIT_HOOKS_RESTART_DELAY: '2000',
    DISTKIT_TAGS: `role=${n},zone=eu-1`,
  });
  const d = await startDaemon(args, { cwd: home, env, stateDir: state });
  daemons.set(n, d);
  origins.add(new URL(d.ready.control).origin);
  return d;
}

/** The one-time login URL from the banner the daemon printed on stderr. */
async function loginUrl(d: RunningDaemon): Promise<string> {
  let url: string | undefined;
  await until('the banner', async () => (url = /^ {2}page +(http:\/\/\S+)/m.exec(d.stderr())?.[1]) !== undefined);
  return url as string;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<number> {
  const end = Date.now() + ms;
  while (!(await Promise.resolve().then(cond).catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now();
}

/** Link states as the mesh picture shows them, peer -> state. */
function meshLinks(page: Page): Promise<Record<string, string>> {
  return page.$$eval('#mesh g.link', (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-peer'), e.getAttribute('data-state')])));
}

/** Links between other nodes, as the mesh draws them from their reports ("beta|gamma"). */
const remoteLinks = (page: Page): Promise<string[]> => page.$$eval('#mesh g.remote-link', (els) => els.map((e) => e.getAttribute('data-pair') ?? '').sort());

/** The peer table's rows: peer -> state and the cells by column heading. */
function tableRows(page: Page): Promise<Record<string, { state: string; cells: Record<string, string> }>> {
  return page.$$eval('#peers', (tables) => {
    const table = tables[0] as HTMLTableElement;
    const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent ?? '');
    return Object.fromEntries(
      [...table.querySelectorAll('tbody tr[data-node]')].map((r) => [
        r.getAttribute('data-node'),
        { state: r.getAttribute('data-state') ?? '', cells: Object.fromEntries([...r.children].map((c, i) => [heads[i], c.textContent ?? ''])) },
      ]),
    );
  });
}

const timelineText = (page: Page, type: string, node: string): Promise<string[]> =>
  page.$$eval(`#timeline li[data-type="${type}"][data-node="${node}"]`, (els) => els.map((e) => e.textContent ?? ''));

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`) as `${string}.png`, fullPage: true });
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** A tab whose every request is checked: the daemons' origins go through, anything else is recorded and refused. */
async function newTab(): Promise<Page> {
  const page = await browser.browser.newPage();
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.isInterceptResolutionHandled()) return;
    const url = req.url();
    if (origins.has(new URL(url).origin)) {
      passed.push(new URL(url).pathname + new URL(url).search);
      return void req.continue();
    }
    foreign.push(url);
    void req.abort();
  });
  return page;
}

async function openPage(url: string): Promise<Page> {
  const page = await newTab();
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${(err as Error).message}`));
  const res = await page.goto(url);
  expect(res?.status()).toBe(200);
  return page;
}

async function setUp(name: BrowserName): Promise<void> {
  home = await mkdtemp(join(tmpdir(), 'distkitd-ui-'));
  shots = join(SHOTS, name);
  await mkdir(shots, { recursive: true });
  relay = await DemoRelay.create(NAMES);
  for (const n of NAMES) {
    const port = await freePort();
    ports.set(n, port);
    relay.setTarget(n, { host: '127.0.0.1', port });
  }
  browser = await launchBrowser(name);
}

afterEach(async () => {
  await browser?.close();
  for (const d of daemons.values()) await d.stop('SIGKILL');
  daemons.clear();
  origins.clear();
  relay?.close();
});

const cookiesOf = async (control: string) => (await browser.browser.cookies()).filter((c) => c.name === `distkitd_ui_${new URL(control).port}`);

describe.each(['chromium', 'firefox'] as const)('the cluster page in %s, against three daemons behind the relay', (name) => {
  it('login, whole mesh, cut, partition and decision, restart, whole again, a confirmed disconnect, a join and a leave', { timeout: 180_000 }, async () => {
    foreign.length = 0;
    passed.length = 0;
    problems.length = 0;
    await setUp(name);
    // alpha last: it dials the two others while it starts, so its first links are made before
    // its control API is up (they must reach the page all the same).
    await Promise.all([start('beta'), start('gamma')]);
    await start('alpha');
    const alpha = daemons.get('alpha') as RunningDaemon;
    const control = alpha.ready.control;

    // Without a session the page and the API answer 401.
    expect((await get(`${control}/ui`)).status).toBe(401);
    expect((await get(`${control}/ui/app.js`)).status).toBe(401);
    expect((await get(`${control}/v1/nodes`)).status).toBe(401);
    const stranger = await newTab();
    const denied = await stranger.goto(`${control}/ui`);
    expect(denied?.status()).toBe(401);
    expect(await stranger.$$eval('form[action="/ui/login"] input[name="token"]', (els) => els.length)).toBe(1);
    const apiDenied = await stranger.evaluate(async () => (await fetch('/v1/nodes')).status);
    expect(apiDenied).toBe(401);
    await shot(stranger, '0-login');
    await stranger.close();

    // The banner's one-time URL logs in: a cookie the script cannot read, no token in the URL.
    const login = await loginUrl(alpha);
    const page = await openPage(login);
    expect(page.url()).toBe(`${control}/ui`);
    const response = await page.reload();
    expect(response?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    const cookies = await cookiesOf(control);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    // Spent: the same URL does not log in twice.
    expect((await get(login)).status).toBe(401);

    // Phase 1: three nodes, linked.
    await until('alpha shows beta and gamma up', async () => JSON.stringify(await meshLinks(page)) === JSON.stringify({ beta: 'up', gamma: 'up' }));
    await page.waitForSelector('#stream-state[data-state="live"]');
    const whole = await tableRows(page);
    for (const peer of ['beta', 'gamma']) {
      expect(whole[peer]?.state).toBe('up');
      expect(whole[peer]?.cells['Incarnation']).toBe('1');
      // Tags as the peer's hello carried them.
      expect(whole[peer]?.cells['Tags']).toBe(`role=${peer}, zone=eu-1`);
      expect(whole[peer]?.cells['Direction']).toMatch(/^(inbound|outbound)$/);
      // Links made while the daemons were starting are seen too: an age, and on the timeline.
      expect(whole[peer]?.cells['Age']).toMatch(/^\d+(\.\d)? s$/);
      expect(await timelineText(page, 'nodeup', peer)).not.toHaveLength(0);
    }
    // Which node hears whom: beta's and gamma's own link, as they report it, completes the triangle.
    await until('alpha draws the beta-gamma link', async () => (await remoteLinks(page)).join() === 'beta|gamma', 10_000);
    expect((await tableRows(page))['beta']?.cells['Its links']).toBe('alpha, gamma');
    const gamma = daemons.get('gamma') as RunningDaemon;
    const gammaPage = await openPage(await loginUrl(gamma));
    await until('gamma shows alpha and beta up', async () => JSON.stringify(await meshLinks(gammaPage)) === JSON.stringify({ alpha: 'up', beta: 'up' }));
    await shot(page, '1-whole');

    // Phase 2: the relay cuts gamma off. Its links go down on both pages.
    const cutAt = Date.now();
    relay.cut(['alpha', 'beta'], ['gamma']);
    const downAt = await until('alpha shows gamma down', async () => (await meshLinks(page))['gamma'] !== 'up', TICK_MS + SLACK_MS);
    await until('gamma shows both its links down', async () => Object.values(await meshLinks(gammaPage)).every((s) => s !== 'up'), TICK_MS + SLACK_MS);
    expect((await meshLinks(page))['beta']).toBe('up');
    expect(await timelineText(page, 'nodedown', 'gamma')).not.toHaveLength(0);
    await until('beta reports no link to gamma', async () => (await remoteLinks(page)).length === 0, 10_000);
    expect(downAt - cutAt).toBeLessThanOrEqual(TICK_MS + SLACK_MS);
    await shot(page, '2-cut');
    // Silent long enough for the detector to call gamma down, as a real cut would be.
    await new Promise((r) => setTimeout(r, MAX_SILENCE_MS * 1.5));
    // The rounds gamma missed show as loss seen (beta, still heard, loses next to nothing).
    const lossOf = async (peer: string): Promise<number> => Number.parseFloat((await tableRows(page))[peer]?.cells['Loss'] ?? 'NaN');
    await until('alpha shows loss for gamma', async () => (await lossOf('gamma')) >= 10, 10_000);
    expect(await lossOf('beta')).toBeLessThan(10);

    // Phase 3: heal. Heartbeats flow again while the links stay down (auto_connect = once): a
    // partition on the timeline within a few heartbeat intervals, then a decision once the two
    // views were stable for stable_after.
    const healAt = Date.now();
    relay.heal();
    const partitionAt = await until('a partition on alpha\'s timeline', async () => (await timelineText(page, 'partition', 'gamma')).length > 0, 2 * HEARTBEAT_MS + SLACK_MS);
    const decisionAt = await until('a decision on alpha\'s timeline', async () => (await timelineText(page, 'decision', 'gamma')).length > 0, STABLE_AFTER_MS + 2 * HEARTBEAT_MS + SLACK_MS);
    console.log(`${name}: cut -> link down on the page ${downAt - cutAt} ms; heal -> partition ${partitionAt - healAt} ms; partition -> decision ${decisionAt - partitionAt} ms (stable_after ${STABLE_AFTER_MS} ms)`);
    expect(partitionAt - healAt).toBeLessThanOrEqual(2 * HEARTBEAT_MS + SLACK_MS);
    expect(decisionAt - partitionAt).toBeLessThanOrEqual(STABLE_AFTER_MS + 2 * HEARTBEAT_MS + SLACK_MS);
    // In words, both sides' views: {alpha, beta} stays, gamma's side of one restarts.
    await until('the decision names both sides', async () => /mine: 2 nodes.*theirs: 1 node.*→ stay \(keep-majority\)/.test((await timelineText(page, 'decision', 'gamma'))[0] ?? ''), 5000);
    await until('gamma is partitioned on alpha\'s page', async () => (await meshLinks(page))['gamma'] === 'partitioned', 5000);
    await until('gamma\'s own page says it restarts', async () => (await gammaPage.$$eval('#timeline li[data-type="decision"]', (els) => els.map((e) => e.textContent ?? ''))).some((t) => /mine: 1 node.*theirs: 2 nodes.*→ restart/.test(t)), 5000);
    // The partition came before the decision: the timeline is newest first.
    const order = await page.$$eval('#timeline li[data-node="gamma"]', (els) => els.map((e) => e.getAttribute('data-type')));
    expect(order.indexOf('decision')).toBeLessThan(order.lastIndexOf('partition'));
    await shot(page, '3-partition');
    // The README's picture: header, mesh and timeline.
    await page.screenshot({ path: join(shots, '3-partition-readme.png') as `${string}.png`, clip: { x: 0, y: 0, width: 1280, height: 620 } });
    await shot(gammaPage, '3-partition-gamma');

    // Phase 4: gamma exits 75 for its supervisor, which starts it again (this test plays systemd).
    expect(await gamma.exited).toBe(75);
    // Its page notices: the daemon it watched is gone.
    await gammaPage.waitForSelector('#stream-state[data-state="reconnecting"]', { timeout: 15_000 });
    const again = await start('gamma');
    expect(again.ready.incarnation).toBe(2);
    await until('alpha shows the mesh whole again', async () => {
      const rows = await tableRows(page);
      return JSON.stringify(await meshLinks(page)) === JSON.stringify({ beta: 'up', gamma: 'up' }) && rows['gamma']?.cells['Incarnation'] === '2';
    });
    await until('alpha draws the beta-gamma link again', async () => (await remoteLinks(page)).join() === 'beta|gamma', 10_000);
    const newGammaPage = await openPage(await loginUrl(again));
    await until('the restarted gamma shows both links up', async () => JSON.stringify(await meshLinks(newGammaPage)) === JSON.stringify({ alpha: 'up', beta: 'up' }));
    await shot(page, '4-whole-again');

    // Another local web app attacks: a page on another port of 127.0.0.1 is the same site, so the
    // browser sends the SameSite=Strict cookie with its form post (a text/plain body that parses
    // as JSON) and its no-cors fetch. The daemon refuses both: wrong Origin, no CSRF token.
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<!doctype html><form id="f" method="post" enctype="text/plain" action="${control}/v1/disconnect"><input name='{"node":"beta","pad":"' value='"}'></form>` +
          `<script>fetch(${JSON.stringify(`${control}/v1/disconnect`)}, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{"node":"beta"}' }).finally(() => document.getElementById('f').submit());</script>`,
      );
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const attacker = await browser.browser.newPage(); // not the daemon's page: its requests are the attack
    await attacker.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`);
    await attacker.waitForFunction(() => location.pathname === '/v1/disconnect', { timeout: 10_000 });
    expect(JSON.parse((await attacker.evaluate(() => document.body.textContent)) ?? '')).toEqual({
      error: { code: 'CSRF', message: 'an action by the page needs its CSRF token and a same-origin request' },
    });
    await attacker.close();
    evil.close();
    await new Promise((r) => setTimeout(r, 500));
    expect((await meshLinks(page))['beta']).toBe('up');
    expect(await timelineText(page, 'nodedown', 'beta')).toEqual([]);

    // Phase 5: an action by keyboard, which asks first. Escape backs out; confirming disconnects.
    await gammaPage.close();
    await newGammaPage.close();
    await page.bringToFront();
    expect(await page.$eval('#peers tr[data-node="beta"] button', (b) => b.textContent)).toBe('Disconnect…');
    await page.focus('#peers tr[data-node="beta"] button');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog.confirm[open]');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await page.keyboard.press('Escape');
    await until('the dialog closed', async () => (await page.$$('dialog.confirm')).length === 0, 5000);
    expect(await page.$eval('#action-result', (e) => e.textContent)).toContain('cancelled');
    expect((await meshLinks(page))['beta']).toBe('up');
    expect(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-node'))).toBe('beta');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog.confirm[open]');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Disconnect');
    await page.keyboard.press('Enter');
    await until('beta\'s link closed on purpose', async () => (await timelineText(page, 'nodedown', 'beta')).some((t) => t.includes('disconnect')), 10_000);
    await until('beta no longer up', async () => (await meshLinks(page))['beta'] !== 'up', 10_000);
    await shot(page, '5-disconnected');

    // Phase 6: join a fourth node by its address from the page, then leave the cluster from the
    // page; both ask first, both work by keyboard, both go through the cookie + CSRF checks.
    // (gamma goes first, by the CLI's way: a node linked to alpha and not to delta would make the
    // kernel drop a link on purpose, prevent_overlapping_partitions.)
    await callControl(await again.target(), 'POST', '/v1/disconnect', { node: 'alpha' });
    await until('alpha alone', async () => Object.values(await meshLinks(page)).every((s) => s !== 'up'), 10_000);
    const deltaState = join(home, 'delta');
    const delta = await startDaemon(['--name', 'delta', '--state-dir', deltaState, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'], {
      cwd: home,
      env: cleanEnv(home, { DISTKIT_HEARTBEAT_INTERVAL: String(HEARTBEAT_MS) }),
      stateDir: deltaState,
    });
    daemons.set('delta' as Name, delta);
    const deltaEvents: StreamedEvent[] = [];
    void (async () => {
      for await (const e of streamControlEvents(await delta.target())) deltaEvents.push(e);
    })().catch(() => {});
    await page.focus('#join-address');
    await page.keyboard.type(delta.ready.listen);
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog.confirm[open]');
    expect(await page.$eval('#confirm-title', (e) => e.textContent)).toBe(`Join the node at ${delta.ready.listen}?`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Join');
    await page.keyboard.press('Enter');
    await until('delta up on alpha\'s page', async () => (await meshLinks(page))['delta'] === 'up', 10_000);
    expect(await page.$eval('#action-result', (e) => e.textContent)).toBe(`join ${delta.ready.listen}: done`);
    expect(await readFile(join(home, 'alpha', 'joined_nodes'), 'utf8')).toContain(`delta ${delta.ready.listen}`);
    await shot(page, '6-joined');

    await page.focus('#leave');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog.confirm[open]');
    expect(await page.$eval('#confirm-title', (e) => e.textContent)).toBe('Leave the cluster?');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await alpha.exited).toBe(0);
    await page.waitForSelector('#stream-state[data-state="logged-out"]', { timeout: 10_000 });
    expect(await page.$eval('#stream-state', (e) => e.textContent)).toBe('left the cluster: distkitd stopped');
    await until('delta is told alpha left', () => deltaEvents.some((e) => e.type === 'nodedown' && (e.data as { node: string }).node === 'alpha'), 10_000);
    expect(deltaEvents.find((e) => e.type === 'nodedown')?.data).toMatchObject({ node: 'alpha', deliberate: 'leave' });
    await shot(page, '7-left');

    // The interception saw the page's own traffic (so it was in the way), and nothing else.
    expect(passed).toEqual(expect.arrayContaining(['/ui', '/ui/app.js', '/ui/app.css', '/v1/status', '/v1/nodes', '/v1/events?replay=true']));
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });
});

describe('control.ui = false', () => {
  it('no page: no login link in the banner, /ui is just another unknown path of the API', async () => {
    home = await mkdtemp(join(tmpdir(), 'distkitd-ui-off-'));
    const state = join(home, 'solo');
    const d = await startDaemon(['--name', 'solo', '--state-dir', state, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'], {
      cwd: home,
      env: cleanEnv(home, { DISTKIT_CONTROL_UI: 'false' }),
      stateDir: state,
    });
    daemons.set('alpha', d);
    await until('the banner', () => d.stderr().includes('Start a second node'));
    expect(d.stderr()).not.toMatch(/^ {2}page /m);
    const page = await get(`${d.ready.control}/ui`);
    expect(page.status).toBe(401);
    expect(JSON.parse(page.body)).toEqual({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' } });
  });
});
