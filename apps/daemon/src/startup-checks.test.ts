// `distkitd run` and `check-config` as separate processes: everything is checked before anything
// is written (issue 14), a reachable tofu node needs a secret or an explicit choice, exit codes
// mean one thing each, a missing incarnation is refused with its fix, and stale pid files and
// temp files of a past life do not block or litter a start (issue 17 items 8 and 9).
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, snapshot } from './cli-process.test-support.ts';
import { callControl } from './control-client.ts';
import { startDaemon, type RunningDaemon } from './daemon-process.test-support.ts';

let home: string;
let env: Record<string, string>;
const running: RunningDaemon[] = [];
const others: ChildProcess[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'distkitd-checks-'));
  env = cleanEnv(home);
});
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop('SIGKILL');
  for (const o of others.splice(0)) o.kill('SIGKILL');
});

const LOCAL = ['--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'];

async function launch(state: string, args: readonly string[] = [], extra: Record<string, string> = {}): Promise<RunningDaemon> {
  const d = await startDaemon(['--state-dir', state, ...LOCAL, ...args], { cwd: home, env: { ...env, ...extra }, stateDir: state });
  running.push(d);
  return d;
}

/** A node that has run once (identity, token, incarnation 1), stopped. */
async function existingNode(name: string): Promise<string> {
  const state = join(home, name);
  const d = await launch(state);
  expect(await d.stop()).toBe(0);
  return state;
}

async function both(args: readonly string[], extra: Record<string, string> = {}): Promise<Array<{ command: string; code: number | null; stderr: string; stdout: string }>> {
  const out = [];
  for (const command of ['check-config', 'run']) {
    // LOCAL first: a --listen in `args` wins (the last flag does).
    const r = await runCli([command, ...(command === 'run' ? LOCAL : []), ...args], { cwd: home, env: { ...env, ...extra } });
    out.push({ command, ...r });
  }
  return out;
}

