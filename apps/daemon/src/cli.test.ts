// distkitd as a separate process: bad configuration files and bad flags. Each must exit 78
// (EX_CONFIG) with a clear message, and change nothing on disk.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from './cli.ts';
import { cleanEnv, runCli, snapshot } from './cli-process.test-support.ts';

let root: string;
let state: string;
let env: Record<string, string>;
let before: Record<string, string> | null;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'distkitd-cli-'));
  state = join(root, 'state');
  env = cleanEnv(root);
  // An existing node: identity, incarnation, trust file. None of it may change.
  const keygen = await runCli(['keygen', '--state-dir', state], { cwd: root, env });
  expect(keygen.code, keygen.stderr).toBe(0);
  await writeFile(join(state, 'incarnation'), '5\n');
  await writeFile(join(state, 'authorized_nodes'), '# none yet\n');
  before = await snapshot(root);
});

interface BadCase {
  readonly what: string;
  readonly file?: readonly [string, string];
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  readonly message: string | RegExp;
  /** Also run through check-config (the same loader; a few cases prove it). */
  readonly alsoCheckConfig?: boolean;
}

const KEY = 'A'.repeat(43) + '=';

const BAD: readonly BadCase[] = [
  { what: 'TOML syntax error', file: ['c.toml', 'name = "a"\nlisten = \n'], message: /c\.toml:2:\d+: TOML syntax error/ },
  { what: 'JSON syntax error', file: ['c.json', '{\n  "name": "a",\n}\n'], message: /c\.json(:\d+:\d+)?: JSON syntax error/ },
  { what: 'unknown key (typo)', alsoCheckConfig: true, file: ['c.toml', 'name = "a"\n[log]\nlevle = "debug"\n'], message: 'c.toml:3: log.levle: unknown key (allowed here: level, format)' },
  { what: 'value not allowed', file: ['c.toml', 'auto_connect = "sometimes"\n'], message: 'c.toml:1: auto_connect: must be one of always, once, never (got "sometimes")' },
  { what: 'bad address in the second peer', file: ['c.toml', '[[peers]]\nname = "b"\naddress = "127.0.0.1:1"\n\n[[peers]]\nname = "c"\naddress = "c.internal"\n'], message: 'c.toml:7: peers[1].address: must be "host:port"' },
  { what: 'duplicate peer', file: ['c.toml', '[[peers]]\nname = "b"\naddress = "127.0.0.1:1"\n[[peers]]\nname = "b"\naddress = "127.0.0.1:2"\n'], message: 'c.toml:5: peers[1].name: b is listed twice in peers' },
  { what: 'wrong type', file: ['c.json', '{\n  "hidden": "yes"\n}\n'], message: 'c.json:2: hidden: must be true or false (got "yes")' },
  { what: 'bad duration', file: ['c.toml', 'heartbeat_interval = "5 seconds"\n'], message: 'c.toml:1: heartbeat_interval: must be a duration' },
  { what: 'port out of range', file: ['c.toml', 'listen = "127.0.0.1:70000"\n'], message: 'c.toml:1: listen: must be "host:port" with a port from 0 to 65535' },
  { what: 'remote control API not allowed', file: ['c.toml', '[control]\nlisten = "0.0.0.0:4380"\n'], message: 'c.toml:2: control.listen: 0.0.0.0 is not a loopback address' },
  { what: 'keep-referee without referee', file: ['c.toml', 'strategy = "keep-referee"\n'], message: 'referee: is required when strategy = "keep-referee"' },
  { what: 'bad public key', file: ['c.toml', `[[peers]]\nname = "b"\naddress = "127.0.0.1:1"\npublic_key = "abc"\n`], message: 'c.toml:4: peers[0].public_key: must be a 32-byte X25519 public key' },
  { what: 'bad DNS server', file: ['c.toml', '[discovery.dns]\nsrv = ["_d._tcp.x"]\nservers = ["dns.example:53"]\n'], message: 'c.toml:3: discovery.dns.servers[0]: must be a DNS server' },
  { what: 'top level not a table', file: ['c.json', '[1, 2]\n'], message: 'the top level must be a JSON object' },
  { what: 'missing config file', args: ['--config', 'missing.toml'], message: /config file .*missing\.toml does not exist/ },
  { what: 'bad environment variable', alsoCheckConfig: true, env: { DISTKIT_LOG_LEVEL: 'loud' }, message: 'DISTKIT_LOG_LEVEL (log.level): log.level: must be one of trace, debug, info, warn, error, fatal, silent (got "loud")' },
  { what: 'bad DISTKIT_PEERS', env: { DISTKIT_PEERS: 'beta' }, message: 'DISTKIT_PEERS: "beta" is not a peer: expected name=host:port' },
  { what: 'unknown flag', alsoCheckConfig: true, args: ['--bogus'], message: "run: Unknown option '--bogus' (see distkitd run --help)" },
  { what: 'flag without its value', args: ['--listen'], message: "run: Option '--listen <value>' argument missing" },
  { what: 'bad flag value', args: ['--listen', 'nowhere'], message: '--listen: listen: must be "host:port"' },
  { what: 'bad --peer', args: ['--peer', 'beta@127.0.0.1:1'], message: '--peer: "beta@127.0.0.1:1" is not a peer' },
  { what: 'bad --peer key', args: ['--peer', `beta=127.0.0.1:1#${KEY.slice(1)}`], message: '--peer: peers[0].public_key: must be a 32-byte X25519 public key' },
  { what: 'bad --auto-connect', args: ['--auto-connect', 'maybe'], message: '--auto-connect: auto_connect: must be one of always, once, never (got "maybe")' },
  { what: 'stray argument', args: ['extra'], message: 'run: expected no arguments, got "extra"' },
];

