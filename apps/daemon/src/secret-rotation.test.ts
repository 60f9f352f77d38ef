// Online rotation of the cluster secret across three real `distkitd run` processes, driven by the
// CLI on each node as an operator would (issue 14): `secret install` the new secret everywhere,
// `secret use` it everywhere, `secret remove` the old one everywhere, and through it all no link
// among the three drops (no nodedown on any of their event streams). A fourth node holding only
// the new secret shows which secret dials: a join to it fails while the three still dial with the
// old one and succeeds after `use`. A fifth holding only the old secret cannot link after `remove`.
// Secrets never appear in any output.
import { copyFile, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, type CliResult } from './cli-process.test-support.ts';
import { callControl, streamControlEvents, type StreamedEvent } from './control-client.ts';
import { freePort, startDaemon, type RunningDaemon } from './daemon-process.test-support.ts';

let home: string;
const running: RunningDaemon[] = [];
const stops: AbortController[] = [];
const NAMES = ['ra', 'rb', 'rc'] as const;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'distkitd-rotation-'));
});
afterAll(async () => {
  for (const s of stops) s.abort();
  for (const d of running) await d.stop('SIGKILL');
});

const env = (): Record<string, string> => cleanEnv(home, { DISTKIT_HEARTBEAT_INTERVAL: '200', DISTKIT_SETUP_TIME: '2000' });
const cli = (args: readonly string[], node: string): Promise<CliResult> => runCli([...args, '--state-dir', join(home, node)], { cwd: home, env: env() });

async function daemon(name: string, port: number, secretFile: string, args: readonly string[] = []): Promise<RunningDaemon> {
  const state = join(home, name);
  const d = await startDaemon(['--name', name, '--state-dir', state, '--listen', `127.0.0.1:${port}`, '--control', '127.0.0.1:0', '--cluster-secret-file', secretFile, ...args], {
    cwd: home,
    env: env(),
    stateDir: state,
  });
  running.push(d);
  return d;
}

type Status = { clusterSecrets: string[]; stats: { handshakes: Record<string, number>; heartbeatsReceived: number; drops: Record<string, number> } };
const status = async (d: RunningDaemon): Promise<Status> => (await callControl(await d.target(), 'GET', '/v1/status')) as Status;
const linkedTo = async (d: RunningDaemon): Promise<string[]> =>
  ((await callControl(await d.target(), 'GET', '/v1/nodes')) as { nodes: Array<{ name: string; connected: boolean }> }).nodes.filter((n) => n.connected).map((n) => n.name).sort();

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await Promise.resolve().then(cond).catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The base64 secrets of a keyring file, to check no output ever holds one. */
async function secretsIn(file: string): Promise<string[]> {
  return [...(await readFile(file, 'utf8')).matchAll(/^distkit-cluster-secret (\S+)$/gm)].map((m) => m[1] as string);
}

