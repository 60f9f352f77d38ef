// Tags against real `distkitd run` processes (issue 14): the config's tags table and --tag travel
// in the hello and show in the peers' `nodes` (filterable with --tag, repeated = AND) and in
// `status`; `tags set` changes them at run time (the peers see it at once), a SIGHUP after the
// config changed applies the new table under the run-time changes, a restart keeps both, and
// `tags reset` goes back to the config.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './cli-process.test-support.ts';
import { callControl } from './control-client.ts';
import { freePort, startDaemon, type RunningDaemon } from './daemon-process.test-support.ts';

let home: string;
const running: RunningDaemon[] = [];
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'distkitd-tags-'));
});
afterAll(async () => {
  for (const d of running) await d.stop('SIGKILL');
});

const env = (): Record<string, string> => cleanEnv(home);
const cli = (args: readonly string[], node: string) => runCli([...args, '--state-dir', join(home, node)], { cwd: home, env: env() });

async function daemon(name: string, args: readonly string[]): Promise<RunningDaemon> {
  const state = join(home, name);
  const d = await startDaemon(['--name', name, '--state-dir', state, '--control', '127.0.0.1:0', ...args], { cwd: home, env: env(), stateDir: state });
  running.push(d);
  return d;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await Promise.resolve().then(cond).catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Node = { name: string; connected: boolean; tags: Record<string, string> };
const tagsSeenBy = async (d: RunningDaemon, peer: string): Promise<Record<string, string> | undefined> =>
  ((await callControl(await d.target(), 'GET', '/v1/nodes')) as { nodes: Node[] }).nodes.find((n) => n.name === peer)?.tags;
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

describe('tags', () => {
  it('from the config and --tag into the hello; nodes --tag filters; tags set, SIGHUP, restart, tags reset', async () => {
    const config = join(home, 'ta.toml');
    await writeFile(config, '[tags]\nrole = "db"\nzone = "eu-1"\n');
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    // A full mesh: the kernel drops links of a star on purpose (prevent_overlapping_partitions).
    const peers = (...of: Array<[string, number]>): string[] => of.flatMap(([n, p]) => ['--peer', `${n}=127.0.0.1:${p}`]);
    const aArgs = ['-c', config, '--listen', `127.0.0.1:${pa}`, ...peers(['tb', pb], ['tc', pc])];
    let a = await daemon('ta', aArgs);
    const b = await daemon('tb', ['--listen', `127.0.0.1:${pb}`, '--tag', 'role=cache', ...peers(['ta', pa], ['tc', pc])]);
    const c = await daemon('tc', ['--listen', `127.0.0.1:${pc}`, ...peers(['ta', pa], ['tb', pb])]);
    await until('tc sees ta with its tags', async () => same(await tagsSeenBy(c, 'ta'), { role: 'db', zone: 'eu-1' }));
    expect(await tagsSeenBy(a, 'tb')).toEqual({ role: 'cache' });

    // status shows a node's own tags; nodes shows the peers', and filters by them (AND).
    const own = await cli(['status'], 'ta');
    expect(own.stdout).toMatch(/^tags +role=db,zone=eu-1$/m);
    expect(JSON.parse((await cli(['status', '--json'], 'tb')).stdout)).toMatchObject({ tags: { role: 'cache' } });
    await until('ta sees both', async () => (await tagsSeenBy(a, 'tc')) !== undefined && (await tagsSeenBy(a, 'tb')) !== undefined);
    const names = async (node: string, ...filters: string[]): Promise<string[]> => {
      const r = await cli(['nodes', '--json', ...filters.flatMap((f) => ['--tag', f])], node);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as Node[]).map((n) => n.name).sort();
    };
    expect(await names('ta')).toEqual(['tb', 'tc']);
    expect(await names('ta', 'role=cache')).toEqual(['tb']);
    expect(await names('ta', 'role')).toEqual(['tb']);
    expect(await names('tc', 'role')).toEqual(['ta', 'tb']);
    expect(await names('tc', 'role=db', 'zone=eu-1')).toEqual(['ta']);
    expect(await names('tc', 'role=db', 'zone=us-1')).toEqual([]);
    const table = await cli(['nodes', '--tag', 'role=db'], 'tc');
    expect(table.stdout, table.stdout).toMatch(/^ta +up .*role=db,zone=eu-1/m);
    expect((await cli(['nodes', '--tag', 'zone=mars'], 'tc')).stdout).toBe('no known node has the tags zone=mars\n');
    const badFilter = await cli(['nodes', '--tag', 'bad key!'], 'tc');
    expect(badFilter.code).toBe(78);

    // At run time: the peers see the change at once, over the live link.
    const set = await cli(['tags', 'set', 'rack=r7', '--remove', 'zone'], 'ta');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('tags now: role=db,rack=r7\n');
    await until('tc sees the change', async () => same(await tagsSeenBy(c, 'ta'), { role: 'db', rack: 'r7' }));
    const bad = await cli(['tags', 'set', 'bad key!=x'], 'ta');
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('key "bad key!" may hold letters, digits and . _ - / only');
    expect((await cli(['tags', 'set'], 'ta')).code).toBe(78);
    for (const body of [{ set: ['x'] }, { remove: 'zone' }, { set: { k: '' } }, { reset: 'yes' }]) {
      await expect(callControl(await a.target(), 'POST', '/v1/tags', body), JSON.stringify(body)).rejects.toThrow(/distkitd answered 400 (BAD_REQUEST|BAD_FLAG)/);
    }
    await expect(callControl(await a.target(), 'GET', '/v1/nodes?tag=no%20such')).rejects.toThrow(/distkitd answered 400 BAD_REQUEST: tag: /);

    // SIGHUP re-reads the config's table; the run-time changes stay on top of it.
    await writeFile(config, '[tags]\nrole = "primary"\nzone = "eu-1"\nos = "linux"\n');
    a.process.kill('SIGHUP');
    await until('tc sees the reloaded tags', async () => same(await tagsSeenBy(c, 'ta'), { role: 'primary', os: 'linux', rack: 'r7' }));
    await a.waitForLog((l) => l.msg === 'reloaded');

    // A restart keeps them (tags.json in the state folder), in the hello of the new links.
    expect(JSON.parse(await readFile(join(home, 'ta', 'tags.json'), 'utf8'))).toEqual({ set: { rack: 'r7' }, remove: ['zone'] });
    expect(await a.stop()).toBe(0);
    a = await daemon('ta', aArgs);
    expect(a.ready.incarnation).toBe(2);
    await until('tc sees the restarted ta with the same tags', async () => {
      const n = ((await callControl(await c.target(), 'GET', '/v1/nodes')) as { nodes: Array<Node & { incarnation: number }> }).nodes.find((x) => x.name === 'ta');
      return n?.connected === true && n.incarnation === 2 && same(n.tags, { role: 'primary', os: 'linux', rack: 'r7' });
    });

    // reset: the config's table alone.
    const reset = await cli(['tags', 'reset', '--json'], 'ta');
    expect(JSON.parse(reset.stdout)).toEqual({ role: 'primary', zone: 'eu-1', os: 'linux' });
    await until('tc sees the config\'s tags', async () => same(await tagsSeenBy(c, 'ta'), { role: 'primary', zone: 'eu-1', os: 'linux' }));
  });
});