describe.concurrent('bad config and bad flags: exit 78, a clear message, nothing changed on disk', () => {
  it.each(BAD)('$what', async (c) => {
    const dir = await mkdtemp(join(root, 'case-'));
    const args = [...(c.file ? ['--config', join(dir, c.file[0])] : []), ...(c.args ?? [])];
    if (c.file) await writeFile(join(dir, c.file[0]), c.file[1]);
    for (const command of c.alsoCheckConfig ? ['run', 'check-config'] : ['run']) {
      const r = await runCli([command, '--state-dir', state, ...args], { cwd: dir, env: { ...env, ...c.env } });
      const expected = typeof c.message === 'string' ? c.message.replace('run:', `${command}:`).replace('distkitd run', `distkitd ${command}`) : c.message;
      expect(r.code, `${command}: ${r.stderr}`).toBe(78);
      if (typeof expected === 'string') expect(r.stderr).toContain(expected);
      else expect(r.stderr).toMatch(expected);
      expect(r.stderr.startsWith('distkitd: ')).toBe(true);
      expect(r.stdout).toBe('');
    }
    expect(await snapshot(root).then((s) => s && Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith(join(root, 'case-')))))).toEqual(before);
  });

  it('a bad config never creates a missing state folder', async () => {
    const dir = await mkdtemp(join(root, 'case-'));
    const fresh = join(dir, 'new-state');
    const r = await runCli(['run', '--state-dir', fresh, '--log-level', 'chatty'], { cwd: dir, env });
    expect(r.code).toBe(78);
    expect(await snapshot(fresh)).toBeNull();
  });

  it('unknown commands and a bare `trust` are usage errors too', async () => {
    const r = await runCli(['frobnicate'], { cwd: root, env });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    const t = await runCli(['trust'], { cwd: root, env });
    expect(t.code).toBe(78);
    expect(t.stdout).toContain('Usage: distkitd trust <add|remove|list>');
  });
});

describe('--help for every command', () => {
  const commands = [
    'run', 'check-config', 'keygen', 'fingerprint', 'trust add', 'trust remove', 'trust list', 'secret new', 'secret install', 'secret use', 'secret remove',
    'secret list', 'status', 'nodes', 'join', 'leave', 'force-leave', 'connect', 'disconnect', 'send', 'tags set', 'tags reset', 'events',
  ];
  it('the overview (a real process) lists every command and the exit codes', async () => {
    const r = await runCli(['--help'], { cwd: root, env });
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toContain('78   bad config file');
  });
  it.each(commands)('%s --help (in process)', async (c) => {
    let out = '';
    const io = { out: (t: string) => void (out += t), err: () => {}, env: {}, cwd: root, stdoutIsTTY: false, stderrIsTTY: false };
    expect(await main([...c.split(' '), '--help', '--bogus'], io)).toBe(0);
    expect(out).toContain(`Usage: distkitd ${c}`);
    expect(out).toContain('-h, --help');
  });
});

describe('config check passes a good file', () => {
  it('check-config prints the resolved config, --json for scripts', async () => {
    const dir = await mkdtemp(join(root, 'good-'));
    await mkdir(join(dir, 'etc'));
    await writeFile(join(dir, 'etc', 'distkitd.toml'), 'name = "alpha"\nstate_dir = "../var"\n[[peers]]\nname = "beta"\naddress = "127.0.0.1:4371"\n');
    const r = await runCli(['check-config', '-c', 'etc/distkitd.toml'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('configuration is valid');
    expect(r.stdout).toContain(`state_dir    ${join(dir, 'var')}`);
    const j = await runCli(['check-config', '-c', 'etc/distkitd.toml', '--json'], { cwd: dir, env: { ...env, DISTKIT_CLUSTER: 'blue' } });
    expect(JSON.parse(j.stdout)).toMatchObject({ name: 'alpha', cluster: 'blue', peers: [{ name: 'beta', address: { host: '127.0.0.1', port: 4371 } }] });
  });
});