describe('nothing is written before everything is checked', () => {
  it('a missing cluster_secret_file: check-config and run exit 78 naming the key and the path; no state, no new incarnation', async () => {
    const missing = join(home, 'no-such-secret');
    // A first start: the state folder is not even created.
    const fresh = join(home, 'fresh');
    for (const r of await both(['--state-dir', fresh, '--cluster-secret-file', missing])) {
      expect(r.code, `${r.command}: ${r.stderr}`).toBe(78);
      expect(r.stderr).toContain(`cluster_secret_file: cluster secret file ${missing} does not exist (make one with: distkitd secret new --out ${missing})`);
      expect(r.stderr).not.toContain('    at ');
    }
    expect(await snapshot(fresh)).toBeNull();
    // An existing node: identity, token and incarnation untouched.
    const state = await existingNode('existing');
    const before = await snapshot(state);
    for (const r of await both(['--state-dir', state, '--cluster-secret-file', missing])) expect(r.code, r.stderr).toBe(78);
    expect(await snapshot(state)).toEqual(before);
    expect((await readFile(join(state, 'incarnation'), 'utf8')).trim()).toBe('1');
  });

  it('a cluster secret readable by others is 77, a malformed one 65, one that is not a file 78; each names the path', async () => {
    const state = await existingNode('secrets');
    const before = await snapshot(state);
    const secret = join(home, 'secret');
    const made = await runCli(['secret', 'new', '--out', secret], { cwd: home, env });
    expect(made.code, made.stderr).toBe(0);
    await chmod(secret, 0o644);
    for (const r of await both(['--state-dir', state, '--cluster-secret-file', secret])) {
      expect(r.code, r.stderr).toBe(77);
      expect(r.stderr).toContain(`cluster secret file ${secret} has mode 0644: group or others can read it. Refusing to use it. Fix with: chmod 600 ${secret}`);
    }
    await writeFile(secret, 'distkit-cluster-secret tooshort\n', { mode: 0o600 });
    await chmod(secret, 0o600);
    for (const r of await both(['--state-dir', state, '--cluster-secret-file', secret])) {
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toContain(`${secret}: cluster secret file line 1: secret must be 32 bytes of base64`);
    }
    const dir = join(home, 'secret-dir');
    await mkdir(dir);
    for (const r of await both(['--state-dir', state, '--cluster-secret-file', dir])) {
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain(`cluster_secret_file: cluster secret file ${dir} is not a regular file`);
    }
    expect(await snapshot(state)).toEqual(before);
  });

  it('exit codes mean one thing: a corrupt identity key is 65 (not 77 "readable by others"); a readable one is 77', async () => {
    const state = await existingNode('corrupt');
    await writeFile(join(state, 'identity.key'), 'distkit-x25519-private AAAA\n', { mode: 0o600 });
    const before = await snapshot(state);
    for (const r of await both(['--state-dir', state])) {
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toContain(`${join(state, 'identity.key')}: private key must be 32 bytes, found 3`);
    }
    await chmod(join(state, 'identity.key'), 0o640);
    for (const r of await both(['--state-dir', state])) expect(r.code, r.stderr).toBe(77);
    await chmod(join(state, 'identity.key'), 0o600);
    expect((await readFile(join(state, 'incarnation'), 'utf8')).trim()).toBe('1');
    expect(Object.keys((await snapshot(state)) ?? {})).toEqual(Object.keys(before ?? {}));
  });

  it('joined_nodes and tags.json are checked like the other state files: a bad line is 65 naming file and line, nothing written', async () => {
    const state = await existingNode('members');
    await writeFile(join(state, 'joined_nodes'), '# joined\nbeta 10.0.0.2:4370\ngamma nowhere\n');
    await writeFile(join(state, 'tags.json'), '{"set": {"role": ""}}\n');
    const before = await snapshot(state);
    for (const r of await both(['--state-dir', state])) {
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toContain(`${join(state, 'joined_nodes')}:3: the second field is not host:port`);
      expect(r.stderr).toContain(`${join(state, 'tags.json')}: "set": value must be a non-empty string`);
    }
    expect(await snapshot(state)).toEqual(before);
    await writeFile(join(state, 'joined_nodes'), 'beta 10.0.0.2:4370\n');
    await writeFile(join(state, 'tags.json'), '{"set": {"role": "db"}, "remove": []}\n');
    const ok = await runCli(['check-config', '--state-dir', state, ...LOCAL], { cwd: home, env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`joined_nodes +${join(state, 'joined_nodes')}: 1 peer`));
    expect(ok.stdout).toMatch(new RegExp(`tags.json +${join(state, 'tags.json')}: 1 set, 0 removed at run time`));
    // The config's tags and the run-time ones together may not pass the wire's 32: refused before the start.
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`run${i}`, 'x']));
    await writeFile(join(state, 'tags.json'), JSON.stringify({ set: many, remove: [] }));
    const tags = Array.from({ length: 13 }, (_, i) => ['--tag', `cfg${i}=y`]).flat();
    const before2 = await snapshot(state);
    for (const r of await both(['--state-dir', state, ...tags])) {
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain(`tags: at most 32 tags (got 33): the config's tags table with the run-time changes in ${join(state, 'tags.json')}`);
    }
    expect(await snapshot(state)).toEqual(before2);
  });

  it('several problems are all listed at once; the configuration decides the exit code', async () => {
    const state = await existingNode('several');
    await writeFile(join(state, 'known_nodes'), 'beta not-a-key\n');
    await chmod(join(state, 'control.token'), 0o644);
    for (const r of await both(['--state-dir', state, '--cluster-secret-file', join(home, 'absent')])) {
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain('cannot start (3 problems)');
      expect(r.stderr).toContain('cluster_secret_file: cluster secret file');
      expect(r.stderr).toContain(`control token ${join(state, 'control.token')} has mode 0644`);
      expect(r.stderr).toContain(`${join(state, 'known_nodes')} line 1: key of 'beta' is not valid base64`);
    }
    expect((await readFile(join(state, 'incarnation'), 'utf8')).trim()).toBe('1');
  });

  it('a hook whose program cannot be found is a configuration error before the start, not a surprise at the first partition', async () => {
    const state = join(home, 'hooks');
    const file = join(home, 'hooks.toml');
    await writeFile(file, `[hooks]\non_restart = ["${join(home, 'missing-script')}", "now"]\non_partition = ["no-such-program-on-path"]\n`);
    for (const r of await both(['--state-dir', state, '-c', file])) {
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain(`hooks.on_restart: ${join(home, 'missing-script')} is not an executable file`);
      expect(r.stderr).toContain('hooks.on_partition: no-such-program-on-path is not found on PATH');
    }
    expect(await snapshot(state)).toBeNull();
  });

  it('check-config lists the files it checked', async () => {
    const state = await existingNode('listed');
    const r = await runCli(['check-config', '--state-dir', state], { cwd: home, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`identity +${join(state, 'identity.key').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: SHA256:`));
    expect(r.stdout).toContain(`${join(state, 'incarnation')}: 1`);
  });
});

