// What a user meets when something is wrong: bad flags, a key file others can read, a daemon
// that is not the one pinned, a daemon that does not trust the client. Each has its exit code.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicKey, generateIdentity } from '@distkit/handshake';
import { CLIENT_BUILT, CLIENT_SOURCE, DENO, DENO_PERMISSIONS, DISTKITD, type Line, type Proc, exitCode, start } from './processes.test-support.ts';

let dir: string;
let daemon: Proc;
let ready: Line;
const procs: Proc[] = [];
const client = (args: readonly string[]) => {
  const p = start(process.execPath, [CLIENT_BUILT, ...args]);
  procs.push(p);
  return p;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'distkit-client-'));
  const key = client(['--show-key', '--state-dir', join(dir, 'ok')]);
  expect(await exitCode(key)).toBe(0);
  const add = start(process.execPath, [DISTKITD, 'trust', 'add', 'client@ok', String(key.lines[0]?.text), '--state-dir', join(dir, 'daemon'), '--no-reload']);
  procs.push(add);
  expect(await exitCode(add)).toBe(0);
  daemon = start(process.execPath, [
    DISTKITD, 'run', '--state-dir', join(dir, 'daemon'), '--name', 'daemon@test', '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0',
    '--trust-mode', 'strict', '--log-format', 'json',
  ]);
  procs.push(daemon);
  ready = await daemon.waitFor('distkitd ready', (l) => l.msg === 'ready');
});
afterAll(() => {
  for (const p of procs) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

const linkArgs = (name: string, stateDir: string, key = `@${join(dir, 'daemon', 'identity.pub')}`) => [
  '--state-dir', join(dir, stateDir), '--name', name, '--daemon', `daemon@test=${String(ready.listen)}`, '--daemon-key', key, '--once',
];

describe('distkit-client', () => {
  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--daemon-key', 'AAAA'], /--daemon NAME=HOST:PORT is required/],
    [['--daemon', 'd@h=127.0.0.1:4370'], /--daemon-key is required/],
    [['--daemon', 'd@h=127.0.0.1:99999', '--daemon-key', 'x'], /--daemon: expected NAME=HOST:PORT with a port in 1\.\.65535/],
    [['--daemon', 'd@h=localhost:4370', '--daemon-key', 'x', '--name', 'bad name'], /--name: 'bad name' is not a valid node name/],
    [['--daemon', 'd@h=localhost:4370', '--daemon-key', 'x', '--send', 'novalue'], /--send: expected NODE=VALUE/],
  ])('exits 64 with a clear message for bad flags: %j', async (args, message) => {
    const p = client(args);
    expect(await exitCode(p)).toBe(64);
    expect(p.stderr()).toMatch(message);
  });

  it('reads its variables, and names the variable that is wrong', async () => {
    const p = start(process.execPath, [CLIENT_BUILT], undefined, { DISTKIT_CLIENT_DAEMON: 'nope', DISTKIT_CLIENT_DAEMON_KEY: 'x' });
    procs.push(p);
    expect(await exitCode(p)).toBe(64);
    expect(p.stderr()).toMatch(/DISTKIT_CLIENT_DAEMON: expected NAME=HOST:PORT/);
  });

  it('exits 64 for bad flags under Deno too (the same source)', async () => {
    const p = start(DENO, ['run', ...DENO_PERMISSIONS, CLIENT_SOURCE, '--daemon', 'x', '--daemon-key', 'y']);
    procs.push(p);
    expect(await exitCode(p)).toBe(64);
    expect(p.stderr()).toMatch(/--daemon: expected NAME=HOST:PORT/);
  });

  it('type-checks under Deno (deno check, strict, the same source)', async () => {
    const p = start(DENO, ['check', '--quiet', CLIENT_SOURCE]);
    procs.push(p);
    expect(await exitCode(p, 90_000), p.stderr()).toBe(0);
  }, 120_000);

  it('keeps its key across runs and refuses a key file others can read (exit 77)', async () => {
    const again = client(['--show-key', '--state-dir', join(dir, 'ok')]);
    expect(await exitCode(again)).toBe(0);
    expect(readFileSync(join(dir, 'ok', 'client.pub'), 'utf8')).toContain(String(again.lines[0]?.text));
    chmodSync(join(dir, 'ok', 'client.key'), 0o644);
    try {
      const p = client(linkArgs('client@ok', 'ok'));
      expect(await exitCode(p)).toBe(77);
      expect(p.stderr()).toMatch(/readable by group or others: run chmod 600/);
    } finally {
      chmodSync(join(dir, 'ok', 'client.key'), 0o600);
    }
  });

  it('names the key file when it is not a key (exit 1), and leaves it alone', async () => {
    const bad = join(dir, 'bad');
    const make = client(['--show-key', '--state-dir', bad]);
    expect(await exitCode(make)).toBe(0);
    writeFileSync(join(bad, 'client.key'), 'not a key\n', { mode: 0o600 });
    const p = client(linkArgs('client@ok', 'bad'));
    expect(await exitCode(p)).toBe(1);
    expect(p.stderr()).toContain(`${join(bad, 'client.key')}: private key file must start with 'distkit-x25519-private'`);
    expect(readFileSync(join(bad, 'client.key'), 'utf8')).toBe('not a key\n');
  });

  it('links, lists and exits 0 with --once when trusted and the pinned key is right', async () => {
    const p = client(linkArgs('client@ok', 'ok'));
    expect(await exitCode(p)).toBe(0);
    expect(p.lines.map((l) => String(l.text))).toEqual(expect.arrayContaining([
      'nodeup daemon@test: incarnation 1, outbound', 'cluster nodes (via daemon@test): daemon@test',
    ]));
  });

  it('refuses a daemon that does not hold the pinned key (exit 69), and never links', async () => {
    const wrong = formatPublicKey(generateIdentity().publicKey).trim();
    const p = client(linkArgs('client@ok', 'ok', wrong));
    expect(await exitCode(p)).toBe(69);
    expect(p.stderr()).toMatch(/cannot link to daemon@test/);
    expect(p.lines.some((l) => String(l.text).startsWith('nodeup'))).toBe(false);
  });

  it('exits 69 with the trust command to run when the daemon does not trust it', async () => {
    const p = client(linkArgs('client@stranger', 'stranger'));
    expect(await exitCode(p)).toBe(69);
    expect(p.stderr()).toMatch(/distkitd trust add client@stranger 'distkit-x25519 [A-Za-z0-9+/=]+'/);
  });
});
