// The daemon's composition in process: state folder, node options, control API, hooks, reload.
// The node is StandInNode, an in-test DistkitNode: it records the options the daemon builds and
// lets the test inject what the real kernel only reports after real faults (a `decision`, a
// `nodeup` from a denied node). The same paths run on the real kernel in run.test.ts (separate
// processes) and partition.test.ts (a real partition in network namespaces).
import { chmod, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeOptions } from '@distkit/kernel';
import { TrustStore, formatClusterKeyring, generateClusterSecret } from '@distkit/handshake';
import { describe, expect, it } from 'vitest';
import { loadConfig, type DaemonConfig } from './config.ts';
import { callControl, streamControlEvents } from './control-client.ts';
import { Daemon } from './daemon.ts';
import { fingerprint, generateIdentity, encodePublicKey } from './identity.ts';
import { createLogger } from './log.ts';
import { StandInNode, sampleView } from './node-stand-in.test-support.ts';

const log = createLogger({ level: (process.env['DISTKIT_TEST_LOG'] as 'debug' | undefined) ?? 'silent', format: 'json' });

async function setup(flags: Record<string, string | string[]> = {}, file?: string) {
  const dir = await mkdtemp(join(tmpdir(), 'distkitd-daemon-'));
  const state = join(dir, 'state');
  const load = (): Promise<DaemonConfig> =>
    loadConfig({ file: file === undefined ? null : join(dir, 'distkitd.toml'), env: {}, flags: { 'state-dir': state, control: '127.0.0.1:0', 'log-level': 'silent', ...flags }, cwd: dir });
  if (file !== undefined) await writeFile(join(dir, 'distkitd.toml'), file);
  const nodes: StandInNode[] = [];
  const createNode = (options: NodeOptions): StandInNode => {
    const node = new StandInNode(options, fingerprint(options.identity.publicKey));
    nodes.push(node);
    return node;
  };
  const start = async (): Promise<Daemon> => Daemon.start({ config: await load(), createNode, log, reloadConfig: load });
  return { dir, state, nodes, start, rewrite: (text: string) => writeFile(join(dir, 'distkitd.toml'), text) };
}

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

