import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultStateDir, jsonKeyLine, loadConfig, tomlKeyLine, type ConfigSources } from './config.ts';
import { isDaemonError } from './errors.ts';

async function dir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'distkitd-config-'));
}

function sources(over: Partial<ConfigSources> = {}): ConfigSources {
  return { file: null, env: {}, flags: {}, cwd: '/', uid: 1000, ...over };
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; exitCode: number }> {
  try {
    await promise;
  } catch (err) {
    if (isDaemonError(err)) return { code: err.code, message: err.message, exitCode: err.exitCode };
    throw err;
  }
  throw new Error('expected the config to be refused');
}

describe('embedded default', () => {
  it('needs no file: loopback links and control, tofu trust, once, state folder under ~/.local/state', async () => {
    const c = await loadConfig(sources({ env: { HOME: '/home/ada' } }));
    expect(c.source).toBeNull();
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 4370 });
    expect(c.control.listen).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 4380 });
    expect(c.trust.mode).toBe('tofu');
    expect(c.autoConnect).toBe('once');
    expect(c.heartbeatIntervalMs).toBe(5000);
    expect(c.stateDir).toBe('/home/ada/.local/state/distkit');
    expect(c.hooks.restartExit).toBe(true);
  });

  it('state folder: flag beats env beats file beats systemd beats the platform default', async () => {
    expect(defaultStateDir({}, 0)).toBe('/var/lib/distkit');
    expect(defaultStateDir({ STATE_DIRECTORY: '/var/lib/dk:/x' }, 0)).toBe('/var/lib/dk');
    expect(defaultStateDir({ XDG_STATE_HOME: '/xdg', HOME: '/h' }, 5)).toBe('/xdg/distkit');
    const d = await dir();
    await writeFile(join(d, 'c.toml'), 'state_dir = "from-file"\n');
    const file = join(d, 'c.toml');
    expect((await loadConfig(sources({ file }))).stateDir).toBe(join(d, 'from-file'));
    expect((await loadConfig(sources({ file, env: { DISTKIT_STATE_DIR: '/env' } }))).stateDir).toBe('/env');
    expect((await loadConfig(sources({ file, env: { DISTKIT_STATE_DIR: '/env' }, flags: { 'state-dir': '/flag' } }))).stateDir).toBe('/flag');
  });
});

describe('files, environment and flags', () => {
  it('reads TOML with tables, array tables and durations', async () => {
    const d = await dir();
    const file = join(d, 'distkitd.toml');
    await writeFile(
      file,
      [
        'name = "alpha"',
        'listen = "0.0.0.0:5000"',
        'heartbeat_interval = "2s"',
        'strategy = "static-quorum"',
        'quorum = 2',
        '[trust]',
        'mode = "strict"',
        'deny = ["evil*"]',
        '[[peers]]',
        'name = "beta"',
        'address = "10.0.0.2:4370"',
        '[[peers]]',
        'name = "gamma"',
        'address = "[fd00::3]:4370"',
        'auto_connect = "never"',
        '[hooks]',
        'on_restart = ["systemctl", "restart", "app"]',
      ].join('\n'),
    );
    const c = await loadConfig(sources({ file }));
    expect(c.name).toBe('alpha');
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(c.heartbeatIntervalMs).toBe(2000);
    expect(c.quorum).toBe(2);
    expect(c.trust).toEqual({ mode: 'strict', allowStrangers: false, allow: [], deny: ['evil*'] });
    expect(c.peers.map((p) => [p.name, p.address.host, p.autoConnect])).toEqual([
      ['beta', '10.0.0.2', null],
      ['gamma', 'fd00::3', 'never'],
    ]);
    expect(c.hooks.onRestart).toEqual(['systemctl', 'restart', 'app']);
  });

  it('reads JSON the same way', async () => {
    const d = await dir();
    const file = join(d, 'distkitd.json');
    await writeFile(file, JSON.stringify({ name: 'alpha', log: { level: 'debug' }, discovery: { dns: { srv: ['_distkit._tcp.example'] } } }));
    const c = await loadConfig(sources({ file }));
    expect(c.log.level).toBe('debug');
    expect(c.dns).toMatchObject({ srv: ['_distkit._tcp.example'], port: 4370, refreshMs: 30_000, name: '{host}' });
  });

  it('DISTKIT_* variables override the file, flags override variables, peers add up', async () => {
    const d = await dir();
    const file = join(d, 'c.toml');
    await writeFile(file, 'name = "file"\nhidden = false\n[[peers]]\nname = "beta"\naddress = "127.0.0.1:1"\n');
    const c = await loadConfig(
      sources({
        file,
        env: { DISTKIT_NAME: 'env', DISTKIT_HIDDEN: 'true', DISTKIT_HEARTBEAT_INTERVAL: '750', DISTKIT_PEERS: 'gamma=127.0.0.1:2' },
        flags: { name: 'flag', peer: ['delta=127.0.0.1:3#' + 'A'.repeat(43) + '='] },
      }),
    );
    expect(c.name).toBe('flag');
    expect(c.hidden).toBe(true);
    expect(c.heartbeatIntervalMs).toBe(750);
    expect(c.peers.map((p) => p.name)).toEqual(['beta', 'gamma', 'delta']);
    expect(c.peers[2]?.publicKey).toBe(`${'A'.repeat(43)}=`);
  });
});

