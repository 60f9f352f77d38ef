// The net kernel: composes the policy engine, the partition detector, links (Noise sessions) and
// the heartbeat channel behind a Transport. Every decision is the cores'; this file carries them
// out, feeds them what happens, and reports it as events.
import { fingerprint, openHeartbeat, pairwiseKey, sealHeartbeat } from '@distkit/handshake';
import {
  createDetector, toHex, viewSummary, type Detector, type DetectorEvent, type Member, type TickOutput,
} from '@distkit/detector';
import { createPolicy, type Decision, type Policy, type PolicyEvent } from '@distkit/policy';
import {
  DEFAULT_FRAME_LIMITS, MAX_DATAGRAM_BYTES, MessageType, decodeHeartbeat, decodeProbe, encodeHeartbeat, encodeProbe,
  peekType, type Hello, type WireLimits,
} from '@distkit/wire';
import type {
  DistkitNode, IncomingMessage, KernelEvent, KernelStats, NodeInfo, NodeOptions, NodedownReason, PeerConfig, Verdict,
} from './api.ts';
import { KernelError } from './errors.ts';
import { EventChannel } from './event-channel.ts';
import { Link, type LinkContext, type LinkOwner, type PeerVerdict } from './link.ts';
import { createNodeTransport } from './node-transport.ts';
import { resolveOptions, type ResolvedOptions } from './options.ts';
import { AddressRateLimiter } from './rate-limit.ts';
import type { Address, DatagramSocket, Stream, StreamListener, TimerHandle, Transport } from './transport.ts';

type DropReason = keyof KernelStats['drops'];

/** What the kernel knows of one peer beyond what policy and detector hold. */
interface Peer {
  name: string;
  config: PeerConfig | null;
  /** Where its heartbeats go and come from: configured, or learned from its hello on a link. */
  heartbeat: Address | null;
  /** The key this peer is trusted with (configured, authorized, or learned), if any. */
  key: Uint8Array | null;
  pairwise: Uint8Array | null;
  hidden: boolean;
  incarnation: number | null;
  startedAt: number | null;
  link: Link | null;
  /** connectNode() callers waiting for the link. */
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
  /** send() calls waiting for an auto-connect. */
  queue: { value: unknown; resolve: () => void; reject: (e: Error) => void }[];
}

const addressKey = (a: Address): string => `${a.host}|${a.port}`;

