// Run-time membership against real `distkitd run` processes (real kernel, loopback sockets), driven
// through the CLI as an operator would (issue 14): `join HOST:PORT` links and is remembered across
// a restart of either side; a join that fails leaves nothing behind; `leave` tells every peer
// (nodedown with deliberate "leave", no partition and no decision on their event streams), then
// the daemon exits 0; `force-leave` forgets a dead node: its dials and heartbeats stop, seen on
// sockets this test binds on the dead node's port.
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './cli-process.test-support.ts';
import { callControl, streamControlEvents, type StreamedEvent } from './control-client.ts';
import { freePort, startDaemon, type RunningDaemon } from './daemon-process.test-support.ts';

let home: string;
const running: RunningDaemon[] = [];
const streams: AbortController[] = [];

// Short intervals, so a partition or a decision would show within seconds if one were reported.
const HEARTBEAT_MS = 200;
const STABLE_AFTER_MS = 600;
const env = (): Record<string, string> =>
  cleanEnv(home, {
    DISTKIT_HEARTBEAT_INTERVAL: String(HEARTBEAT_MS),
    DISTKIT_DETECTOR_STABLE_AFTER: String(STABLE_AFTER_MS),
    DISTKIT_DETECTOR_MAX_SILENCE: '1000',
    // A join the kernel never answers (the wrong name below) is given up after setup_time + 3 s.
    DISTKIT_SETUP_TIME: '2000',
  });

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'distkitd-members-'));
});
afterEach(async () => {
  for (const s of streams.splice(0)) s.abort();
  for (const d of running.splice(0)) await d.stop('SIGKILL');
});
afterAll(async () => {
  for (const d of running.splice(0)) await d.stop('SIGKILL');
});

async function daemon(name: string, port: number | 0, args: readonly string[] = []): Promise<RunningDaemon> {
  const state = join(home, name);
  const d = await startDaemon(['--name', name, '--state-dir', state, '--listen', `127.0.0.1:${port}`, '--control', '127.0.0.1:0', ...args], { cwd: home, env: env(), stateDir: state });
  running.push(d);
  return d;
}

const cli = (args: readonly string[], state: string) => runCli([...args, '--state-dir', join(home, state)], { cwd: home, env: env() });

type Node = { name: string; connected: boolean; verdict: string; incarnation: number | null; address: { host: string; port: number } | null };

async function nodesOf(d: RunningDaemon): Promise<Node[]> {
  return ((await callControl(await d.target(), 'GET', '/v1/nodes')) as { nodes: Node[] }).nodes;
}

