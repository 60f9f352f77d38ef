// The join command the ready banner prints runs as printed (issue 14): from a checkout (`node
// apps/daemon/bin/distkitd.js`, `npm start -- ...`) and from a global install (`npm install -g`,
// here into a throw-away prefix from the packed tarballs). Each test starts a daemon the way a
// user would, copies the printed line, runs it with /bin/sh in another directory, and checks the
// second node links to the first.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildIsFresh, cleanEnv } from './cli-process.test-support.ts';
import { callControl } from './control-client.ts';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const BIN = join(REPO, 'apps/daemon/bin/distkitd.js');

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // Gone.
    }
  }
});

beforeAll(() => {
  // bin/distkitd.js runs dist/: build it when the sources are newer (`npm test` has built already).
  if (!buildIsFresh()) execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore', env: npmEnv() });
}, 300_000);

/** The environment without npm's lifecycle variables (a child npm would read them as its own). */
function npmEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('npm_')) env[k] = v;
  return { ...env, npm_config_update_notifier: 'false', ...extra };
}

interface Shell {
  readonly child: ChildProcess;
  readonly stderr: () => string;
}

/** `sh -c LINE` in its own process group, its stderr collected. */
function shell(line: string, cwd: string, env: Record<string, string>): Shell {
  const child = spawn('/bin/sh', ['-c', line], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  started.push(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return { child, stderr: () => stderr };
}

/** The ready banner's facts and the join line under "Start a second node ...". */
async function banner(s: Shell, ms = 60_000): Promise<{ join: string; control: string; name: string; state: string }> {
  const end = Date.now() + ms;
  for (;;) {
    const text = s.stderr();
    const join = /joins this one:\n {2}(.+)\n/.exec(text)?.[1];
    if (join) {
      return {
        join,
        control: /^ {2}control +(\S+)$/m.exec(text)?.[1] ?? '',
        name: /^ {2}name +(\S+)$/m.exec(text)?.[1] ?? '',
        state: /^ {2}state +(\S+) \(/m.exec(text)?.[1] ?? '',
      };
    }
    if (s.child.exitCode !== null || Date.now() > end) throw new Error(`no ready banner (exit ${s.child.exitCode}):\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the printed join line elsewhere and waits until the first node sees the second linked. */
async function joinAsPrinted(first: { join: string; control: string; state: string }, env: Record<string, string>): Promise<void> {
  const elsewhere = await mkdtemp(join(tmpdir(), 'distkitd-elsewhere-'));
  const second = shell(first.join, elsewhere, env);
  const { name } = await banner(second);
  const token = execFileSync('cat', [join(first.state, 'control.token')], { encoding: 'utf8' }).trim();
  const end = Date.now() + 30_000;
  for (;;) {
    const { nodes } = (await callControl({ url: first.control, token }, 'GET', '/v1/nodes')) as { nodes: Array<{ name: string; connected: boolean }> };
    if (nodes.some((n) => n.name === name && n.connected)) return;
    if (Date.now() > end) throw new Error(`the second node never linked: ${JSON.stringify(nodes)}\n${second.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const FLAGS = (state: string): string => `--state-dir ${state} --listen 127.0.0.1:0 --control 127.0.0.1:0`;
const ARGS = (state: string): string => `run ${FLAGS(state)}`;

describe('the banner\'s join command runs as printed', () => {
  it('from a checkout: node apps/daemon/bin/distkitd.js run', async () => {
    const home = await mkdtemp(join(tmpdir(), 'distkitd-join-'));
    // An ordinary PATH, without any distkitd on it: `distkitd` would be "command not found".
    const env = cleanEnv(home, { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` });
    const first = await banner(shell(`cd ${REPO} && node apps/daemon/bin/distkitd.js ${ARGS(join(home, 'a'))}`, home, env));
    expect(first.join).toMatch(new RegExp(`^(node|\\S*/node) ${BIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} run `));
    await joinAsPrinted(first, env);
  });

  it('from a checkout: npm start -- FLAGS passes the flags through to `distkitd run`', async () => {
    const home = await mkdtemp(join(tmpdir(), 'distkitd-npm-start-'));
    const env = npmEnv({ ...cleanEnv(home), PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, TURBO_TELEMETRY_DISABLED: '1' });
    const first = await banner(shell(`npm start --silent -- ${FLAGS(join(home, 'a'))} --name from-npm-start`, REPO, env), 120_000);
    expect(first.name).toBe('from-npm-start');
    expect(first.state).toBe(join(home, 'a'));
    await joinAsPrinted(first, env);
  });

  it('from a global install: distkitd run', async () => {
    const home = await mkdtemp(join(tmpdir(), 'distkitd-global-'));
    const packs = join(home, 'packs');
    const prefix = join(home, 'prefix');
    await mkdir(packs);
    const env = npmEnv({ ...cleanEnv(home), PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin` });
    // What `npm i -g @distkit/daemon` does, from this checkout's tarballs (the @distkit packages
    // are not in the registry yet; their third-party dependencies come from npm's cache or the registry).
    execFileSync('npm', ['pack', '--silent', '--pack-destination', packs, ...['wire', 'handshake', 'policy', 'detector', 'kernel'].map((p) => join(REPO, 'packages', p)), join(REPO, 'apps/daemon')], { cwd: REPO, env, stdio: 'ignore' });
    const tarballs = (await readdir(packs)).map((f) => join(packs, f));
    execFileSync('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], { cwd: home, env, stdio: 'ignore' });
    const first = await banner(shell(`distkitd ${ARGS(join(home, 'a'))}`, home, env));
    expect(first.join).toMatch(/^distkitd run /);
    await joinAsPrinted(first, env);
  }, 180_000);
});
