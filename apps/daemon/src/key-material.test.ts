// Key material never appears in a message, a log line or an error (issue 14). Every key file
// format distkitd reads (the private key file, the cluster secret file, authorized_nodes and
// known_nodes lines, the control token, a key on the command line) is fed to real distkitd
// processes malformed in every way we could think of, and the output is searched for any
// 8-character piece of the key's base64 (and any 16-character piece of its hex).
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatClusterKeyring, generateClusterSecret } from '@distkit/handshake';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './cli-process.test-support.ts';
import { startDaemon } from './daemon-process.test-support.ts';
import { encodePrivateKeyFile, generateIdentity } from './identity.ts';

let root: string;
let env: Record<string, string>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'distkitd-keys-'));
  env = cleanEnv(root);
});

/** Every piece of `secret` (base64) that must not be printed: 8-char base64 windows, 16-char hex windows. */
function pieces(secretBase64: string): string[] {
  const out: string[] = [];
  const b64 = secretBase64.replace(/=+$/, '');
  for (let i = 0; i + 8 <= b64.length; i++) out.push(b64.slice(i, i + 8));
  const hex = Buffer.from(secretBase64, 'base64').toString('hex');
  for (let i = 0; i + 16 <= hex.length; i += 2) out.push(hex.slice(i, i + 16));
  return out;
}

function expectNoLeak(output: string, secretBase64: string, what: string): void {
  const leaked = pieces(secretBase64).filter((p) => output.includes(p));
  expect(leaked, `${what}: key material in the output:\n${output}`).toEqual([]);
  expect(output, what).not.toMatch(/"0":\d+,"1":\d+/);
}

const KEY = Buffer.from(generateIdentity().privateKey).toString('base64');
const SECRET = Buffer.from(generateClusterSecret()).toString('base64');
const TOKEN = 'tK8z3JqLmN5vXc2bR9wY4uE7iO1pA6sD0fG3hJ8kZx';

/**
 * The ways a line holding `key` can be broken. `strictSpacing`: the private key file is exactly
 * one line with single spaces (the cluster secret file accepts any blanks around its fields).
 */
function broken(tag: string, key: string, strictSpacing: boolean): Array<[string, string]> {
  const bad = `${key.slice(0, 20)}!${key.slice(21)}`;
  const spacing: Array<[string, string]> = [
    ['leading space', ` ${tag} ${key}\n`],
    ['two spaces', `${tag}  ${key}\n`],
  ];
  return [
    ...(strictSpacing ? spacing : []),
    ['no tag (a bare key)', `${key}\n`],
    ['the wrong tag', `distkit-x25519 ${key}\n`],
    ['a misspelt tag', `${tag.slice(0, -1)} ${key}\n`],
    ['bad base64', `${tag} ${bad}\n`],
    ['too short', `${tag} ${key.slice(0, 40)}\n`],
    ['too long', `${tag} ${key.slice(0, 43)}AAAA=\n`],
    ['extra fields', `${tag} ${key} trailing words\n`],
    ['two keys on one line', `${tag} ${key}${key}\n`],
    ['a non-ASCII character', `${tag} ${key}é\n`],
    ['a second line', `${tag} ${key}\n${key}\n`],
  ];
}