/** Every event a daemon streams from now on. */
async function record(d: RunningDaemon): Promise<StreamedEvent[]> {
  const events: StreamedEvent[] = [];
  const stop = new AbortController();
  streams.push(stop);
  const target = await d.target();
  void (async () => {
    for await (const e of streamControlEvents(target)) {
      if (stop.signal.aborted) return;
      events.push(e);
    }
  })().catch(() => {});
  // The stream is open once the daemon has answered with its first comment; a status round trip after subscribing is enough here.
  await callControl(target, 'GET', '/v1/status');
  return events;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await Promise.resolve().then(cond).catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const linked = async (d: RunningDaemon, peer: string, incarnation?: number): Promise<boolean> =>
  (await nodesOf(d)).some((n) => n.name === peer && n.connected && (incarnation === undefined || n.incarnation === incarnation));

describe('distkitd join', () => {
  it('links to HOST:PORT, records it in joined_nodes, and stays joined after a restart of either side', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    let a = await daemon('a', pa);
    let b = await daemon('b', pb);

    // A join to nothing, and a join that names the wrong node, fail and leave nothing behind.
    const closed = await freePort();
    const nothing = await cli(['join', `127.0.0.1:${closed}`], 'b');
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/distkitd answered 502 CONNECT_FAILED: cannot join 127\.0\.0\.1:\d+/);
    const wrong = await cli(['join', `127.0.0.1:${pa}`, '--name', 'not-a'], 'b');
    expect(wrong.code, wrong.stderr).toBe(1);
    expect(wrong.stderr).toMatch(/distkitd answered 502 CONNECT_FAILED: .*dialled not-a but the peer says it is a/);
    // Nothing is left of it, so nothing dials or heartbeats it.
    expect((await nodesOf(b)).map((n) => n.name)).not.toContain('not-a');
    await expect(readFile(join(home, 'b', 'joined_nodes'), 'utf8')).rejects.toThrow(/ENOENT/);
    const bad = await cli(['join', 'no-port-here'], 'b');
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('is not HOST:PORT');
    // The route checks what it is given, as a script or the page would send it.
    for (const body of [{}, { address: 'x' }, { address: '127.0.0.1:0' }, { address: `127.0.0.1:${pa}`, name: 'bad name' }, { address: `127.0.0.1:${pa}`, publicKey: 'AAAA' }]) {
      await expect(callControl(await b.target(), 'POST', '/v1/join', body), JSON.stringify(body)).rejects.toThrow(/distkitd answered 400 BAD_REQUEST/);
    }

    // The node names itself in the handshake.
    const joined = await cli(['join', `127.0.0.1:${pa}`], 'b');
    expect(joined.code, joined.stderr).toBe(0);
    expect(joined.stdout).toBe(`joined a at 127.0.0.1:${pa}; recorded in joined_nodes (linked again at every start)\n`);
    expect(await linked(a, 'b')).toBe(true);
    expect(await readFile(join(home, 'b', 'joined_nodes'), 'utf8')).toMatch(new RegExp(`^a 127\\.0\\.0\\.1:${pa}$`, 'm'));
    expect((await nodesOf(b)).find((n) => n.name === 'a')?.address).toEqual({ host: '127.0.0.1', port: pa });

    // The joiner restarts: it links again from joined_nodes.
    expect(await b.stop()).toBe(0);
    b = await daemon('b', pb);
    await until('b links a again at its start', () => linked(a, 'b', 2));

    // The joined node restarts (its supervisor's SIGTERM, then a start): it does not know b, but b
    // links it again once it is back.
    expect(await a.stop()).toBe(0);
    await b.waitForLog((l) => l.msg === 'a joined peer stopped on purpose: linking it again when it is back');
    a = await daemon('a', pa);
    await until('b links the restarted a', () => linked(b, 'a', 2));
    await b.waitForLog((l) => l.msg === 'linked a joined peer again after its restart');
  });
});

describe('distkitd join, three nodes', () => {
  it('b and c each join a, and end linked to each other too (the mesh learns where they listen)', async () => {
    const pa = await freePort();
    const a = await daemon('ma', pa);
    const b = await daemon('mb', 0);
    const c = await daemon('mc', 0);
    expect((await cli(['join', `127.0.0.1:${pa}`], 'mb')).code).toBe(0);
    expect((await cli(['join', `127.0.0.1:${pa}`], 'mc')).code).toBe(0);
    await until('mb and mc linked', async () => (await linked(b, 'mc')) && (await linked(c, 'mb')));
    // a knows where its joiners listen, and the links stay (no overlapping-partition drop).
    const listenOf = async (d: RunningDaemon) => ((await callControl(await d.target(), 'GET', '/v1/status')) as { address: { port: number } }).address.port;
    expect((await nodesOf(a)).find((n) => n.name === 'mb')?.address).toEqual({ host: '127.0.0.1', port: await listenOf(b) });
    await new Promise((r) => setTimeout(r, 3000));
    for (const [d, peers] of [[a, ['mb', 'mc']], [b, ['ma', 'mc']], [c, ['ma', 'mb']]] as const) {
      expect((await nodesOf(d)).filter((n) => n.connected).map((n) => n.name).sort()).toEqual(peers);
    }
  });
});