describe('safe defaults', () => {
  it('a reachable listen address with tofu and no cluster secret is refused (78) with the two ways out; nothing written', async () => {
    const state = join(home, 'open');
    for (const r of await both(['--state-dir', state, '--listen', '0.0.0.0:0'])) {
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain('--listen: listen: 0.0.0.0 is reachable from other hosts');
      expect(r.stderr).toContain('set cluster_secret_file (make one with: distkitd secret new)');
      expect(r.stderr).toContain('trust.mode = "strict"');
      expect(r.stderr).toContain('trust.allow_strangers = true');
    }
    expect(await snapshot(state)).toBeNull();
  });

  it('each way out starts: a cluster secret from `secret new`, strict mode, or trust.allow_strangers = true', async () => {
    const secret = join(home, 'ways-secret');
    expect((await runCli(['secret', 'new', '--out', secret], { cwd: home, env })).code).toBe(0);
    const withSecret = await startDaemon(['--state-dir', join(home, 'way1'), '--listen', '0.0.0.0:0', '--control', '127.0.0.1:0', '--cluster-secret-file', secret], { cwd: home, env, stateDir: join(home, 'way1') });
    running.push(withSecret);
    const strict = await startDaemon(['--state-dir', join(home, 'way2'), '--listen', '0.0.0.0:0', '--control', '127.0.0.1:0', '--trust-mode', 'strict'], { cwd: home, env, stateDir: join(home, 'way2') });
    running.push(strict);
    const open = await startDaemon(['--state-dir', join(home, 'way3'), '--listen', '0.0.0.0:0', '--control', '127.0.0.1:0'], { cwd: home, env: { ...env, DISTKIT_TRUST_ALLOW_STRANGERS: 'true' }, stateDir: join(home, 'way3') });
    running.push(open);
    for (const d of [withSecret, strict, open]) expect(d.ready.listen).toMatch(/^0\.0\.0\.0:\d+$/);
  });
});

