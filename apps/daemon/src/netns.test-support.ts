// Network namespaces for tests, root or not. Everything lives in one user namespace (unshare
// --user --map-root-user), where an ordinary user holds CAP_NET_ADMIN over network namespaces it
// creates itself: a "switch" namespace with a bridge, and one namespace per node joined to it by
// a veth pair. Each namespace is held open by a `sleep` process (a namespace lives as long as a
// process is in it), and commands run inside one through `nsenter --target <holder>`. No
// /run/netns mounts, no `ip netns`, no root; as root the very same path runs (CI runs as root,
// a developer does not), so both are tested by the same code. Only the test's own namespaces are
// touched; traffic never leaves them.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { requireDebianTool } from './debian-tools.test-support.ts';

let IP = 'ip';

/** null when the machine can run the namespace tests, else the one line saying what to do. */
export function namespaceSupport(): string | null {
  try {
    IP = requireDebianTool('ip', 'iproute2', 'the network-namespace tests');
    requireDebianTool('unshare', 'util-linux', 'the network-namespace tests');
    requireDebianTool('nsenter', 'util-linux', 'the network-namespace tests');
  } catch (err) {
    return (err as Error).message;
  }
  const probe = spawnSync('unshare', ['--user', '--map-root-user', '--net', IP, 'link', 'add', 'probe0', 'type', 'bridge'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    return `the network-namespace tests need user namespaces (unshare --user --net failed: ${(probe.stderr || probe.error?.message || '').trim()}): run \`sudo sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000\` or run the tests as root`;
  }
  return null;
}

export interface TestNetwork {
  /** argv prefix that runs a command inside node `name`'s namespace. */
  exec(name: string): string[];
  /** Runs a command in node `name`'s namespace (or the switch's, `'switch'`), returns its stdout. */
  run(name: string, ...argv: string[]): string;
  /** Cuts (or restores) `name`'s port on the bridge: every packet between it and the rest is lost. */
  cut(name: string, cut: boolean): void;
  /** `name`'s address on the bridge. */
  ip(name: string): string;
  destroy(): void;
}

/** Namespaces for `names` on one bridge, addresses `${subnet}.1`, `.2`, ... in name order. */
export async function createNetwork(names: readonly string[], subnet: string, tag: string): Promise<TestNetwork> {
  const holders = new Map<string, ChildProcess>();
  const enter = (holder: string): string[] => {
    const pid = holders.get(holder)?.pid;
    if (pid === undefined) throw new Error(`no namespace ${holder}`);
    return ['nsenter', `--target=${pid}`, '--user', '--net', '--preserve-credentials'];
  };
  const run = (holder: string, ...argv: string[]): string => {
    const [file, ...args] = [...enter(holder), ...argv] as [string, ...string[]];
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const iface = (n: string, end: 0 | 1): string => `${tag}${names.indexOf(n)}${end}`;
  const destroy = (): void => {
    for (const h of holders.values()) h.kill('SIGKILL');
    holders.clear();
  };
  try {
    const own = readlinkSync('/proc/self/ns/net');
    const hold = async (name: string, argv: string[], parentNet: string): Promise<void> => {
      const [file, ...args] = argv as [string, ...string[]];
      const child = spawn(file, args, { stdio: 'ignore' });
      holders.set(name, child);
      // Ready once the holder has become `sleep` inside a namespace of its own.
      const until = Date.now() + 10_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`cannot create the namespace ${name} (${argv.join(' ')} exited ${child.exitCode})`);
        try {
          if (readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep' && readlinkSync(`/proc/${child.pid}/ns/net`) !== parentNet) return;
        } catch {
          // Not there yet.
        }
        if (Date.now() > until) throw new Error(`the namespace ${name} did not come up`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await hold('switch', ['unshare', '--user', '--map-root-user', '--net', 'sleep', 'infinity'], own);
    const switchNet = readlinkSync(`/proc/${holders.get('switch')?.pid}/ns/net`);
    run('switch', IP, 'link', 'add', 'br0', 'type', 'bridge');
    run('switch', IP, 'link', 'set', 'br0', 'up');
    for (const [i, n] of names.entries()) {
      await hold(n, [...enter('switch').filter((a) => a !== '--net'), 'unshare', '--net', 'sleep', 'infinity'], switchNet);
      run('switch', IP, 'link', 'add', iface(n, 0), 'type', 'veth', 'peer', 'name', iface(n, 1));
      run('switch', IP, 'link', 'set', iface(n, 0), 'netns', String(holders.get(n)?.pid));
      run('switch', IP, 'link', 'set', iface(n, 1), 'master', 'br0');
      run('switch', IP, 'link', 'set', iface(n, 1), 'up');
      run(n, IP, 'addr', 'add', `${subnet}.${i + 1}/24`, 'dev', iface(n, 0));
      run(n, IP, 'link', 'set', iface(n, 0), 'up');
      run(n, IP, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    exec: enter,
    run,
    cut: (name, cut) => void run('switch', IP, 'link', 'set', iface(name, 1), cut ? 'down' : 'up'),
    ip: (name) => `${subnet}.${names.indexOf(name) + 1}`,
    destroy,
  };
}