describe('distkitd leave', () => {
  it('every peer is told: nodedown with deliberate "leave", no partition and no decision anywhere; the daemon exits 0', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await daemon('la', pa, ['--peer', `lb=127.0.0.1:${pb}`]);
    const b = await daemon('lb', pb, ['--peer', `la=127.0.0.1:${pa}`]);
    const c = await daemon('lc', 0, ['--peer', `la=127.0.0.1:${pa}`]);
    expect((await cli(['join', `127.0.0.1:${pb}`], 'lc')).code).toBe(0);
    await until('lc linked to both', async () => (await linked(c, 'la')) && (await linked(c, 'lb')));
    const seen = { la: await record(a), lb: await record(b) };

    const left = await cli(['leave'], 'lc');
    expect(left.code, left.stderr).toBe(0);
    expect(left.stdout).toBe(`lc left the cluster: every peer was told; distkitd (pid ${c.process.pid}) stopped\n`);
    expect(await c.exited).toBe(0);
    await c.waitForLog((l) => l.msg === 'left the cluster');
    // It forgot whom it had joined: started again, it would link only the peers of its config.
    expect(await readFile(join(home, 'lc', 'joined_nodes'), 'utf8')).not.toMatch(/^lb /m);

    for (const [name, events] of Object.entries(seen)) {
      await until(`${name} sees lc go`, () => events.some((e) => e.type === 'nodedown' && (e.data as { node: string }).node === 'lc'));
      expect(events.find((e) => e.type === 'nodedown')?.data, name).toMatchObject({ node: 'lc', reason: 'connection_closed', deliberate: 'leave' });
    }
    // Long enough for the detector to report lc (heartbeats stopped, well past stable_after and
    // max_silence) if it took the leave for a failure.
    await new Promise((r) => setTimeout(r, 10 * HEARTBEAT_MS + 2 * STABLE_AFTER_MS + 1000));
    for (const [name, events] of Object.entries(seen)) {
      expect(events.filter((e) => ['partition', 'decision', 'restarted'].includes(e.type)), name).toEqual([]);
      expect(events.filter((e) => e.type === 'nodedown').map((e) => (e.data as { node: string }).node), name).toEqual(['lc']);
    }
    for (const [name, events] of Object.entries(seen)) {
      // Closed on purpose, then silent (it stopped): never "partitioned".
      const verdicts = events.filter((e) => e.type === 'verdict' && (e.data as { node: string }).node === 'lc').map((e) => (e.data as { verdict: string }).verdict);
      expect(verdicts[0], name).toBe('disconnected');
      expect(verdicts, name).not.toContain('partitioned');
    }
    for (const d of [a, b]) {
      expect(d.logs.filter((l) => l.msg === 'partition' || l.msg === 'decision')).toEqual([]);
      await d.waitForLog((l) => l.msg === 'left the cluster on purpose: forgotten' && l['node'] === 'lc');
    }
    expect(await linked(a, 'lb')).toBe(true);
  });
});

describe('distkitd force-leave (with reconnect = "eager")', () => {
  it('forgets a dead node: its dials and heartbeats stop; a linked node is refused', async () => {
    const pb = await freePort();
    const a = await daemon('fa', 0, ['--auto-connect', 'always', '--reconnect', 'eager']);
    const b = await daemon('fb', pb);
    expect((await cli(['join', `127.0.0.1:${pb}`, '--name', 'fb'], 'fa')).code).toBe(0);
    const refused = await cli(['force-leave', 'fb'], 'fa');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('409 NODE_LINKED: fb is linked, so it is not gone');
    const unknown = await cli(['force-leave', 'nobody'], 'fa');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404 UNKNOWN_NODE');

    // fb dies; its port is taken by this test, which counts what fa still sends there.
    await b.stop('SIGKILL');
    const dials: number[] = [];
    const heartbeats: number[] = [];
    const tcp = createServer((s) => {
      dials.push(Date.now());
      s.destroy();
    });
    const udp = createSocket('udp4');
    udp.on('message', () => heartbeats.push(Date.now()));
    await new Promise<void>((r) => tcp.listen(pb, '127.0.0.1', r));
    await new Promise<void>((r) => udp.bind(pb, '127.0.0.1', r));
    try {
      // reconnect = "eager": fa redials the lost link by itself, with backoff.
      await until('fa redials fb (eager) and heartbeats it', () => dials.length >= 2 && heartbeats.length >= 5, 15_000);
      const gap = Math.max(...dials.slice(1).map((t, i) => t - (dials[i] as number)));

      const forced = await cli(['force-leave', 'fb'], 'fa');
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout).toBe('forgot fb (removed from joined_nodes)\n');
      const at = Date.now();
      // Longer than fa's last redial gap (twice) and than many heartbeat intervals.
      await new Promise((r) => setTimeout(r, Math.max(3000, 2 * gap + 500)));
      // A datagram or a dial already on its way at the very moment may still land.
      expect(dials.filter((t) => t > at + 300)).toEqual([]);
      expect(heartbeats.filter((t) => t > at + 300)).toEqual([]);
      expect((await nodesOf(a)).map((n) => n.name)).not.toContain('fb');
      expect(await readFile(join(home, 'fa', 'joined_nodes'), 'utf8')).not.toMatch(/^fb /m);
    } finally {
      tcp.close();
      udp.close();
    }
  });
});