class KernelNode implements DistkitNode {
  readonly #o: ResolvedOptions;
  readonly #t: Transport;
  readonly #policy: Policy;
  readonly #detector: Detector;
  readonly #peers = new Map<string, Peer>();
  readonly #byHeartbeatAddress = new Map<string, Peer>();
  readonly #links = new Map<number, Link>();
  readonly #events = new EventChannel<KernelEvent>();
  readonly #messages = new EventChannel<IncomingMessage>();
  readonly #rate: AddressRateLimiter;
  readonly #frameLimits: WireLimits;
  #listener: StreamListener | null = null;
  #udp: DatagramSocket | null = null;
  #wakeup: TimerHandle | null = null;
  #wakeupAt = Infinity;
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #nextLinkId = 1;
  #seq = 0;
  #probeIds = 0;
  #startedAt = 0;
  #stats = {
    heartbeatsSent: 0, heartbeatsReceived: 0, messagesSent: 0, messagesReceived: 0, decisions: 0,
    drops: { unauthenticated: 0, malformed: 0, replayed: 0, foreign_cluster: 0, unknown_sender: 0, too_large: 0 } as Record<DropReason, number>,
    handshakes: { ok: 0, failed: 0, refused: 0, timeout: 0 },
  };
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  readonly incarnation: number;
  #hello: Hello;
  readonly #selfHex: string;

  constructor(options: NodeOptions) {
    this.#o = resolveOptions(options);
    this.#t = options.transport ?? createNodeTransport();
    this.name = this.#o.name;
    this.publicKey = this.#o.identity.publicKey;
    this.fingerprint = fingerprint(this.publicKey);
    this.incarnation = this.#o.incarnation;
    this.#selfHex = toHex(this.publicKey);
    this.#rate = new AddressRateLimiter(this.#o.handshakesPerSecondPerAddress);
    this.#frameLimits = { ...DEFAULT_FRAME_LIMITS, maxBytes: this.#o.maxMessageBytes };
    this.#startedAt = options.startedAt ?? this.#t.wallTime();
    this.#hello = { name: this.name, incarnation: this.incarnation, hidden: this.#o.hidden, versions: [1], startedAt: this.#startedAt, heartbeatPort: null };
    const modes: Record<string, 'always' | 'once' | 'never'> = {};
    for (const p of this.#o.peers) if (p.autoConnect) modes[p.name] = p.autoConnect;
    this.#policy = createPolicy(
      {
        self: { name: this.name, id: this.#selfHex, hidden: this.#o.hidden },
        mode: this.#o.autoConnect,
        modes,
        peers: this.#o.connectAtStart ? this.#o.peers.map((p) => p.name) : [],
      },
      { random: () => this.#t.random() },
    );
    this.#detector = createDetector(
      {
        ...options.detector,
        interval: this.#o.heartbeatIntervalMs,
        strategy: this.#o.strategy,
        ...(this.#o.quorum !== null ? { quorum: this.#o.quorum } : {}),
      },
      { random: () => this.#t.random() },
    );
    for (const p of this.#o.peers) this.addPeer(p);
  }

  get address(): Address {
    if (!this.#listener) throw new KernelError('NOT_STARTED', 'the node has not been started');
    return this.#listener.address;
  }

  get heartbeatAddress(): Address {
    if (!this.#udp) throw new KernelError('NOT_STARTED', 'the node has not been started');
    return this.#udp.address;
  }

  // ---- peers ---------------------------------------------------------------------------------

  #peer(name: string): Peer {
    let p = this.#peers.get(name);
    if (!p) {
      const pinned = this.#storedKey(name);
      p = { name, config: null, heartbeat: null, key: pinned, pairwise: null, hidden: false, incarnation: null, startedAt: null, link: null, waiters: [], queue: [] };
      if (pinned) p.pairwise = this.#pairwise(pinned);
      this.#peers.set(name, p);
    }
    return p;
  }

  /** The key the trust store binds to `name` (authorized first, then known), if exactly one. */
  #storedKey(name: string): Uint8Array | null {
    const { authorized, known } = this.#o.trust.store.entries();
    const live = (es: readonly { name: string; key: Uint8Array; options: Readonly<Record<string, unknown>> }[]) =>
      es.filter((e) => e.name === name && !e.options['revoked']);
    const a = live(authorized);
    const k = live(known);
    const pick = a.length > 0 ? a : k;
    return pick.length === 1 ? pick[0]!.key : null;
  }

  #pairwise(key: Uint8Array): Uint8Array | null {
    try {
      return pairwiseKey(this.#o.identity.privateKey, key, this.#o.clusterSecrets[0]);
    } catch {
      return null;
    }
  }

  addPeer(config: PeerConfig): void {
    const p = this.#peer(config.name);
    this.#setHeartbeatAddress(p, config.heartbeat ?? config.address);
    p.config = config;
    if (config.publicKey && !p.key) {
      p.key = config.publicKey;
      p.pairwise = this.#pairwise(config.publicKey);
    }
    if (!p.hidden) this.#detector.addPeer(config.name);
  }

  #setHeartbeatAddress(p: Peer, address: Address | null): void {
    if (p.heartbeat) this.#byHeartbeatAddress.delete(addressKey(p.heartbeat));
    p.heartbeat = address;
    if (address) this.#byHeartbeatAddress.set(addressKey(address), p);
  }

  removePeer(name: string): void {
    const p = this.#peers.get(name);
    if (!p) return;
    this.#setHeartbeatAddress(p, null);
    p.config = null;
    this.#detector.removePeer(name);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new KernelError('ALREADY_STARTED', `node ${this.name} was already started`);
    this.#state = 'starting';
    this.#listener = await this.#t.listen(this.#o.listen, (stream) => this.#onInbound(stream));
    const hb = this.#o.heartbeatListen ?? this.#listener.address;
    try {
      this.#udp = await this.#t.bind(hb, (bytes, from) => this.#onDatagram(bytes, from));
    } catch (err) {
      await this.#listener.close();
      throw err;
    }
    // A hidden node takes no heartbeats; others tell their heartbeat port in the hello.
    if (!this.#o.hidden) this.#hello = { ...this.#hello, heartbeatPort: this.#udp.address.port };
    this.#state = 'running';
    this.#updateView();
    this.#apply(this.#policy.handle({ type: 'start' }, this.#t.now()));
    this.#onWakeup();
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasRunning = this.#state === 'running';
    this.#state = 'stopped';
    this.#wakeup?.cancel();
    for (const link of [...this.#links.values()]) link.close('shutdown', 'node stopping');
    for (const p of this.#peers.values()) this.#failWaiters(p, new KernelError('STOPPED', 'node stopped'));
    if (wasRunning || this.#listener) await this.#listener?.close();
    await this.#udp?.close();
    this.#events.close();
    this.#messages.close();
  }

  // ---- policy --------------------------------------------------------------------------------

  #feed(event: PolicyEvent): readonly Decision[] {
    const decisions = this.#policy.handle(event, this.#t.now());
    this.#apply(decisions);
    return decisions;
  }

  #apply(decisions: readonly Decision[]): void {
    for (const d of decisions) {
      switch (d.type) {
        case 'dial':
          this.#dial(d.node);
          break;
        case 'refuse':
          if (d.connection !== null) this.#links.get(Number(d.connection))?.close('refused', `refused by policy: ${d.reason}`);
          else if (d.node) this.#failWaiters(this.#peer(d.node), new KernelError('CONNECT_FAILED', `connect to ${d.node} refused by policy: ${d.reason}`));
          break;
        case 'drop': {
          const item = d.message as { reject: (e: Error) => void } | undefined;
          item?.reject(new KernelError('AUTO_CONNECT_REFUSED', `not connected to ${d.node}, and auto-connect may not connect it (${d.reason})`));
          const p = this.#peers.get(d.node);
          if (p) p.queue = p.queue.filter((q) => q !== item);
          break;
        }
        case 'cancel':
          if (d.inFlight && d.connection !== null) this.#links.get(Number(d.connection))?.close('replaced', `dial cancelled: ${d.reason}`, false);
          break;
        case 'close':
          this.#links.get(Number(d.connection))?.close(d.reason === 'denied' || d.reason === 'notAllowed' ? 'refused' : 'replaced', `closed by policy: ${d.reason}`, false);
          break;
        case 'violation':
          // A shrunk allow/deny list: the kernel closes links that now break it.
          this.#links.get(Number(d.connection))?.close('refused', `link no longer allowed (${d.reason})`);
          break;
        case 'giveUp': {
          const p = this.#peer(d.node);
          this.#failWaiters(p, new KernelError('CONNECT_FAILED', `gave up on ${d.node} after ${d.attempts} attempts`));
          break;
        }
        default:
          // retry, wait, ready, accept, keep, barred, unbarred, ignore: nothing to carry out here;
          // `accept` and `ready` are read by the callers that asked.
          break;
      }
    }
    this.#schedule();
  }

  #dial(name: string): void {
    const p = this.#peer(name);
    const address = p.config?.address;
    if (!address || this.#state !== 'running') {
      this.#feed({ type: 'dialFailed', node: name, reason: address ? 'stopped' : 'no_address' });
      this.#failWaiters(p, new KernelError('UNKNOWN_NODE', `no address known for ${name}`));
      return;
    }
    const id = this.#nextLinkId++;
    this.#policy.handle({ type: 'dialStarted', node: name, connection: id }, this.#t.now());
    this.#t.connect(address, { timeoutMs: this.#o.setupTimeMs }).then(
      (stream) => {
        if (this.#state !== 'running') {
          stream.destroy();
          return;
        }
        // Pin the key when we have one (configured or learned): Noise IK, one round trip.
        const link = new Link(stream, this.#linkContext(), this.#owner, {
          id, role: 'initiator', ...(p.key ? { remoteKey: p.key } : {}),
        });
        this.#links.set(id, link);
        this.#dialing.set(id, name);
      },
      (err: Error) => {
        if (this.#state !== 'running') return;
        this.#stats.handshakes.failed++;
        this.#feed({ type: 'dialFailed', node: name, reason: 'connect_failed' });
        this.#failWaitersIfIdle(p, new KernelError('CONNECT_FAILED', err.message, { cause: err }));
      },
    );
  }

  readonly #dialing = new Map<number, string>();

  #linkContext(): LinkContext {
    return {
      transport: this.#t,
      identity: this.#o.identity,
      cluster: this.#o.cluster,
      hello: this.#hello,
      clusterSecrets: this.#o.clusterSecrets,
      setupTimeMs: this.#o.setupTimeMs,
      tickTimeMs: this.#o.tickTimeMs,
      tickIntensity: this.#o.tickIntensity,
      frameLimits: this.#frameLimits,
      maxMessageBytes: this.#o.maxMessageBytes,
    };
  }

  #onInbound(stream: Stream): void {
    if (this.#state !== 'running') {
      stream.destroy();
      return;
    }
    // Per-address rate limit on handshakes, before any crypto is spent.
    if (!this.#rate.take(stream.remote.host, this.#t.now())) {
      this.#stats.handshakes.refused++;
      stream.destroy();
      return;
    }
    const id = this.#nextLinkId++;
    const verdict = this.#policy.handle({ type: 'inboundAttempt', connection: id, address: stream.remote.host }, this.#t.now());
    if (verdict.some((d) => d.type === 'refuse' && d.connection === id)) {
      this.#stats.handshakes.refused++;
      stream.destroy();
      this.#apply(verdict.filter((d) => !(d.type === 'refuse' && d.connection === id)));
      return;
    }
    this.#apply(verdict);
    this.#links.set(id, new Link(stream, this.#linkContext(), this.#owner, { id, role: 'responder' }));
  }

  // ---- link callbacks ------------------------------------------------------------------------

  readonly #owner: LinkOwner = {
    onPeer: (link, hello, remoteKey) => this.#onPeer(link, hello, remoteKey),
    onUp: (link) => this.#onUp(link),
    onFrame: (link, frame) => {
      const from = link.remoteHello?.name;
      if (!from) return;
      if (frame.kind === 'system') return this.#onSystem(link, frame.op, frame.body);
      if (frame.kind !== 'message') return;
      this.#stats.messagesReceived++;
      this.#messages.publish({ from, value: frame.value });
    },
    onDrain: (link) => {
      for (const w of this.#drainWaiters.get(link)?.splice(0) ?? []) w.resolve();
    },
    onDown: (link, reason, detail) => this.#onDown(link, reason, detail),
  };

  /** send() calls waiting for a congested link's buffer to drain (back-pressure). */
  readonly #drainWaiters = new Map<Link, { resolve: () => void; reject: (e: Error) => void }[]>();

  #trust(name: string, key: Uint8Array): PeerVerdict {
    const p = this.#peer(name);
    const pinned = p.config?.publicKey ?? null;
    const verdict = pinned && !equal(pinned, key)
      ? { decision: 'changed' as const, reason: `the configuration pins another key for '${name}'` }
      : this.#o.trust.store.explain(name, key);
    switch (verdict.decision) {
      case 'trusted':
        break;
      case 'unknown':
        // TOFU: learn on first use; the caller persists known_nodes.
        this.#o.trust.store.learn(name, key);
        this.#o.trust.onLearned?.(name, Uint8Array.from(key));
        break;
      case 'changed': {
        const expected = pinned ?? p.key;
        this.#emit({ type: 'key-changed', node: name, expected: expected ? fingerprint(expected) : 'unknown', presented: fingerprint(key), at: this.#t.now() });
        return { accept: false, reason: 'key_changed', detail: `${name} presented ${fingerprint(key)}: ${verdict.reason}` };
      }
      default:
        return { accept: false, reason: 'refused', detail: `${name} (${fingerprint(key)}): ${verdict.reason}` };
    }
    if (!p.key || !equal(p.key, key)) {
      p.key = Uint8Array.from(key);
      p.pairwise = this.#pairwise(p.key);
    }
    return { accept: true };
  }

  #onPeer(link: Link, hello: Hello, remoteKey: Uint8Array): PeerVerdict {
    const expected = this.#dialing.get(link.id);
    if (expected !== undefined && hello.name !== expected) {
      return { accept: false, reason: 'refused', detail: `dialled ${expected} but the peer says it is ${hello.name}` };
    }
    if (hello.name === this.name) return { accept: false, reason: 'refused', detail: 'connected to itself' };
    const trusted = this.#trust(hello.name, remoteKey);
    if (!trusted.accept) {
      this.#stats.handshakes.refused++;
      this.#emit({ type: 'refused', node: hello.name, remote: `${link.stream.remote.host}:${link.stream.remote.port}`, reason: trusted.detail, at: this.#t.now() });
      return trusted;
    }
    if (link.role === 'responder') {
      const decisions = this.#policy.handle({
        type: 'inboundAttempt', connection: link.id, node: hello.name, incarnation: hello.incarnation,
        id: toHex(remoteKey), hidden: hello.hidden,
      }, this.#t.now());
      const refused = decisions.find((d) => d.type === 'refuse' && d.connection === link.id);
      this.#apply(decisions.filter((d) => d !== refused));
      if (refused && refused.type === 'refuse') {
        this.#stats.handshakes.refused++;
        return { accept: false, reason: 'refused', detail: `refused by policy: ${refused.reason}` };
      }
    }
    return { accept: true };
  }

  #onUp(link: Link): void {
    const hello = link.remoteHello!;
    const name = hello.name;
    const p = this.#peer(name);
    this.#stats.handshakes.ok++;
    this.#feed({
      type: 'connected', node: name, connection: link.id, direction: link.role === 'initiator' ? 'out' : 'in',
      incarnation: hello.incarnation, id: toHex(link.remoteKey!), hidden: hello.hidden,
    });
    if (link.state !== 'up') return; // closed by the policy (the other of a simultaneous pair won)
    const current = this.#policy.state(name);
    if (current && current.connection !== link.id) return;
    if (p.link && p.link !== link) p.link.close('replaced', 'replaced by a newer link', false);
    p.link = link;
    p.hidden = hello.hidden;
    // A peer that linked in without being configured: heartbeat it where its hello says.
    if (!p.config && hello.heartbeatPort !== null) this.#setHeartbeatAddress(p, { host: link.stream.remote.host, port: hello.heartbeatPort });
    p.incarnation = hello.incarnation;
    p.startedAt = hello.startedAt;
    const now = this.#t.now();
    if (!hello.hidden) this.#detector.linkUp(name, hello.incarnation, now);
    this.#updateView();
    this.#emit({ type: 'nodeup', node: name, incarnation: hello.incarnation, direction: link.role === 'initiator' ? 'outbound' : 'inbound', hidden: hello.hidden, at: now });
    for (const w of p.waiters.splice(0)) w.resolve();
    for (const q of p.queue.splice(0)) this.#sendOn(link, q.value).then(q.resolve, q.reject);
    this.#schedule();
  }

  #onDown(link: Link, reason: NodedownReason, detail: string): void {
    this.#links.delete(link.id);
    const draining = this.#drainWaiters.get(link);
    this.#drainWaiters.delete(link);
    for (const w of draining ?? []) w.reject(new KernelError('SEND_FAILED', `link went down (${reason}) before the message left the send buffer`));
    const dialled = this.#dialing.get(link.id);
    this.#dialing.delete(link.id);
    const name = link.remoteHello?.name ?? dialled;
    if (this.#state === 'stopped' && reason !== 'shutdown') reason = 'shutdown';
    const p = name ? this.#peers.get(name) : undefined;
    if (p && p.link === link) {
      p.link = null;
      const now = this.#t.now();
      if (this.#state !== 'stopped') {
        this.#feed({ type: 'disconnected', node: p.name, connection: link.id, reason });
        if (!p.hidden) this.#detector.linkDown(p.name, reason, now);
        this.#updateView();
      }
      this.#emit({ type: 'nodedown', node: p.name, reason, detail, at: now });
      for (const q of p.queue.splice(0)) q.reject(new KernelError('SEND_FAILED', `link to ${p.name} went down (${reason})`));
      this.#schedule();
      return;
    }
    if (this.#state === 'stopped') return;
    // A link that never came up.
    if (reason === 'setup_failed') this.#stats.handshakes.failed++;
    if (dialled !== undefined) {
      this.#feed({ type: 'dialFailed', node: dialled, reason });
      if (p) this.#failWaitersIfIdle(p, new KernelError('CONNECT_FAILED', `link to ${dialled} failed during setup (${reason}): ${detail}`));
    } else if (link.remoteHello) {
      this.#feed({ type: 'disconnected', node: link.remoteHello.name, connection: link.id, reason });
    } else {
      this.#feed({ type: 'inboundFailed', connection: link.id, reason });
    }
  }

  #failWaiters(p: Peer, err: Error): void {
    for (const w of p.waiters.splice(0)) w.reject(err);
    for (const q of p.queue.splice(0)) q.reject(err);
  }

  /** Fails waiters unless the policy still has a dial or link on its way for this peer. */
  #failWaitersIfIdle(p: Peer, err: Error): void {
    const phase = this.#policy.state(p.name)?.phase;
    if (phase === 'dialing' || phase === 'queued' || phase === 'accepting' || phase === 'linked') return;
    this.#failWaiters(p, err);
  }

  // ---- the view, heartbeats and probes -------------------------------------------------------

  #members(): Member[] {
    const out: Member[] = [];
    for (const p of this.#peers.values()) {
      if (p.link && !p.hidden && p.key && p.startedAt !== null) out.push({ id: p.key, startedAt: p.startedAt });
    }
    return out;
  }

  #updateView(): void {
    if (this.#o.hidden) return;
    const refereeKey = this.#o.referee === null ? null : this.#o.referee === this.name ? this.publicKey : this.#peers.get(this.#o.referee)?.key ?? null;
    this.#view = viewSummary({ self: { id: this.publicKey, startedAt: this.#startedAt }, peers: this.#members(), referee: refereeKey });
    this.#detector.setView(this.#view, this.#t.now());
  }

  #view: ReturnType<typeof viewSummary> | null = null;

  #onWakeup(): void {
    this.#wakeup = null;
    this.#wakeupAt = Infinity;
    if (this.#state !== 'running') return;
    const now = this.#t.now();
    const due = this.#policy.nextWakeup();
    if (due !== null && due <= now) this.#apply(this.#policy.handle({ type: 'tick' }, now));
    if (!this.#o.hidden) this.#handleDetector(this.#detector.tick(now));
    this.#schedule();
  }

  #schedule(): void {
    if (this.#state !== 'running') return;
    const now = this.#t.now();
    const p = this.#policy.nextWakeup();
    const d = this.#o.hidden ? Infinity : this.#detector.nextWakeup();
    const at = Math.max(now, Math.min(p ?? Infinity, d));
    if (at === Infinity || at >= this.#wakeupAt) return;
    this.#wakeup?.cancel();
    this.#wakeupAt = at;
    this.#wakeup = this.#t.setTimer(at - now, () => this.#onWakeup());
  }

  #handleDetector(out: TickOutput): void {
    for (const target of out.targets) this.#sendHeartbeat(target);
    for (const probe of out.probes) {
      const r = probe.request;
      this.#sendDatagram(probe.to, encodeProbe({
        kind: 'request', cluster: this.#o.cluster, from: this.publicKey, id: r.id, target: r.target,
        last: r.incarnation >= 0 && r.seq >= 0 ? { incarnation: r.incarnation, seq: r.seq } : null,
      }));
    }
    for (const e of out.events) this.#onDetectorEvent(e);
  }

  #onDetectorEvent(e: DetectorEvent): void {
    const at = e.at;
    if (e.type === 'verdict') {
      const to = (e.to === 'alive' ? 'up' : e.to) as Verdict;
      const from = (e.from === 'alive' ? 'up' : e.from) as Verdict;
      this.#emit({ type: 'verdict', node: e.peer, verdict: to, previous: from, at });
      if (e.to === 'restarted') this.#emit({ type: 'restarted', node: e.peer, incarnation: e.evidence.heartbeat?.incarnation ?? 0, at });
      if (e.to === 'degraded') this.#emit({ type: 'degraded', node: e.peer, at });
    } else if (e.type === 'partition') {
      const inc = this.#detector.status(e.peer, at)?.heartbeat?.incarnation ?? 0;
      this.#emit({ type: 'partition', node: e.peer, incarnation: inc, at });
    } else {
      // Under `always` the policy re-makes the link by itself once the network heals, which is the
      // very merge a restart decision exists to make safe: no decision is reported for such peers
      // (the `partition` event still is). Decisions are for `once` and `never`.
      if (this.#policy.modeOf(e.peer) === 'always') return;
      this.#stats.decisions++;
      this.#emit({ type: 'decision', node: e.peer, strategy: e.strategy, decision: e.decision, mine: e.mine, theirs: e.theirs, at });
    }
  }

  #sendDatagram(to: string, body: Uint8Array): boolean {
    const p = this.#peers.get(to);
    if (!p?.pairwise || !p.heartbeat || !this.#udp) return false;
    this.#udp.send(sealHeartbeat(p.pairwise, body), p.heartbeat);
    return true;
  }

  #sendHeartbeat(to: string): void {
    if (!this.#view) return;
    const body = encodeHeartbeat({
      cluster: this.#o.cluster,
      from: { id: this.publicKey, name: this.name },
      incarnation: this.incarnation,
      seq: this.#seq++,
      sentAt: this.#t.now(),
      view: this.#view,
    });
    if (this.#sendDatagram(to, body)) this.#stats.heartbeatsSent++;
  }

  #drop(reason: DropReason): void {
    this.#stats.drops[reason]++;
  }

  // Size check -> sender by source address -> verify tag -> decode -> cluster and id -> detector.
  // Nothing here may throw out of the receive loop: every failure is a counted drop.
  #onDatagram(bytes: Uint8Array, from: Address): void {
    if (this.#state !== 'running') return;
    try {
      if (bytes.length > MAX_DATAGRAM_BYTES) return this.#drop('too_large');
      const p = this.#byHeartbeatAddress.get(addressKey(from));
      if (!p?.pairwise || !p.key) return this.#drop('unknown_sender');
      const body = openHeartbeat(p.pairwise, bytes);
      if (!body) return this.#drop('unauthenticated');
      const now = this.#t.now();
      const type = peekType(body);
      if (type === MessageType.heartbeat) {
        let hb;
        try {
          hb = decodeHeartbeat(body);
        } catch {
          return this.#drop('malformed');
        }
        if (hb.cluster !== this.#o.cluster) return this.#drop('foreign_cluster');
        if (!equal(hb.from.id, p.key) || hb.from.name !== p.name) return this.#drop('unauthenticated');
        if (!this.#detector.heartbeat(p.name, { incarnation: hb.incarnation, seq: hb.seq, view: hb.view }, now)) return this.#drop('replayed');
        this.#stats.heartbeatsReceived++;
        this.#feed({ type: 'heard', node: p.name, incarnation: hb.incarnation });
      } else if (type === MessageType.probe) {
        let probe;
        try {
          probe = decodeProbe(body);
        } catch {
          return this.#drop('malformed');
        }
        if (probe.cluster !== this.#o.cluster) return this.#drop('foreign_cluster');
        if (!equal(probe.from, p.key)) return this.#drop('unauthenticated');
        if (probe.kind === 'request') {
          const last = probe.last ?? { incarnation: -1, seq: -1 };
          const answer = this.#detector.probeRequest(p.name, { type: 'probe', id: probe.id, target: probe.target, ...last }, now);
          this.#sendDatagram(p.name, encodeProbe({
            kind: 'answer', cluster: this.#o.cluster, from: this.publicKey, id: answer.id, target: answer.target, alive: answer.alive,
          }));
        } else {
          this.#detector.probeAnswer(p.name, { type: 'probe-answer', id: probe.id, target: probe.target, alive: probe.alive }, now);
        }
      } else {
        return this.#drop('malformed');
      }
      this.#schedule();
    } catch {
      // A detector input error means the datagram was not something we can use.
      this.#drop('malformed');
    }
  }

  // ---- kernel-to-kernel requests ------------------------------------------------------------------

  readonly #pendingQueries = new Map<number, { resolve: (nodes: string[]) => void; reject: (e: Error) => void; timer: TimerHandle }>();
  #queryIds = 0;

  #onSystem(link: Link, op: string, body: unknown): void {
    const b = body as { id?: unknown; nodes?: unknown } | null;
    if (op === 'nodes?' && typeof b?.id === 'number') {
      const nodes = [this.name, ...this.nodes()].sort();
      try {
        link.sendFrame({ kind: 'system', counter: 0, op: 'nodes', body: { id: b.id, nodes: this.#o.hidden ? [] : nodes } });
      } catch {
        // link closing: the asker times out
      }
    } else if (op === 'event' && this.#o.hidden) {
      // A forwarded partition or decision from the node we are linked to; checked field by field.
      const e = body as Record<string, unknown> | null;
      const via = link.remoteHello?.name;
      if (!e || typeof e['node'] !== 'string' || !via) return;
      const at = this.#t.now();
      if (e['type'] === 'partition' && typeof e['incarnation'] === 'number') {
        this.#events.publish({ type: 'partition', node: e['node'], incarnation: e['incarnation'], at, via });
      } else if (e['type'] === 'decision' && (e['decision'] === 'stay' || e['decision'] === 'restart') && typeof e['strategy'] === 'string') {
        this.#events.publish({ type: 'decision', node: e['node'], strategy: e['strategy'], decision: e['decision'], mine: e['mine'], theirs: e['theirs'], at, via });
      }
    } else if (op === 'nodes' && typeof b?.id === 'number' && Array.isArray(b.nodes)) {
      const q = this.#pendingQueries.get(b.id);
      if (!q) return;
      this.#pendingQueries.delete(b.id);
      q.timer.cancel();
      q.resolve(b.nodes.filter((n): n is string => typeof n === 'string'));
    }
    // Unknown ops are ignored: a newer peer may ask for more.
  }

  remoteNodes(name: string): Promise<string[]> {
    const link = this.#peers.get(name)?.link;
    if (!link || link.state !== 'up') return Promise.reject(new KernelError('NOT_CONNECTED', `not connected to ${name}`));
    const id = ++this.#queryIds;
    return new Promise<string[]>((resolve, reject) => {
      const timer = this.#t.setTimer(this.#o.setupTimeMs, () => {
        this.#pendingQueries.delete(id);
        reject(new KernelError('SEND_FAILED', `${name} did not answer within ${this.#o.setupTimeMs} ms`));
      });
      this.#pendingQueries.set(id, { resolve, reject, timer });
      link.sendFrame({ kind: 'system', counter: 0, op: 'nodes?', body: { id } });
    });
  }

  // ---- the API ---------------------------------------------------------------------------------

  #emit(e: KernelEvent): void {
    this.#events.publish(e);
    // Hidden nodes run no detector: tell the hidden peers linked to us (embedded clients) what ours
    // concludes, so they can report partitions and decisions too.
    if ((e.type === 'partition' || e.type === 'decision') && e.via === undefined) {
      for (const p of this.#peers.values()) {
        if (!p.hidden || p.link?.state !== 'up') continue;
        const { at: _at, ...rest } = e;
        try {
          p.link.sendFrame({ kind: 'system', counter: 0, op: 'event', body: rest });
        } catch {
          // closing link
        }
      }
    }
  }

  #requireRunning(): void {
    if (this.#state === 'stopped') throw new KernelError('STOPPED', `node ${this.name} is stopped`);
    if (this.#state !== 'running') throw new KernelError('NOT_STARTED', `node ${this.name} has not been started`);
  }

  connectNode(name: string): Promise<void> {
    try {
      this.#requireRunning();
    } catch (err) {
      return Promise.reject(err);
    }
    const p = this.#peer(name);
    if (p.link?.state === 'up') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      p.waiters.push({ resolve, reject });
      this.#feed({ type: 'connectRequested', node: name, kind: 'explicit' });
    });
  }

  async disconnectNode(name: string): Promise<void> {
    this.#requireRunning();
    const p = this.#peers.get(name);
    if (!p?.link) throw new KernelError('NOT_CONNECTED', `not connected to ${name}`);
    p.link.close('disconnect', 'disconnectNode called');
  }

  nodes(options?: { readonly hidden?: boolean }): string[] {
    const out: string[] = [];
    for (const p of this.#peers.values()) if (p.link?.state === 'up' && (!p.hidden || options?.hidden)) out.push(p.name);
    return out.sort();
  }

  info(): NodeInfo[] {
    const now = this.#t.now();
    return [...this.#peers.values()].map((p) => {
      const v = this.#detector.status(p.name, now)?.verdict ?? 'unknown';
      return {
        name: p.name,
        connected: p.link?.state === 'up',
        hidden: p.hidden,
        verdict: (v === 'alive' ? 'up' : v) as Verdict,
        incarnation: p.incarnation,
        fingerprint: p.key ? fingerprint(p.key) : null,
        direction: p.link ? (p.link.role === 'initiator' ? 'outbound' as const : 'inbound' as const) : null,
        address: p.config?.address ?? null,
      };
    }).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  #sendOn(link: Link, value: unknown): Promise<void> {
    try {
      link.sendFrame({ kind: 'message', counter: 0, value });
      this.#stats.messagesSent++;
      if (!link.congested) return Promise.resolve();
      // Back-pressure: the socket buffer is over its high-water mark; resolve when it drains.
      return new Promise<void>((resolve, reject) => {
        let waiters = this.#drainWaiters.get(link);
        if (!waiters) this.#drainWaiters.set(link, (waiters = []));
        waiters.push({ resolve, reject });
      });
    } catch (err) {
      return Promise.reject(err instanceof KernelError ? err : new KernelError('SEND_FAILED', (err as Error).message, { cause: err }));
    }
  }

  send(name: string, value: unknown): Promise<void> {
    try {
      this.#requireRunning();
    } catch (err) {
      return Promise.reject(err);
    }
    if (name === this.name) {
      this.#messages.publish({ from: this.name, value });
      return Promise.resolve();
    }
    const p = this.#peer(name);
    if (p.link?.state === 'up') return this.#sendOn(p.link, value);
    return new Promise<void>((resolve, reject) => {
      const item = { value, resolve, reject };
      p.queue.push(item);
      this.#feed({ type: 'connectRequested', node: name, kind: 'auto', message: item });
    });
  }

  messages(): AsyncIterable<IncomingMessage> {
    return this.#messages.subscribe();
  }

  events(): AsyncIterable<KernelEvent> {
    return this.#events.subscribe();
  }

  stats(): KernelStats {
    const s = this.#stats;
    return {
      links: this.nodes({ hidden: true }).length,
      heartbeatsSent: s.heartbeatsSent,
      heartbeatsReceived: s.heartbeatsReceived,
      drops: { ...s.drops },
      handshakes: { ...s.handshakes },
      messagesSent: s.messagesSent,
      messagesReceived: s.messagesReceived,
      decisions: s.decisions,
    };
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Creates an embedded distkit node. Throws KernelError BAD_OPTION naming a bad option. */
export function createNode(options: NodeOptions): DistkitNode {
  return new KernelNode(options);
}
