// N real kernels (`createNode` from @distkit/kernel) on the hosts of a SimNetwork: real Noise
// handshakes and sessions, sealed heartbeats, probes, ticks, the policy and the detector, all on
// virtual time. Identity keys come from the seed and every random byte the kernels draw comes
// from their host's seeded stream, so one seed replays one run byte for byte.
import { TrustStore, defaultProvider, formatTrustEntry, type KeyPair } from '@distkit/handshake';
import { createNode, type DistkitNode, type KernelEvent, type NodeOptions } from '@distkit/kernel';
import type { SimNetwork } from './network.ts';
import { createRandom } from './random.ts';

/** Where every simulated node listens (links) and takes heartbeats (the same port, as the daemon does). */
export const SIM_PORT = 4370;

export interface KernelClusterOptions {
  readonly network: SimNetwork;
  /** Number of nodes (named n0, n1, ...) or their names. */
  readonly nodes: number | readonly string[];
  /** Identity keys are drawn from this seed. */
  readonly seed: number;
  /** Options for every kernel (mode, intervals, strategy, detector...); names, keys and peers are the harness's. */
  readonly node?: Partial<NodeOptions>;
  /** Called for every kernel event, synchronously, at the virtual time it happens. */
  readonly onEvent?: (node: string, event: KernelEvent) => void;
  /**
   * What a node told to restart does (as distkitd's supervisor would): after `delayMs` its host
   * crashes and comes back, and a new kernel starts with incarnation + 1. Absent: decisions are
   * only reported.
   */
  readonly restartOnDecision?: { readonly delayMs: number };
}

export interface KernelCluster {
  readonly names: readonly string[];
  node(name: string): DistkitNode;
  /** Kernel incarnation of `name` (1 at first, +1 per restart). */
  incarnation(name: string): number;
  /** How many times each node has restarted. */
  restarts(name: string): number;
  /** Starts every kernel; resolves once all listen (run the network to let them link). */
  start(): Promise<void>;
  /** Crashes `name`'s host silently (no resets): peers must notice by themselves. */
  crash(name: string): void;
  /** Crash + restart with incarnation + 1 (what the supervisor does after exit 75). */
  restart(name: string): void;
  /** Stops every kernel that is running. */
  stop(): Promise<void>;
}

/** A deterministic identity per (seed, name). */
export function simIdentity(seed: number, name: string): KeyPair {
  const random = createRandom(seed, `identity:${name}`);
  const bytes = Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256));
  return defaultProvider().dh('25519')!.keyPairFromPrivate(bytes);
}

export function createKernelCluster(o: KernelClusterOptions): KernelCluster {
  const net = o.network;
  const names = typeof o.nodes === 'number' ? Array.from({ length: o.nodes }, (_, i) => `n${i}`) : [...o.nodes];
  const ids = new Map(names.map((n) => [n, simIdentity(o.seed, n)]));
  // Strict trust with every key: the experiments are about partitions, not strangers.
  const authorized = names.map((n) => formatTrustEntry({ name: n, key: ids.get(n)!.publicKey, options: {} })).join('\n');
  const kernels = new Map<string, DistkitNode>();
  const incarnations = new Map(names.map((n) => [n, 1]));
  const restartCount = new Map(names.map((n) => [n, 0]));
  const restarting = new Set<string>();

  const make = (name: string): DistkitNode => {
    const transport = net.host(name);
    const node = createNode({
      ...o.node,
      name,
      cluster: 'sim',
      identity: ids.get(name)!,
      incarnation: incarnations.get(name)!,
      transport,
      listen: { host: name, port: SIM_PORT },
      peers: names.filter((n) => n !== name).map((n) => ({ name: n, address: { host: n, port: SIM_PORT }, publicKey: ids.get(n)!.publicKey })),
      trust: { store: new TrustStore({ mode: 'strict', authorizedNodes: authorized }) },
      onEvent: (e) => {
        o.onEvent?.(name, e);
        if (e.type === 'decision' && e.decision === 'restart' && o.restartOnDecision && !restarting.has(name)) {
          restarting.add(name);
          const at = transport.now() + o.restartOnDecision.delayMs;
          net.at(at, () => {
            restarting.delete(name);
            if (kernels.get(name) === node) cluster.restart(name);
          });
        }
      },
    });
    kernels.set(name, node);
    return node;
  };

  const cluster: KernelCluster = {
    names,
    node: (name) => kernels.get(name)!,
    incarnation: (name) => incarnations.get(name)!,
    restarts: (name) => restartCount.get(name)!,
    async start() {
      const started = names.map((n) => make(n).start());
      await net.run(net.now);
      await Promise.all(started);
    },
    crash(name) {
      net.crash(name);
    },
    restart(name) {
      if (net.isUp(name)) net.crash(name);
      net.restart(name);
      incarnations.set(name, incarnations.get(name)! + 1);
      restartCount.set(name, restartCount.get(name)! + 1);
      // The old kernel's host is gone (its timers and sockets with it); a new one takes its place.
      void make(name).start();
    },
    async stop() {
      await Promise.all([...kernels.values()].map((k) => k.stop()));
    },
  };
  return cluster;
}