describe.concurrent('no key material in any message', () => {
  it.each(broken('distkit-x25519-private', KEY, true))('private key file with %s: run refuses it (65) without quoting it, fingerprint too', async (_what, text) => {
    const state = await mkdtemp(join(root, 'id-'));
    await writeFile(join(state, 'identity.key'), text, { mode: 0o600 });
    await writeFile(join(state, 'incarnation'), '3\n');
    const run = await runCli(['run', '--state-dir', state, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'], { cwd: root, env });
    expect(run.code, run.stderr).toBe(65);
    expect(run.stderr).toContain(join(state, 'identity.key'));
    expectNoLeak(run.stdout + run.stderr, KEY, 'run');
    // `fingerprint FILE` also takes public key files, so a bare key or a public key line is
    // fingerprinted (SHA-256, which reveals nothing); whatever it does, the key is not printed.
    const fp = await runCli(['fingerprint', join(state, 'identity.key')], { cwd: root, env });
    expectNoLeak(fp.stdout + fp.stderr, KEY, 'fingerprint');
  });

  it.each(broken('distkit-cluster-secret', SECRET, false))('cluster secret file with %s: run and check-config refuse it without quoting it', async (_what, text) => {
    const dir = await mkdtemp(join(root, 'secret-'));
    await writeFile(join(dir, 'secret'), text, { mode: 0o600 });
    for (const command of ['run', 'check-config']) {
      const r = await runCli([command, '--state-dir', join(dir, 'state'), '--cluster-secret-file', join(dir, 'secret'), '--control', '127.0.0.1:0', '--listen', '127.0.0.1:0'], { cwd: root, env });
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toContain(join(dir, 'secret'));
      expectNoLeak(r.stdout + r.stderr, SECRET, command);
    }
  });

  const TRUST_LINES: Array<[string, string]> = [
    ['a private key pasted as the key', `beta ${KEY.slice(0, 43)}\n`],
    ['bad base64', `beta ${KEY.slice(0, 20)}!${KEY.slice(21)}\n`],
    ['too short', `beta ${KEY.slice(0, 40)}\n`],
    ['the key where the name goes', `${KEY} ${KEY}\n`],
    ['the key alone', `${KEY}\n`],
    ['extra fields', `beta ${KEY} revoked extra-field\n`],
    ['a bad option', `beta ${KEY} ${KEY.slice(0, 12)}!\n`],
    ['a non-ASCII character', `beta ${KEY}é\n`],
    ['a key file line after the name', `beta distkit-x25519-private ${KEY}\n`],
  ];
  it.each(TRUST_LINES)('authorized_nodes and known_nodes with %s: refused (65) without quoting the key', async (_what, line) => {
    for (const file of ['authorized_nodes', 'known_nodes']) {
      const state = await mkdtemp(join(root, 'trust-'));
      await writeFile(join(state, file), `# a comment\n${line}`);
      const r = await runCli(['run', '--state-dir', state, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'], { cwd: root, env });
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toContain(`${join(state, file)} line 2`);
      expectNoLeak(r.stdout + r.stderr, KEY, file);
      const list = await runCli(['trust', 'list', '--state-dir', state], { cwd: root, env });
      expect(list.code).toBe(65);
      expectNoLeak(list.stdout + list.stderr, KEY, `trust list (${file})`);
    }
  });

  it.each([
    ['a space inside', `${TOKEN.slice(0, 20)} ${TOKEN.slice(20)}\n`],
    ['two lines', `${TOKEN}\n${TOKEN}\n`],
    ['a non-ASCII character', `${TOKEN}é\n`],
  ])('a control token with %s: run (65) and the client commands refuse it without quoting it', async (_what, text) => {
    const state = await mkdtemp(join(root, 'token-'));
    await writeFile(join(state, 'control.token'), text, { mode: 0o600 });
    const r = await runCli(['run', '--state-dir', state, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'], { cwd: root, env });
    expect(r.code, r.stderr).toBe(65);
    expectNoLeak(r.stdout + r.stderr, TOKEN, 'run');
    const s = await runCli(['status', '--state-dir', state, '--control', '127.0.0.1:1', '--token-file', join(state, 'control.token')], { cwd: root, env });
    expect(s.code).toBe(65);
    expectNoLeak(s.stdout + s.stderr, TOKEN, 'status');
  });

  it('a key on the command line (--peer, trust add, fingerprint), malformed, is not echoed either', async () => {
    const state = await mkdtemp(join(root, 'flags-'));
    const cases = [
      ['run', '--state-dir', state, '--peer', `beta=127.0.0.1:1#${KEY.slice(0, 43)}`],
      ['check-config', '--state-dir', state, '--peer', `beta=127.0.0.1:1#${KEY}${KEY}`],
      ['trust', 'add', 'beta', `${KEY.slice(0, 40)}`, '--state-dir', state],
      ['trust', 'add', 'beta', `distkit-x25519-private ${KEY}`, '--state-dir', state],
      ['fingerprint', `${KEY.slice(0, 20)}!${KEY.slice(21)}`],
    ];
    for (const args of cases) {
      const r = await runCli(args, { cwd: root, env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).not.toBe(0);
      expectNoLeak(r.stdout + r.stderr, KEY, args.slice(0, 2).join(' '));
    }
  });
});

describe('no key material in the logs of a running daemon', () => {
  it('a malformed known_nodes read on SIGHUP is logged and ignored, without the key; a good one is reloaded', async () => {
    const state = join(root, 'running');
    await mkdir(state);
    const d = await startDaemon(['--state-dir', state, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'], { cwd: root, env, stateDir: state });
    try {
      await writeFile(join(state, 'known_nodes'), `beta ${KEY.slice(0, 40)}\n${encodePrivateKeyFile(generateIdentity())}`);
      d.process.kill('SIGHUP');
      const failed = await d.waitForLog((l) => l.msg === 'reload failed; keeping the running configuration');
      expect(String(failed['err'])).toContain(`${join(state, 'known_nodes')} line 1`);
      const logs = d.logs.map((l) => JSON.stringify(l)).join('\n');
      expectNoLeak(logs + d.stderr(), KEY, 'logs');
      expect(d.process.exitCode).toBeNull();
    } finally {
      await d.stop('SIGKILL');
    }
  });
});