describe('online rotation of the cluster secret, three daemons', () => {
  it('install, use, remove on every node: no link drops; new links use the new secret; the old one is refused after remove', async () => {
    const ports = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await freePort()] as const))) as Record<(typeof NAMES)[number], number>;
    // One secret, copied to every node's own keyring file (as an operator copies it over ssh).
    const first = join(home, 'first.secret');
    const made = await runCli(['secret', 'new', '--out', first, '--json'], { cwd: home, env: env() });
    expect(made.code, made.stderr).toBe(0);
    const oldId = (JSON.parse(made.stdout) as { id: string }).id;
    expect(oldId).toMatch(/^[0-9a-f]{8}$/);
    const keyring = (n: string): string => join(home, `${n}.keyring`);
    for (const n of NAMES) await copyFile(first, keyring(n));

    const nodes = new Map<string, RunningDaemon>();
    for (const n of NAMES) nodes.set(n, await daemon(n, ports[n], keyring(n), NAMES.filter((x) => x !== n).flatMap((x) => ['--peer', `${x}=127.0.0.1:${ports[x]}`])));
    const each = (): Array<[string, RunningDaemon]> => [...nodes.entries()];
    for (const [n, d] of each()) await until(`${n} linked to the two others`, async () => (await linkedTo(d)).join() === NAMES.filter((x) => x !== n).join());

    // Every event of the three from now on: no link among them may drop during the rotation.
    const events = new Map<string, StreamedEvent[]>();
    for (const [n, d] of each()) {
      const seen: StreamedEvent[] = [];
      events.set(n, seen);
      const stop = new AbortController();
      stops.push(stop);
      const target = await d.target();
      void (async () => {
        for await (const e of streamControlEvents(target)) if (!stop.signal.aborted) seen.push(e);
      })().catch(() => {});
    }
    const dropped = (): string[] =>
      [...events.entries()].flatMap(([n, seen]) => seen.filter((e) => e.type === 'nodedown' && NAMES.includes((e.data as { node: string }).node as never)).map((e) => `${n}: ${JSON.stringify(e.data)}`));
    const outputs: string[] = [];
    const step = async (args: readonly string[], n: string): Promise<CliResult> => {
      const r = await cli(args, n);
      outputs.push(r.stdout, r.stderr);
      expect(r.code, `${n}: ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };

    // The fourth node holds only the new secret.
    const fresh = join(home, 'new.secret');
    const second = await runCli(['secret', 'new', '--out', fresh, '--json'], { cwd: home, env: env() });
    const newId = (JSON.parse(second.stdout) as { id: string }).id;
    const dPort = await freePort();
    const onlyNew = join(home, 'rd.keyring');
    await copyFile(fresh, onlyNew);
    const rd = await daemon('rd', dPort, onlyNew, ['--auto-connect', 'never']);

    // 1. install: every node accepts the new secret and still dials with the old one.
    for (const [n, d] of each()) {
      const r = await step(['secret', 'install', fresh], n);
      expect(r.stdout).toContain(`installed ${newId} (accepted; still dialling with ${oldId})`);
      expect(r.stdout).toContain(`the running distkitd (pid ${d.process.pid}) uses it now`);
      expect((await status(d)).clusterSecrets).toEqual([oldId, newId]);
    }
    expect((await stat(keyring('ra'))).mode & 0o777).toBe(0o600);
    const listed = await step(['secret', 'list'], 'ra');
    expect(listed.stdout).toMatch(new RegExp(`${oldId}\\s+dials and accepts\\n${newId}\\s+accepts`));
    // Still dialling with the old secret: the node that has only the new one refuses the link.
    const early = await cli(['join', `127.0.0.1:${dPort}`, '--name', 'rd'], 'ra');
    expect(early.code).toBe(1);
    expect(await linkedTo(rd)).toEqual([]);
    expect((await status(rd)).stats.handshakes['bad_secret']).toBeGreaterThanOrEqual(1);

    // 2. use: new links are made with the new secret.
    for (const [n, d] of each()) {
      const r = await step(['secret', 'use', newId], n);
      expect(r.stdout).toContain(`now dialling with ${newId}`);
      expect((await status(d)).clusterSecrets).toEqual([newId, oldId]);
    }
    await step(['join', `127.0.0.1:${dPort}`, '--name', 'rd'], 'ra');
    expect(await linkedTo(rd)).toContain('ra');
    // The mesh does the rest: ra lists rd to rb and rc, they learn where it listens and dial it,
    // with the new secret (rd holds no other).
    await until('rd linked to all three', async () => (await linkedTo(rd)).join() === NAMES.join());

    // 3. remove the old one everywhere (the one in use cannot be removed).
    const inUse = await cli(['secret', 'remove', newId], 'rb');
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain(`${newId} is the secret this node dials with`);
    for (const [n, d] of each()) {
      const r = await step(['secret', 'remove', oldId], n);
      expect(r.stdout).toContain(`removed ${oldId}`);
      expect((await status(d)).clusterSecrets).toEqual([newId]);
    }
    expect(await secretsIn(keyring('rc'))).toEqual(await secretsIn(fresh));

    // No link among the three dropped at any step, and they still hear each other: heartbeats
    // keyed with the new secret alone arrive, none fails its MAC.
    const counts = new Map<string, Status['stats']>();
    for (const [n, d] of each()) counts.set(n, (await status(d)).stats);
    await new Promise((r) => setTimeout(r, 1000));
    for (const [n, d] of each()) {
      const before = counts.get(n) as Status['stats'];
      const after = (await status(d)).stats;
      expect(after.heartbeatsReceived - before.heartbeatsReceived, n).toBeGreaterThanOrEqual(4);
      expect(after.drops['unauthenticated'], n).toBe(before.drops['unauthenticated']);
    }
    expect(dropped()).toEqual([]);
    for (const [n, d] of each()) expect(await linkedTo(d), n).toEqual([...NAMES.filter((x) => x !== n), 'rd']);
    // Heartbeats stayed authentic at every step: no verdict among the three left `up` (degraded would say the datagrams failed).
    for (const [n, seen] of events) {
      expect(seen.filter((e) => e.type === 'verdict' && NAMES.includes((e.data as { node: string }).node as never) && (e.data as { verdict: string }).verdict !== 'up'), n).toEqual([]);
    }

    // A node holding only the old secret is refused now.
    const oldOnly = join(home, 're.keyring');
    await copyFile(first, oldOnly);
    const re = await daemon('re', await freePort(), oldOnly, ['--auto-connect', 'never']);
    const rb = nodes.get('rb') as RunningDaemon;
    const refusedBefore = (await status(rb)).stats.handshakes['bad_secret'] ?? 0;
    const late = await cli(['join', `127.0.0.1:${ports.rb}`, '--name', 'rb'], 're');
    expect(late.code).toBe(1);
    expect(await linkedTo(re)).toEqual([]);
    expect((await status(rb)).stats.handshakes['bad_secret']).toBeGreaterThan(refusedBefore);

    // A link made again from scratch among the three uses the new secret alone.
    await step(['disconnect', 'rc'], 'rb');
    await step(['connect', 'rc'], 'rb');
    expect(await linkedTo(rb)).toContain('rc');

    // The secrets themselves never appeared in any output.
    const secrets = [...(await secretsIn(first)), ...(await secretsIn(fresh))];
    for (const text of [...outputs, made.stdout, second.stdout, ...running.flatMap((d) => [d.stderr(), JSON.stringify(d.logs)])]) {
      for (const secret of secrets) expect(text).not.toContain(secret.slice(0, 16));
    }
  });
});
