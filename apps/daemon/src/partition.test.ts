// The issue's test 4: a real partition between daemons in Linux network namespaces. Three
// namespaces hang off one bridge (in a fourth); cutting c's bridge port splits {a, b} | {c}, all
// traffic dropped, long enough for the links to die; healing brings heartbeats back with the same
// incarnations while the links stay down (auto_connect = once), which is a partition. Exactly one
// side (c, the minority under keep-majority) runs its restart hook and exits 75; restarted (as
// systemd would), it rejoins and the mesh is whole. The namespaces live in a user namespace
// (netns.test-support.ts), so the test runs as root (CI) and as an ordinary user alike. The nodes
// listen on reachable addresses, so they share a cluster secret made by `distkitd secret new`.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './cli-process.test-support.ts';
import { callControl } from './control-client.ts';
import { startDaemon, type RunningDaemon } from './daemon-process.test-support.ts';
import { createNetwork, namespaceSupport, type TestNetwork } from './netns.test-support.ts';

const unsupported = namespaceSupport();
if (unsupported !== null) throw new Error(unsupported);

const tag = `dk${process.pid % 100_000}`;
const subnet = `10.${100 + (process.pid % 100)}.${process.pid % 250}`;
const NODES = ['a', 'b', 'c'] as const;
type Name = (typeof NODES)[number];

let net: TestNetwork;
let home: string;
const daemons = new Map<Name, RunningDaemon>();

beforeAll(async () => {
  net = await createNetwork(NODES, subnet, tag);
});
afterAll(async () => {
  for (const d of daemons.values()) await d.stop('SIGKILL');
  net?.destroy();
});

async function start(n: Name): Promise<RunningDaemon> {
  const state = join(home, n);
  const args = [
    '--name', n,
    '--state-dir', state,
    '--listen', `${net.ip(n)}:4370`,
    '--cluster-secret-file', join(home, 'cluster_secret'),
    // Unix sockets live in the file system, so the test reaches every namespace's control API.
    '--control', `unix:${join(home, `${n}.sock`)}`,
    '--auto-connect', 'once',
    '--strategy', 'keep-majority',
    ...NODES.filter((x) => x !== n).flatMap((x) => ['--peer', `${x}=${net.ip(x)}:4370`]),
  ];
  const env = cleanEnv(home, {
    DISTKIT_HEARTBEAT_INTERVAL: '200',
    DISTKIT_TICK_TIME: '2000',
    DISTKIT_DETECTOR_STABLE_AFTER: '600',
    DISTKIT_DETECTOR_MAX_SILENCE: '1000',
    // Time for the other side to reach its own decision before the restarting node leaves.
    DISTKIT_HOOKS_RESTART_DELAY: '2000',
    DISTKIT_HOOKS_ON_RESTART: `echo "$DISTKIT_SELF $DISTKIT_DECISION $DISTKIT_NODE" >> ${join(home, 'restart-hooks')}`,
  });
  // The daemon runs inside its namespace: `nsenter --target <holder> ... node ...`.
  const d = await startDaemon(args, { cwd: home, env, stateDir: state, wrap: net.exec(n) });
  daemons.set(n, d);
  return d;
}

async function connected(n: Name): Promise<string[]> {
  const target = await daemons.get(n)?.target();
  if (!target) return [];
  const { nodes } = (await callControl(target, 'GET', '/v1/nodes')) as { nodes: Array<{ name: string; connected: boolean }> };
  return nodes.filter((x) => x.connected).map((x) => x.name).sort();
}

async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a real partition (network namespaces)', () => {
  it('cut and heal: exactly one side restarts, every node logs the same decision, the mesh is whole after', async () => {
    const startedAt = Date.now();
    home = await mkdtemp(join(tmpdir(), 'distkitd-netns-'));
    const secret = await runCli(['secret', 'new', '--out', join(home, 'cluster_secret')], { cwd: home, env: cleanEnv(home) });
    expect(secret.code, secret.stderr).toBe(0);
    for (const n of NODES) await start(n);
    await until('full mesh', async () => (await Promise.all(NODES.map(connected))).every((c) => c.length === 2));

    net.cut('c', true);
    await until('links across the cut are down', async () => (await connected('c')).length === 0 && (await connected('a')).join() === 'b');
    await new Promise((r) => setTimeout(r, 1500)); // heartbeats silent long enough: the peers are down
    net.cut('c', false);

    const c = daemons.get('c') as RunningDaemon;
    expect(await c.exited).toBe(75);
    const decisions = [...daemons.entries()].flatMap(([self, d]) =>
      d.logs.filter((l) => l.msg === 'decision').map((l) => ({ self, node: l['node'], decision: l['decision'], strategy: l['strategy'] })),
    );
    // Every decision, on both sides, says the same thing: c's side restarts, {a, b} stays.
    expect(decisions.length).toBeGreaterThanOrEqual(2);
    for (const d of decisions) {
      expect(d.strategy).toBe('keep-majority');
      expect(d.decision).toBe(d.self === 'c' ? 'restart' : 'stay');
      expect(d.self === 'c' ? ['a', 'b'] : ['c']).toContain(d.node);
    }
    expect(decisions.some((d) => d.self === 'c')).toBe(true);
    // Logs: a decision is one short, readable line: node ids and view hashes in base64 (not
    // {"0":96,...}), `at` in epoch ms like every other event the daemon emits.
    for (const d of daemons.values()) {
      for (const line of d.logs.filter((l) => ['decision', 'partition', 'nodedown', 'nodeup', 'verdict'].includes(l.msg))) {
        const text = JSON.stringify(line);
        expect(text).not.toMatch(/"0":\d/);
        expect(line['at']).toBeGreaterThanOrEqual(startedAt - 1000);
        expect(line['at']).toBeLessThanOrEqual(Date.now() + 1000);
      }
      for (const line of d.logs.filter((l) => l.msg === 'decision')) {
        expect(JSON.stringify(line).length, JSON.stringify(line)).toBeLessThan(450);
        expect(line['mine']).toMatchObject({ lowest: expect.stringMatching(/^[A-Za-z0-9+/]{8}$/), hash: expect.stringMatching(/^[A-Za-z0-9+/]{8}$/) });
      }
    }
    expect(decisions.some((d) => d.self !== 'c')).toBe(true);
    const hooks = (await readFile(join(home, 'restart-hooks'), 'utf8')).trim().split('\n');
    expect(new Set(hooks.map((l) => l.split(' ')[0]))).toEqual(new Set(['c']));
    expect(daemons.get('a')?.process.exitCode).toBeNull();
    expect(daemons.get('b')?.process.exitCode).toBeNull();

    // The supervisor brings c back: a higher incarnation, links made at startup, whole again.
    const again = await start('c');
    expect(again.ready.incarnation).toBe(2);
    await until('whole mesh after the restart', async () => (await Promise.all(NODES.map(connected))).every((x) => x.length === 2));
  });
});