describe('state of an earlier life', () => {
  it('a missing incarnation next to an existing identity refuses to start (65) with the fix; running the fix, it starts higher', async () => {
    const state = await existingNode('lost-incarnation');
    await unlink(join(state, 'incarnation'));
    const before = await snapshot(state);
    const r = await runCli(['run', '--state-dir', state, ...LOCAL], { cwd: home, env });
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr).toContain(`${join(state, 'incarnation')} is missing, but ${join(state, 'identity.key')} exists`);
    const fix = /^ {2}(date \+%s > .*)$/m.exec(r.stderr)?.[1];
    expect(fix).toBe(`date +%s > ${join(state, 'incarnation')}`);
    expect(await snapshot(state)).toEqual(before);
    // The printed fix, run as printed.
    const shell = spawn('/bin/sh', ['-c', fix ?? 'false'], { stdio: 'ignore' });
    expect(await new Promise((res) => shell.on('exit', res))).toBe(0);
    const d = await launch(state);
    expect(d.ready.incarnation).toBeGreaterThan(Math.floor(Date.now() / 1000) - 3600);
  });

  it('a pid file whose pid now belongs to another process does not block the start; a live daemon does (73)', async () => {
    const state = await existingNode('stale-pid');
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    others.push(other);
    await new Promise((r) => other.once('spawn', r));
    // What a distkitd that ran with this pid before left: its pid and its own start time.
    await writeFile(join(state, 'distkitd.pid'), `${other.pid} 12345\n`);
    const d = await launch(state);
    expect(d.ready.incarnation).toBe(2);
    const second = await runCli(['run', '--state-dir', state, ...LOCAL], { cwd: home, env });
    expect(second.code).toBe(73);
    expect(second.stderr).toContain(`another distkitd (pid ${d.process.pid}) is using the state folder ${state}`);
    await d.stop('SIGKILL');
    // An older distkitd's pid file (the pid alone), older than the live process now holding the pid.
    await writeFile(join(state, 'distkitd.pid'), `${other.pid}\n`);
    const past = new Date(Date.now() - 3_600_000);
    await utimes(join(state, 'distkitd.pid'), past, past);
    const again = await launch(state);
    expect(again.ready.incarnation).toBe(3);
  });

  it('temp files a crash left in the state folder are removed at start', async () => {
    const state = await existingNode('litter');
    await writeFile(join(state, '.known_nodes.999999999.0123456789ab.tmp'), 'half a write');
    await writeFile(join(state, '.incarnation.999999998.ba9876543210.tmp'), '7');
    const d = await launch(state);
    expect((await readdir(state)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await d.waitForLog((l) => l.msg === 'removed temp files left by an earlier crash');
  });
});

describe('distkitd secret new', () => {
  it('writes a fresh 32-byte secret 0600, never prints it, refuses to overwrite (73) unless --force', async () => {
    const file = join(home, 'fresh.secret');
    const r = await runCli(['secret', 'new', '--out', file], { cwd: home, env });
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    const m = /^distkit-cluster-secret ([A-Za-z0-9+/]{43}=)\n$/.exec(text);
    expect(m).not.toBeNull();
    expect(Buffer.from(m?.[1] ?? '', 'base64')).toHaveLength(32);
    expect(r.stdout + r.stderr).not.toContain((m?.[1] ?? '').slice(0, 8));
    // Its id is the 4-byte id the handshake sends, in hex: the same on every host holding the secret.
    const { clusterSecretId } = await import('@distkit/handshake');
    expect(r.stdout).toContain(`secret id ${Buffer.from(clusterSecretId(Buffer.from(m?.[1] ?? '', 'base64'))).toString('hex')}`);
    const again = await runCli(['secret', 'new', '--out', file], { cwd: home, env });
    expect(again.code).toBe(73);
    expect(again.stderr).toContain(`${file} already exists; keeping it`);
    expect(await readFile(file, 'utf8')).toBe(text);
    const forced = await runCli(['secret', 'new', '--out', file, '--force'], { cwd: home, env });
    expect(forced.code).toBe(0);
    expect(await readFile(file, 'utf8')).not.toBe(text);
    expect((await readdir(home)).filter((f) => f.includes('fresh.secret') && f.endsWith('.tmp'))).toEqual([]);
  });

  it('without --out: cluster_secret_file of the config, else cluster_secret in the state folder; nodes sharing it link, a node without it cannot', async () => {
    const state = join(home, 'secret-default');
    const r = await runCli(['secret', 'new', '--state-dir', state], { cwd: home, env });
    expect(r.code, r.stderr).toBe(0);
    const file = join(state, 'cluster_secret');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const a = await launch(join(home, 'sa'), ['--name', 'a', '--cluster-secret-file', file]);
    const b = await launch(join(home, 'sb'), ['--name', 'b', '--cluster-secret-file', file, '--peer', `a=${a.ready.listen}`]);
    await until(async () => ((await callControl(await b.target(), 'GET', '/v1/nodes')) as { nodes: Array<{ name: string; connected: boolean }> }).nodes.some((n) => n.name === 'a' && n.connected));
    const c = await launch(join(home, 'sc'), ['--name', 'c', '--auto-connect', 'never', '--peer', `a=${a.ready.listen}`]);
    await expect(callControl(await c.target(), 'POST', '/v1/connect', { node: 'a' })).rejects.toThrow(/50\d/);
    const nodesOfA = (await callControl(await a.target(), 'GET', '/v1/nodes')) as { nodes: Array<{ name: string; connected: boolean }> };
    expect(nodesOfA.nodes.filter((n) => n.connected).map((n) => n.name)).toEqual(['b']);
  });
});

async function until(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
