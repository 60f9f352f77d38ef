// The `suites` config key, through real distkitd processes: a node that accepts only ChaChaPoly
// links with a default node in that suite, `status` lists its suites and `nodes` the suite of each
// link; a node that accepts only AES-GCM refuses it, and its log says why.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './cli-process.test-support.ts';
import { callControl } from './control-client.ts';
import { freePort, startDaemon, type RunningDaemon } from './daemon-process.test-support.ts';

const running: RunningDaemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop('SIGKILL');
});

async function until(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('distkitd suites', () => {
  it('suites = ChaChaPoly only: links to a default node in it, status and nodes show it; an AES-GCM-only node refuses it, saying why', async () => {
    const home = await mkdtemp(join(tmpdir(), 'distkitd-suites-'));
    const ports = { alpha: await freePort(), beta: await freePort(), gamma: await freePort() };
    const launch = async (name: keyof typeof ports, args: string[], env: Record<string, string>) => {
      const stateDir = join(home, name);
      const d = await startDaemon(['--state-dir', stateDir, '--control', '127.0.0.1:0', '--name', name, '--listen', `127.0.0.1:${ports[name]}`, ...args], {
        cwd: home, env: cleanEnv(home, env), stateDir,
      });
      running.push(d);
      return d;
    };
    const beta = await launch('beta', [], {});
    const gamma = await launch('gamma', [], { DISTKIT_SUITES: '25519_AESGCM_SHA256' });
    const alpha = await launch('alpha', ['--peer', `beta=127.0.0.1:${ports.beta}`, '--peer', `gamma=127.0.0.1:${ports.gamma}`], {
      DISTKIT_SUITES: '25519_ChaChaPoly_SHA256',
    });
    const target = await alpha.target();
    type Info = { name: string; connected: boolean; suite: string | null };
    await until(async () => ((await callControl(target, 'GET', '/v1/nodes')) as { nodes: Info[] }).nodes.some((n) => n.name === 'beta' && n.connected));
    const { nodes } = (await callControl(target, 'GET', '/v1/nodes')) as { nodes: Info[] };
    expect(nodes.find((n) => n.name === 'beta')?.suite).toBe('25519_ChaChaPoly_SHA256');

    // gamma refuses alpha's first record, and says why in its log (a `refused` event).
    const refused = await gamma.waitForLog((l) => l.msg === 'refused' && /suite 25519_ChaChaPoly_SHA256/.test(String(l['reason'])));
    expect(refused['reason']).toBe('peer asked for suite 25519_ChaChaPoly_SHA256; this node accepts 25519_AESGCM_SHA256 (option suites)');
    expect(nodes.find((n) => n.name === 'gamma')?.connected).toBe(false);

    const env = cleanEnv(home, {});
    const status = await runCli(['status', '--state-dir', join(home, 'alpha')], { cwd: home, env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^suites\s+25519_ChaChaPoly_SHA256$/m);
    const betaStatus = await runCli(['status', '--state-dir', join(home, 'beta'), '--json'], { cwd: home, env });
    expect((JSON.parse(betaStatus.stdout) as { suites: string[] }).suites).toHaveLength(2); // the default: both
    const table = await runCli(['nodes', '--state-dir', join(home, 'alpha')], { cwd: home, env });
    expect(table.stdout.split('\n')[0]).toMatch(/\bSUITE$/);
    expect(table.stdout).toMatch(/^beta\s+up\s.*\s25519_ChaChaPoly_SHA256$/m);
    for (const d of [alpha, beta, gamma]) expect(await d.stop()).toBe(0);
  }, 60_000);

  it('a bad suites value is a config error naming the key', async () => {
    const home = await mkdtemp(join(tmpdir(), 'distkitd-suites-bad-'));
    const r = await runCli(['check-config', '--state-dir', join(home, 's')], { cwd: home, env: cleanEnv(home, { DISTKIT_SUITES: '25519_AESGCM_SHA256,25519_Bogus' }) });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/DISTKIT_SUITES \(suites\): suites\[1\]: must be one of 25519_ChaChaPoly_SHA256, 25519_AESGCM_SHA256/);
  }, 30_000);
});
