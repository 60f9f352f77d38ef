// A small in-test implementation of the kernel's DistkitNode contract. It records what the daemon
// asks of it (options, calls) and lets a test push events and messages that the real kernel only
// emits after real faults. Written before the kernel existed; daemon.test.ts still uses it for
// that injection, everything else runs on the real kernel.
import type { Trust } from '@distkit/handshake';
import type { ViewSummary } from '@distkit/wire';
import { KernelError, type Address, type DistkitNode, type IncomingMessage, type KernelEvent, type KernelStats, type NodeInfo, type NodeOptions, type NodeUpdate, type PeerConfig } from '@distkit/kernel';

class Channel<T> {
  readonly #queue: T[] = [];
  #wake: (() => void) | undefined;
  #done = false;
  push(value: T): void {
    this.#queue.push(value);
    this.#wake?.();
  }
  end(): void {
    this.#done = true;
    this.#wake?.();
  }
  async *iterate(): AsyncGenerator<T> {
    for (;;) {
      while (this.#queue.length > 0) yield this.#queue.shift() as T;
      if (this.#done) return;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }
}

export class StandInNode implements DistkitNode {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  readonly incarnation: number;
  address: Address = { host: '127.0.0.1', port: 0 };
  heartbeatAddress: Address = { host: '127.0.0.1', port: 0 };
  readonly calls: string[] = [];
  readonly sent: Array<{ to: string; value: unknown }> = [];
  readonly peers: Map<string, PeerConfig> = new Map();
  readonly connected: Set<string> = new Set();
  readonly options: NodeOptions;
  started = false;
  stopped = false;
  readonly #events = new Channel<KernelEvent>();
  readonly #messages = new Channel<IncomingMessage>();

  constructor(options: NodeOptions, fingerprint = 'SHA256:stand-in') {
    this.options = options;
    this.name = options.name;
    this.publicKey = options.identity.publicKey;
    this.fingerprint = fingerprint;
    this.incarnation = options.incarnation;
    for (const p of options.peers ?? []) this.peers.set(p.name, p);
    this.trust = options.trust?.store;
    this.tags = options.tags ?? {};
    this.secrets = options.clusterSecrets ?? [];
  }

  async start(): Promise<void> {
    this.calls.push('start');
    this.started = true;
    this.address = { host: this.options.listen?.host ?? '127.0.0.1', port: this.options.listen?.port || 4370 };
    this.heartbeatAddress = this.address;
  }
  async stop(): Promise<void> {
    this.calls.push('stop');
    this.stopped = true;
    this.#events.end();
    this.#messages.end();
  }
  async connectNode(name: string): Promise<void> {
    this.calls.push(`connect ${name}`);
    if (!this.peers.has(name)) throw new KernelError('UNKNOWN_NODE', `no address known for ${name}`);
    this.connected.add(name);
  }
  async joinNode(address: Address, options: { readonly name?: string; readonly publicKey?: Uint8Array } = {}): Promise<string> {
    const name = options.name ?? `joined-${address.port}`;
    this.calls.push(`join ${address.host}:${address.port}`);
    this.addPeer({ name, address, ...(options.publicKey ? { publicKey: options.publicKey } : {}) });
    this.connected.add(name);
    return name;
  }
  async leave(): Promise<void> {
    this.calls.push('leave');
    await this.stop();
  }
  /** The tags in force: the options', then the last `setTags`. */
  tags: Readonly<Record<string, string>> = {};
  setTags(tags: Readonly<Record<string, string>>): void {
    this.calls.push(`setTags ${JSON.stringify(tags)}`);
    this.tags = tags;
  }
  async disconnectNode(name: string): Promise<void> {
    this.calls.push(`disconnect ${name}`);
    this.connected.delete(name);
  }
  nodes(): string[] {
    return [...this.connected];
  }
  info(): NodeInfo[] {
    return [...this.peers.values()].map((p) => ({
      name: p.name,
      connected: this.connected.has(p.name),
      hidden: false,
      verdict: this.connected.has(p.name) ? 'up' : 'unknown',
      incarnation: null,
      fingerprint: null,
      direction: this.connected.has(p.name) ? 'outbound' : null,
      address: p.address,
      pattern: null,
      suite: null,
      tags: {},
      linkedSince: null,
      lastHeard: null,
      phi: null,
      loss: null,
    }));
  }
  async send(name: string, value: unknown): Promise<void> {
    if (!this.connected.has(name)) throw new KernelError('NOT_CONNECTED', `${name} is not connected`);
    this.sent.push({ to: name, value });
  }
  messages(): AsyncIterable<IncomingMessage> {
    return this.#messages.iterate();
  }
  events(): AsyncIterable<KernelEvent> {
    return this.#events.iterate();
  }
  addPeer(peer: PeerConfig): void {
    this.calls.push(`addPeer ${peer.name}`);
    this.peers.set(peer.name, peer);
  }
  removePeer(name: string): void {
    this.calls.push(`removePeer ${name}`);
    this.peers.delete(name);
  }
  configure(update: NodeUpdate): void {
    this.calls.push(`configure ${JSON.stringify(update)}`);
  }
  /** The trust store in force: the one at creation, then the last `setTrust`. */
  trust: Trust | undefined;
  setTrust(store: Trust): void {
    this.calls.push('setTrust');
    this.trust = store;
  }
  /** The cluster secrets in force: the options', then the last `setClusterSecrets`. */
  secrets: readonly Uint8Array[] = [];
  setClusterSecrets(secrets: readonly Uint8Array[]): void {
    this.calls.push(`setClusterSecrets ${secrets.length}`);
    this.secrets = secrets;
  }
  async remoteNodes(): Promise<string[]> {
    return [this.name, ...this.connected];
  }
  stats(): KernelStats {
    return {
      links: this.connected.size,
      heartbeatsSent: 12,
      heartbeatsReceived: 10,
      drops: { unauthenticated: 3, malformed: 0, replayed: 1, foreign_cluster: 0, unknown_sender: 0, too_large: 0 },
      handshakes: {
        ok: 2, failed: 1, refused: 1, timeout: 0,
        rate_limited: 0, slots_full: 0, untrusted: 1, key_changed: 0, self: 0, wrong_name: 0, policy: 0, replayed: 0, bad_secret: 0,
      },
      messagesSent: this.sent.length,
      messagesReceived: 0,
      decisions: 0,
    };
  }

  /** Test side: the kernel reports something. */
  emit(event: KernelEvent): void {
    this.#events.push(event);
  }
  deliver(message: IncomingMessage): void {
    this.#messages.push(message);
  }
}

/**
 * One side's view for a made-up `decision` event (the detector's viewSummary computes real ones
 * from a member set): one link, no oldest member or referee known.
 */
export function sampleView(over: Partial<ViewSummary> = {}): ViewSummary {
  return { connected: 1, lowest: new Uint8Array([1, 2]), oldest: null, referee: false, hash: new Uint8Array([9, 9, 9, 9]), ...over };
}