describe('daemon composition (in-test node)', () => {
  it('first start: identity 0600, token 0600, incarnation 1, control.json; every restart: incarnation + 1', async () => {
    const t = await setup();
    const d1 = await t.start();
    expect(d1.ready.createdIdentity).toBe(true);
    expect(d1.ready.incarnation).toBe(1);
    expect(await mode(t.state)).toBe(0o700);
    expect(await mode(join(t.state, 'identity.key'))).toBe(0o600);
    expect(await mode(join(t.state, 'control.token'))).toBe(0o600);
    const info = JSON.parse(await readFile(join(t.state, 'control.json'), 'utf8')) as { url: string; pid: number };
    expect(info.url).toBe(d1.ready.control);
    expect(info.pid).toBe(process.pid);
    const options = t.nodes[0]?.options;
    expect(options?.listen).toEqual({ host: '127.0.0.1', port: 4370 });
    expect(options?.autoConnect).toBe('once');
    expect(options?.reconnect).toBe('on-demand');
    expect(options?.tags).toEqual({});
    expect(options?.name).toMatch(/^node-[0-9a-f]{8}@/);
    expect(d1.ready.join).toContain(`--peer '${d1.ready.name}=127.0.0.1:4370#${d1.ready.publicKey}'`);
    await d1.stop();
    expect(await d1.done).toBe(0);
    expect(t.nodes[0]?.stopped).toBe(true);
    expect((await readdir(t.state)).sort()).toEqual(['control.token', 'identity.key', 'identity.pub', 'incarnation']);

    const d2 = await t.start();
    expect(d2.ready.incarnation).toBe(2);
    expect(d2.ready.createdIdentity).toBe(false);
    expect(d2.ready.fingerprint).toBe(d1.ready.fingerprint);
    await d2.stop();
    const d3 = await t.start();
    expect(d3.ready.incarnation).toBe(3);
    await d3.stop();
  });

  it('one daemon per state folder; a readable key stops the start before the incarnation grows', async () => {
    const t = await setup();
    const d = await t.start();
    await expect(t.start()).rejects.toThrow(`this process already runs a distkitd on the state folder ${t.state}`);
    await d.stop();
    await chmod(join(t.state, 'identity.key'), 0o644);
    await expect(t.start()).rejects.toThrow('Fix with: chmod 600');
    expect((await readFile(join(t.state, 'incarnation'), 'utf8')).trim()).toBe('1');
    expect(await readdir(t.state)).not.toContain('distkitd.pid');
  });

  it('peers get pinned keys from the config or authorized_nodes; trust and cluster secrets reach the node', async () => {
    const beta = generateIdentity().publicKey;
    const gamma = generateIdentity().publicKey;
    const t = await setup(
      {},
      [
        'name = "alpha"',
        'cluster_secret_file = "secret"',
        '[trust]',
        'mode = "strict"',
        '[[peers]]',
        'name = "beta"',
        'address = "127.0.0.1:5001"',
        '[[peers]]',
        'name = "gamma"',
        'address = "127.0.0.1:5002"',
        `public_key = "${encodePublicKey(gamma)}"`,
        'reconnect = "eager"',
        'auto_connect = "always"',
      ].join('\n'),
    );
    const secret = generateClusterSecret();
    await writeFile(join(t.dir, 'secret'), formatClusterKeyring([secret]), { mode: 0o600 });
    const d0 = await t.start();
    await d0.stop();
    await writeFile(join(t.state, 'authorized_nodes'), `beta ${encodePublicKey(beta)}\n`);
    const d = await t.start();
    const o = t.nodes[1]?.options;
    expect(o?.name).toBe('alpha');
    // The daemon hands the kernel its own TrustStore (the kernel takes any store of that shape).
    const store = o?.trust?.store;
    expect(store).toBeInstanceOf(TrustStore);
    expect((store as TrustStore).mode).toBe('strict');
    expect((store as TrustStore).entries().authorized.map((e) => e.name)).toEqual(['beta']);
    expect((store as TrustStore).check('beta', beta)).toBe('trusted');
    expect((store as TrustStore).check('beta', gamma)).toBe('changed');
    expect(o?.peers?.map((p) => [p.name, p.publicKey && fingerprint(p.publicKey)])).toEqual([
      ['beta', fingerprint(beta)],
      ['gamma', fingerprint(gamma)],
    ]);
    // Per-peer overrides reach the kernel's peer as they are, and only where they are set.
    expect(o?.peers?.map((p) => [p.name, p.autoConnect ?? null, p.reconnect ?? null])).toEqual([
      ['beta', null, null],
      ['gamma', 'always', 'eager'],
    ]);
    expect(o?.clusterSecrets).toEqual([secret]);
    await d.stop();
    await chmod(join(t.dir, 'secret'), 0o640);
    await expect(t.start()).rejects.toThrow(`cluster secret file ${join(t.dir, 'secret')} has mode 0640`);
  });

  it('TOFU: a learned key is saved to known_nodes', async () => {
    const t = await setup();
    const d = await t.start();
    const key = generateIdentity().publicKey;
    // What the kernel does on a TOFU handshake: learn in the store, then tell the daemon.
    t.nodes[0]?.options.trust?.store.learn('beta', key);
    t.nodes[0]?.options.trust?.onLearned?.('beta', key);
    await waitFor(async () => (await readFile(join(t.state, 'known_nodes'), 'utf8').catch(() => '')).includes(`beta ${encodePublicKey(key)}`));
    await d.stop();
  });

  it('reload (SIGHUP) hands the kernel a store built from the files again; a malformed file keeps the running one', async () => {
    const t = await setup({ 'trust-mode': 'strict' });
    const d = await t.start();
    const node = t.nodes[0] as StandInNode;
    const beta = generateIdentity().publicKey;
    const check = () => node.trust?.explain('beta', beta).decision;
    expect(check()).toBe('refused');
    await writeFile(join(t.state, 'authorized_nodes'), `beta ${encodePublicKey(beta)}\n`);
    await d.reload();
    expect(check()).toBe('trusted');
    await writeFile(join(t.state, 'authorized_nodes'), '# nobody\n');
    await d.reload();
    expect(check()).toBe('refused');
    // A malformed trust file on reload keeps the running trust.
    const before = node.trust;
    await writeFile(join(t.state, 'authorized_nodes'), `beta ${encodePublicKey(beta)}\nbroken line here too\n`);
    await d.reload();
    expect(node.trust).toBe(before);
    expect(check()).toBe('refused');
    await d.stop();
  });

  it('decision restart: the on_restart hook runs with the facts, then the daemon stops with exit code 75', async () => {
    const t = await setup({}, `[hooks]\nrestart_delay = "50ms"\non_restart = "echo $DISTKIT_DECISION $DISTKIT_NODE $DISTKIT_STRATEGY > restart.out"\n`);
    const d = await t.start();
    t.nodes[0]?.emit({ type: 'decision', node: 'beta', strategy: 'keep-majority', decision: 'restart', mine: sampleView(), theirs: sampleView({ connected: 2 }), at: 1 });
    expect(await d.done).toBe(75);
    expect(await readFile(join(t.state, 'restart.out'), 'utf8')).toBe('restart beta keep-majority\n');
    expect(t.nodes[0]?.stopped).toBe(true);
    expect(await readdir(t.state)).not.toContain('distkitd.pid');
  });

  it('events and received messages reach SSE clients; metrics count decisions', async () => {
    const t = await setup();
    const d = await t.start();
    const target = { url: d.ready.control, token: (await readFile(join(t.state, 'control.token'), 'utf8')).trim() };
    const stream = streamControlEvents(target, ['message', 'partition']);
    const first = stream.next();
    await waitFor(async () => d.events.size >= 1);
    t.nodes[0]?.deliver({ from: 'beta', value: { hello: 'world' } });
    t.nodes[0]?.emit({ type: 'partition', node: 'beta', incarnation: 4, at: 2 });
    expect((await first).value).toMatchObject({ type: 'message', data: { from: 'beta', value: { hello: 'world' } } });
    expect((await stream.next()).value).toMatchObject({ type: 'partition', data: { node: 'beta', incarnation: 4 } });
    await stream.return(undefined);
    t.nodes[0]?.emit({ type: 'decision', node: 'beta', strategy: 'keep-oldest', decision: 'stay', mine: sampleView(), theirs: sampleView({ connected: 2 }), at: 3 });
    await waitFor(async () => ((await callControl(target, 'GET', '/metrics')) as string).includes('distkit_decisions_total{decision="stay",strategy="keep-oldest"} 1'));
    expect(await callControl(target, 'GET', '/v1/status')).toMatchObject({ name: d.ready.name, cluster: 'distkit', pid: process.pid });
    await d.stop();
  });

  it('reload (SIGHUP): the new trust files and allow/deny lists go to the kernel (which closes what they refuse); peers follow the file; a bad file is ignored', async () => {
    const peers = '[[peers]]\nname = "beta"\naddress = "127.0.0.1:5001"\n[[peers]]\nname = "gamma"\naddress = "127.0.0.1:5002"\n';
    const t = await setup({}, peers);
    const d = await t.start();
    const node = t.nodes[0] as StandInNode;
    expect(node.options.policy).toEqual({ allow: null, deny: [] });
    await node.connectNode('beta');
    await node.connectNode('gamma');
    await t.rewrite(`[trust]\ndeny = ["gam*"]\n${peers}[[peers]]\nname = "delta"\naddress = "127.0.0.1:5003"\n`);
    await d.reload();
    // Admission is the kernel's: the daemon no longer disconnects anyone itself.
    expect(node.calls).toContain('setTrust');
    expect(node.calls).toContain(`configure ${JSON.stringify({ autoConnect: 'once', reconnect: 'on-demand', policy: { allow: null, deny: ['gam*'] } })}`);
    expect(node.calls.filter((c) => c.startsWith('disconnect'))).toEqual([]);
    expect(node.calls).not.toContain('removePeer beta');
    expect(node.calls).toContain('addPeer delta');
    await t.rewrite('listen = "nowhere"\n');
    await d.reload();
    expect(node.calls.filter((c) => c.startsWith('configure'))).toHaveLength(1); // the bad file changed nothing
    await d.stop();
  });

  it('reload re-reads the cluster secret file and the tags; a secret file that does not parse (or is too open) changes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-secret-reload-'));
    const file = join(dir, 'cluster.secret');
    const [s1, s2] = [generateClusterSecret(), generateClusterSecret()];
    await writeFile(file, formatClusterKeyring([s1]), { mode: 0o600 });
    const config = (tags: string): string => `cluster_secret_file = ${JSON.stringify(file)}\n[tags]\n${tags}\n`;
    const t = await setup({}, config('role = "db"'));
    const d = await t.start();
    const node = t.nodes[0] as StandInNode;
    expect(node.options.clusterSecrets).toEqual([s1]);
    expect(node.options.tags).toEqual({ role: 'db' });
    await writeFile(file, formatClusterKeyring([s2, s1]), { mode: 0o600 });
    await t.rewrite(config('role = "cache"'));
    await d.reload();
    expect(node.secrets).toEqual([s2, s1]);
    expect(node.tags).toEqual({ role: 'cache' });
    const calls = node.calls.length;
    // A torn or mistyped keyring, or one others can read: logged, the running secrets and tags stay.
    await writeFile(file, 'distkit-cluster-secret nope\n', { mode: 0o600 });
    await t.rewrite(config('role = "other"'));
    await d.reload();
    await writeFile(file, formatClusterKeyring([s2]), { mode: 0o644 });
    await chmod(file, 0o644);
    await d.reload();
    expect(node.calls.slice(calls)).toEqual([]);
    expect(node.secrets).toEqual([s2, s1]);
    await d.stop();
  });
});

async function waitFor(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