describe('errors name the key, the line and what is allowed', () => {
  it('an unknown key in TOML: file, line, and the allowed keys', async () => {
    const d = await dir();
    const file = join(d, 'c.toml');
    await writeFile(file, 'name = "a"\n\n[log]\nlevel = "info"\nlevle = "x"\n');
    const e = await failure(loadConfig(sources({ file })));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain(`${file}:5: log.levle: unknown key (allowed here: level, format)`);
  });

  it('a bad value in the second [[peers]] points at its line', async () => {
    const d = await dir();
    const file = join(d, 'c.toml');
    await writeFile(file, '[[peers]]\nname = "b"\naddress = "127.0.0.1:1"\n[[peers]]\nname = "c"\naddress = "nowhere"\n');
    const e = await failure(loadConfig(sources({ file })));
    expect(e.message).toContain(`${file}:6: peers[1].address: must be "host:port"`);
  });

  it('a TOML syntax error carries line and column', async () => {
    const d = await dir();
    const file = join(d, 'c.toml');
    await writeFile(file, 'name = "a"\nlisten = \n');
    const e = await failure(loadConfig(sources({ file })));
    expect(e.code).toBe('CONFIG_SYNTAX');
    expect(e.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: TOML syntax error`));
  });

  it('a JSON error names the key and its line', async () => {
    const d = await dir();
    const file = join(d, 'c.json');
    await writeFile(file, '{\n  "name": "a",\n  "auto_connect": "sometimes"\n}\n');
    const e = await failure(loadConfig(sources({ file })));
    expect(e.message).toContain(`${file}:3: auto_connect: must be one of always, once, never (got "sometimes")`);
  });

  it('a JSON problem points at the key itself, not at the first string that looks like it', async () => {
    const d = await dir();
    const file = join(d, 'c.json');
    // `"listen"` first appears inside control (line 2); the bad one is on line 4.
    await writeFile(file, '{\n  "control": { "listen": "127.0.0.1:4380" },\n  "name": "listen",\n  "listen": "nowhere",\n  "peers": [\n    { "name": "b", "address": "127.0.0.1:1" },\n    { "name": "c", "address": "c.internal" }\n  ]\n}\n');
    const e = await failure(loadConfig(sources({ file })));
    expect(e.message).toContain(`${file}:4: listen: must be "host:port"`);
    expect(e.message).toContain(`${file}:7: peers[1].address: must be "host:port"`);
  });

  it('problems are listed in file order, TOML and JSON alike, then variables and flags', async () => {
    const d = await dir();
    const toml = join(d, 'c.toml');
    // The schema checks `hooks` after `log` and `auto_connect` before both; the file says otherwise.
    await writeFile(toml, '[hooks]\ntimeout = "soon"\n[log]\nlevle = "debug"\n[detector]\nprobes = -1\n');
    const t = await failure(loadConfig(sources({ file: toml, env: { DISTKIT_AUTO_CONNECT: 'x' } })));
    const order = (message: string, parts: string[]): number[] => parts.map((p) => message.indexOf(p));
    const tParts = [`${toml}:2: hooks.timeout`, `${toml}:4: log.levle`, `${toml}:6: detector.probes`, 'DISTKIT_AUTO_CONNECT'];
    expect(order(t.message, tParts).every((at, i, all) => at >= 0 && (i === 0 || at > (all[i - 1] ?? 0)))).toBe(true);
    const json = join(d, 'c.json');
    await writeFile(json, '{\n  "hooks": { "timeout": "soon" },\n  "log": { "levle": "debug" },\n  "detector": { "probes": -1 }\n}\n');
    const j = await failure(loadConfig(sources({ file: json })));
    const jParts = [`${json}:2: hooks.timeout`, `${json}:3: log.levle`, `${json}:4: detector.probes`];
    expect(order(j.message, jParts).every((at, i, all) => at >= 0 && (i === 0 || at > (all[i - 1] ?? 0))), j.message).toBe(true);
  });

  it('a JSON syntax error carries the line and column of the mistake', async () => {
    const d = await dir();
    const file = join(d, 'c.json');
    await writeFile(file, '{\n  "name": "a",\n  "listen": "127.0.0.1:1",\n}\n');
    const e = await failure(loadConfig(sources({ file })));
    expect(e.code).toBe('CONFIG_SYNTAX');
    expect(e.message).toBe(`${file}:4:1: JSON syntax error: property name expected`);
  });

  it('an environment variable is named when its value is bad', async () => {
    const e = await failure(loadConfig(sources({ env: { DISTKIT_LOG_LEVEL: 'loud' } })));
    expect(e.message).toContain('DISTKIT_LOG_LEVEL (log.level): log.level: must be one of trace, debug, info, warn, error, fatal, silent (got "loud")');
  });

  it('a flag is named when its value is bad', async () => {
    const e = await failure(loadConfig(sources({ flags: { listen: 'localhost' } })));
    expect(e.message).toContain('--listen: listen: must be "host:port"');
  });

  it('a non-loopback control API is refused unless allow_remote', async () => {
    const e = await failure(loadConfig(sources({ flags: { control: '0.0.0.0:4380' } })));
    expect(e.message).toContain('0.0.0.0 is not a loopback address');
    const ok = await loadConfig(sources({ flags: { control: '0.0.0.0:4380' }, env: { DISTKIT_CONTROL_ALLOW_REMOTE: 'true' } }));
    expect(ok.control.listen).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 4380 });
  });

  it('safe default: a reachable listen address with tofu and no cluster secret is refused, with the two ways out', async () => {
    for (const listen of ['0.0.0.0:4370', '[::]:4370', '10.1.2.3:4370', 'db1.example:4370']) {
      const e = await failure(loadConfig(sources({ flags: { listen } })));
      expect(e.exitCode).toBe(78);
      expect(e.message).toContain('--listen: listen: ');
      expect(e.message).toContain('trust.mode = "tofu" without a cluster secret lets any stranger link in');
      expect(e.message).toContain('set cluster_secret_file (make one with: distkitd secret new)');
      expect(e.message).toContain('trust.mode = "strict"');
      expect(e.message).toContain('trust.allow_strangers = true');
    }
    // Each way out, and loopback, is accepted.
    await loadConfig(sources({ flags: { listen: '0.0.0.0:4370', 'trust-mode': 'strict' } }));
    await loadConfig(sources({ flags: { listen: '0.0.0.0:4370', 'cluster-secret-file': '/etc/distkit/secret' } }));
    const open = await loadConfig(sources({ flags: { listen: '0.0.0.0:4370' }, env: { DISTKIT_TRUST_ALLOW_STRANGERS: 'true' } }));
    expect(open.trust.allowStrangers).toBe(true);
    for (const listen of ['127.0.0.1:4370', '127.0.0.2:0', 'localhost:4370', '[::1]:4370']) await loadConfig(sources({ flags: { listen } }));
    // The same from a file, with the line.
    const d = await dir();
    const file = join(d, 'c.toml');
    await writeFile(file, 'name = "a"\nlisten = "0.0.0.0:4370"\n');
    expect((await failure(loadConfig(sources({ file })))).message).toContain(`${file}:2: listen: 0.0.0.0 is reachable from other hosts`);
    await writeFile(file, 'name = "a"\nlisten = "0.0.0.0:4370"\n[trust]\nallow_strangers = true\n');
    await loadConfig(sources({ file }));
  });

  it('a bad peer public key is not quoted back (it may be a private key pasted in the wrong place)', async () => {
    const secretish = 'QW7UFJIpVPZBG/2hIzT3fiZjjo7UxSgyR7gZsMXNEH';
    const e = await failure(loadConfig(sources({ flags: { peer: [`b=127.0.0.1:1#${secretish}`] } })));
    expect(e.message).toContain('peers[0].public_key: must be a 32-byte X25519 public key');
    expect(e.message).not.toContain(secretish.slice(0, 8));
  });

  it('every problem is listed, not only the first', async () => {
    const e = await failure(loadConfig(sources({ env: { DISTKIT_AUTO_CONNECT: 'x', DISTKIT_LOG_FORMAT: 'fancy' } })));
    expect(e.message).toContain('2 problems');
    expect(e.message).toContain('log.format: must be one of auto, json, pretty (got "fancy")');
    const r = await failure(loadConfig(sources({ env: { DISTKIT_STRATEGY: 'keep-referee' } })));
    expect(r.message).toContain('referee: is required when strategy = "keep-referee"');
  });

  it('a missing file is a config error, not a silent default', async () => {
    const e = await failure(loadConfig(sources({ file: '/nonexistent/distkitd.toml' })));
    expect(e.code).toBe('CONFIG_NOT_FOUND');
  });

  it('loading never writes: the folder stays empty', async () => {
    const d = await dir();
    await loadConfig(sources({ flags: { 'state-dir': join(d, 'state') } }));
    expect(await readdir(d)).toEqual([]);
  });
});

describe('line scans', () => {
  it('toml: dotted keys, quoted keys and inline tables', () => {
    const text = 'a = 1\n[x]\n"y".z = 2\nw = { q = 1 }\n[[p]]\nn = 1\n[[p]]\nn = 2\n';
    expect(tomlKeyLine(text, ['x', 'y', 'z'])).toBe(3);
    expect(tomlKeyLine(text, ['x', 'w', 'q'])).toBe(4);
    expect(tomlKeyLine(text, ['p', 1, 'n'])).toBe(8);
    expect(tomlKeyLine(text, ['p', 1, 'missing'])).toBe(7);
    expect(tomlKeyLine(text, ['nothing'])).toBeNull();
  });
  it('json: follows the path in order', () => {
    expect(jsonKeyLine('{\n"log": {\n "level": 1\n},\n"level": 2}', ['log', 'level'])).toBe(3);
  });
});

describe('detector tuning', () => {
  it('[detector] keys and DISTKIT_DETECTOR_* reach the resolved config in milliseconds', async () => {
    const d = await dir();
    const file = join(d, 'c.toml');
    await writeFile(file, '[detector]\nstable_after = "2s"\nfanout = 3\nthreshold = 10\n');
    const c = await loadConfig(sources({ file, env: { DISTKIT_DETECTOR_MAX_SILENCE: '1500', DISTKIT_DETECTOR_THRESHOLD: '9.5' } }));
    expect(c.detector).toEqual({ stableAfter: 2000, fanout: 3, threshold: 9.5, maxSilence: 1500 });
    expect((await loadConfig(sources())).detector).toEqual({});
    const e = await failure(loadConfig(sources({ env: { DISTKIT_DETECTOR_FANOUT: 'some' } })));
    expect(e.message).toContain('detector.fanout: must be "all" or a positive integer (got "some")');
  });
});

describe('tags and reconnect', () => {
  it('a tags table, DISTKIT_TAGS and --tag add up (flags last); reconnect defaults to on-demand, per peer too', async () => {
    const d = await dir();
    const file = join(d, 'c.toml');
    await writeFile(file, 'reconnect = "eager"\n[tags]\nrole = "db"\nzone = "eu-1"\n[[peers]]\nname = "b"\naddress = "10.0.0.2:4370"\nreconnect = "on-demand"\n');
    const c = await loadConfig(sources({ file, env: { DISTKIT_TAGS: 'zone=eu-2, rack=r1' }, flags: { tag: ['rack=r9', 'os=linux'] } }));
    expect(c.tags).toEqual({ role: 'db', zone: 'eu-2', rack: 'r9', os: 'linux' });
    expect(c.reconnect).toBe('eager');
    expect(c.peers[0]?.reconnect).toBe('on-demand');
    const plain = await loadConfig(sources());
    expect(plain.tags).toEqual({});
    expect(plain.reconnect).toBe('on-demand');
    expect((await loadConfig(sources({ env: { DISTKIT_RECONNECT: 'eager' } }))).reconnect).toBe('eager');
    const json = join(d, 'c.json');
    await writeFile(json, JSON.stringify({ tags: { role: 'db' }, reconnect: 'eager' }));
    expect((await loadConfig(sources({ file: json }))).tags).toEqual({ role: 'db' });
  });

  it('bad tags: each names its key, its line and the rule; a bad reconnect lists the two values', async () => {
    const d = await dir();
    const file = join(d, 'c.toml');
    await writeFile(file, ['[tags]', 'role = "db"', '"bad key!" = "x"', 'rack = 3', 'empty = ""', '[[peers]]', 'name = "b"', 'address = "10.0.0.2:4370"', 'reconnect = "sometimes"'].join('\n'));
    const e = await failure(loadConfig(sources({ file })));
    expect(e.exitCode).toBe(78);
    expect(e.message).toContain(`${file}:3: tags.bad key!: key "bad key!" may hold letters, digits and . _ - / only`);
    expect(e.message).toContain(`${file}:4: tags.rack: must be a string (got number: write it in quotes, rack = "3")`);
    expect(e.message).toContain(`${file}:5: tags.empty: value must be a non-empty string of at most 256 UTF-8 bytes`);
    expect(e.message).toContain(`${file}:9: peers[0].reconnect: must be one of on-demand, eager (got "sometimes")`);
    expect(e.message.indexOf(':3:')).toBeLessThan(e.message.indexOf(':9:'));
    const json = join(d, 'c.json');
    await writeFile(json, '{\n  "tags": {\n    "ok": "1",\n    "n": 4\n  }\n}\n');
    expect((await failure(loadConfig(sources({ file: json })))).message).toContain(`${json}:4: tags.n: must be a string`);
    await writeFile(file, `[tags]\n${Array.from({ length: 33 }, (_, i) => `k${i} = "v"`).join('\n')}\n`);
    expect((await failure(loadConfig(sources({ file })))).message).toContain('tags: at most 32 tags (got 33)');
    expect((await failure(loadConfig(sources({ env: { DISTKIT_TAGS: 'role' } })))).message).toContain('DISTKIT_TAGS: "role" is not a tag: expected key=value');
    expect((await failure(loadConfig(sources({ flags: { tag: ['a b=c'] } })))).message).toContain('--tag: tags.a b: key "a b" may hold');
    expect((await failure(loadConfig(sources({ flags: { reconnect: 'later' } })))).message).toContain('--reconnect: reconnect: must be one of on-demand, eager (got "later")');
  });
});

describe('the shipped example', () => {
  it('contrib/distkitd.toml is a valid config', async () => {
    const file = new URL('../contrib/distkitd.toml', import.meta.url).pathname;
    const c = await loadConfig(sources({ file }));
    expect(c.name).toBe('db-1');
    expect(c.control.listen).toEqual({ kind: 'unix', path: '/run/distkit/control.sock' });
    expect(c.dns?.srv).toEqual(['_distkit._tcp.db.prod.svc.cluster.local']);
    expect(c.tags).toEqual({ role: 'db', zone: 'eu-1' });
    expect(c.reconnect).toBe('on-demand');
  });
});
