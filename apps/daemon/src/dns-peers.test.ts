// Peers from a real DNS server: Debian's dnsmasq, started by the test on a loopback port (found,
// or installed as root, as .ci/run does: debian-tools.test-support.ts). It runs as any user.
import { type ChildProcess, spawn } from 'node:child_process';
import type { PeerConfig } from '@distkit/kernel';
import { afterEach, describe, expect, it } from 'vitest';
import { requireDebianTool } from './debian-tools.test-support.ts';
import { DnsPeers } from './dns-peers.ts';
// Free for UDP and TCP alike: dnsmasq listens on both.
import { freePort } from './free-port.ts';

const DNSMASQ = requireDebianTool('dnsmasq', 'dnsmasq-base', 'the DNS discovery tests');

const running: ChildProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await stopDnsmasq(p);
});

/** dnsmasq answering for test.internal only (NXDOMAIN for other names there, nothing upstream). */
async function startDnsmasq(port: number, records: string[]): Promise<ChildProcess> {
  const args = [
    '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
    '--conf-file=/dev/null', '--local=/test.internal/', '--log-facility=-', ...(process.getuid?.() === 0 ? ['--user=root'] : []), ...records,
  ];
  const child = spawn(DNSMASQ as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.push(child);
  let log = '';
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  // Ready once it answers a query.
  const until = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${log}`);
    let seen: PeerConfig[] = [];
    const probe = new DnsPeers({
      srv: [], a: ['ready.test.internal'], port: 1, servers: [`127.0.0.1:${port}`], refreshMs: 1000, name: '{host}', timeoutMs: 200,
      onChange: (up) => (seen = [...up]),
    });
    await probe.refresh();
    probe.stop();
    if (seen.length > 0) return child;
    if (Date.now() > until) throw new Error(`dnsmasq did not answer: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopDnsmasq(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const READY = '--host-record=ready.test.internal,127.0.0.99';
const SRV = [
  '--srv-host=_distkit._tcp.test.internal,alpha.test.internal,4371,0,10',
  '--srv-host=_distkit._tcp.test.internal,beta.test.internal,4372,0,10',
  '--host-record=alpha.test.internal,127.0.0.11',
  '--host-record=beta.test.internal,127.0.0.12',
];
const A = ['--host-record=peers.test.internal,127.0.0.21', '--host-record=peers.test.internal,127.0.0.22'];

function discovery(port: number, changes: Array<{ up: string[]; removed: string[] }>, over: Partial<ConstructorParameters<typeof DnsPeers>[0]> = {}): DnsPeers {
  return new DnsPeers({
    srv: ['_distkit._tcp.test.internal'],
    a: ['peers.test.internal'],
    port: 4370,
    servers: [`127.0.0.1:${port}`],
    refreshMs: 60_000,
    name: 'distkit@{host}',
    timeoutMs: 300,
    onChange: (up, removed) => changes.push({ up: up.map((p) => `${p.name} ${p.address.host}:${p.address.port}`).sort(), removed: [...removed].sort() }),
    ...over,
  });
}

describe('peers from DNS (dnsmasq on loopback)', () => {
  it('SRV targets and every A address become peers, named by the template; this node is left out', async () => {
    const port = await freePort();
    await startDnsmasq(port, [READY, ...SRV, ...A]);
    const changes: Array<{ up: string[]; removed: string[] }> = [];
    const dns = discovery(port, changes, { exclude: (p) => p.address.host === '127.0.0.22' });
    await dns.refresh();
    expect(changes).toEqual([
      {
        up: ['distkit@127.0.0.21 127.0.0.21:4370', 'distkit@alpha.test.internal 127.0.0.11:4371', 'distkit@beta.test.internal 127.0.0.12:4372'],
        removed: [],
      },
    ]);
    await dns.refresh();
    expect(changes).toHaveLength(1);
    dns.stop();
  });

  it('refreshes: moved and vanished records update the set; a name gone from DNS removes its peers', async () => {
    const port = await freePort();
    const first = await startDnsmasq(port, [READY, ...SRV, ...A]);
    const changes: Array<{ up: string[]; removed: string[] }> = [];
    const dns = discovery(port, changes, { refreshMs: 150 });
    await dns.start();
    await stopDnsmasq(first);
    await startDnsmasq(port, [
      READY,
      '--srv-host=_distkit._tcp.test.internal,alpha.test.internal,4371,0,10',
      '--host-record=alpha.test.internal,127.0.0.13',
    ]);
    await waitFor(() => changes.length >= 2);
    expect(changes[1]).toEqual({
      up: ['distkit@alpha.test.internal 127.0.0.13:4371'],
      removed: ['distkit@127.0.0.21', 'distkit@127.0.0.22', 'distkit@beta.test.internal'],
    });
    expect(dns.peers().map((p) => p.name)).toEqual(['distkit@alpha.test.internal']);
    dns.stop();
  });

  it('a DNS outage keeps the last answer instead of dropping every peer', async () => {
    const port = await freePort();
    const server = await startDnsmasq(port, [READY, ...SRV]);
    const changes: Array<{ up: string[]; removed: string[] }> = [];
    const dns = discovery(port, changes, { a: [] });
    await dns.refresh();
    expect(dns.peers()).toHaveLength(2);
    await stopDnsmasq(server);
    await dns.refresh();
    expect(dns.peers()).toHaveLength(2);
    expect(changes).toHaveLength(1);
    dns.stop();
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
