// The net kernel as one sans-I/O state machine (quinn-proto's shape): inputs are method calls with
// the current time (a stream opened, bytes on it, a datagram, the deadline passed, an API call);
// outputs are data the shell drains (bytes to write, datagrams, dials, events, settled calls), and
// `nextWakeup()` says when to call `timeout`. It composes the four cores: the policy decides when
// links are made (admission.ts), the detector judges liveness (heartbeat-channel.ts), links are
// link machines, and this file routes between them and answers the API.
import { HeartbeatKey, fingerprint, pairwiseKey, type Trust } from '@distkit/handshake';
import { createDetector, toHex, viewSummary, type Detector, type DetectorEvent, type Member, type TickOutput } from '@distkit/detector';
import { createPolicy, type PolicyUpdate } from '@distkit/policy';
import { DEFAULT_FRAME_LIMITS, checkTags, type Address, type DisconnectReason, type Frame, type Hello, type LinkPreamble, type NodeAddress, type SystemMessage } from '@distkit/wire';
import type {
  IncomingMessage, KernelEvent, KernelStats, NodeInfo, NodeUpdate, NodedownReason, NodesKind, PeerConfig,
} from '../api.ts';
import { KernelError } from '../errors.ts';
import { checkPeer, checkTrust, type ResolvedOptions } from '../options.ts';
import { Admission, handshakeCounters, type AdmissionHost, type HandshakeCounters } from './admission.ts';
import { Deadlines } from './deadlines.ts';
import { HeartbeatChannel, equal, type DropReason } from './heartbeat-channel.ts';
import { LinkMachine, type LinkConfig, type LinkHost, type PeerVerdict } from './link-machine.ts';
import { Mesh } from './mesh.ts';
import type { Output } from './outputs.ts';
import { PeerTable, linkAddress, type Peer } from './peer-table.ts';
import { SystemRequests, type DeadlineKey } from './system-requests.ts';

/** What the machine needs from its environment, all of it passed in. */
export interface MachineEnv {
  /** Uniform in [0, 1): backoff jitter, heartbeat jitter, probe choice. */
  random(): number;
  /** Random bytes (ephemeral keys). */
  randomBytes(n: number): Uint8Array;
  /** Wall-clock start time of this node (ms since the epoch), for the hello and the views. */
  readonly startedAt: number;
}

type State = 'new' | 'running' | 'stopped';

/** A node whose address we asked for is asked about again at most this often. */
const LOCATE_AGAIN_MS = 5000;
/** Names with a question out, at most (the oldest is forgotten past it). */
const MAX_ASKED = 4096;

export class NodeMachine implements LinkHost, AdmissionHost {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  readonly incarnation: number;
  readonly peers: PeerTable = new PeerTable();
  readonly handshakes: HandshakeCounters = handshakeCounters();
  readonly #o: ResolvedOptions;
  readonly #env: MachineEnv;
  readonly #admission: Admission;
  readonly #detector: Detector;
  readonly #heartbeats: HeartbeatChannel;
  readonly #system: SystemRequests;
  readonly #links = new Map<number, LinkMachine>();
  readonly #deadlines = new Deadlines<DeadlineKey>();
  readonly #linkConfig: LinkConfig;
  readonly #flushing = new Set<LinkMachine>();
  /** Links with more to write once pending I/O has run (a large message going out turn by turn). */
  readonly #resuming = new Set<LinkMachine>();
  /** Joins by address in flight: the peer names itself in the handshake. */
  readonly #joins = new Map<number, { token: number; address: Address; publicKey: Uint8Array | null }>();
  /** Links confirmed and waiting for the trust store to persist a learned key, by token. */
  readonly #learning = new Map<number, LinkMachine>();
  #out: Output[] = [];
  #state: State = 'new';
  #nextConn = 1;
  #nextToken = -1;
  #trust: Trust;
  #secrets: readonly Uint8Array[];
  #hello: Hello;
  #counters = {
    heartbeatsSent: 0, heartbeatsReceived: 0, messagesSent: 0, messagesReceived: 0, decisions: 0,
    drops: { unauthenticated: 0, malformed: 0, replayed: 0, foreign_cluster: 0, unknown_sender: 0, too_large: 0 } as Record<DropReason, number>,
  };

  constructor(options: ResolvedOptions, env: MachineEnv) {
    this.#o = options;
    this.#env = env;
    this.name = options.name;
    this.publicKey = options.identity.publicKey;
    this.fingerprint = fingerprint(this.publicKey);
    this.incarnation = options.incarnation;
    this.#trust = options.trust.store;
    this.#secrets = options.clusterSecrets;
    this.#hello = {
      name: this.name, incarnation: this.incarnation, hidden: options.hidden, versions: [1], startedAt: env.startedAt, heartbeatPort: null, listenPort: null,
      time: env.startedAt, tags: options.tags,
    };
    const frameLimits = { ...DEFAULT_FRAME_LIMITS, maxBytes: options.maxMessageBytes };
    this.#linkConfig = {
      identity: options.identity,
      cluster: options.cluster,
      hello: () => this.#freshHello(),
      clusterSecrets: () => this.#secrets,
      setupTimeMs: options.setupTimeMs,
      firstRecordMs: options.firstRecordMs,
      tickTimeMs: options.tickTimeMs,
      tickIntensity: options.tickIntensity,
      frameLimits,
      maxMessageBytes: options.maxMessageBytes,
      suites: options.suites,
      flowWindowBytes: options.flowWindowBytes,
      randomBytes: (n) => env.randomBytes(n),
    };
    const modes: Record<string, 'always' | 'once' | 'never'> = {};
    const reconnects: Record<string, 'on-demand' | 'eager'> = {};
    for (const p of options.peers) {
      if (p.autoConnect) modes[p.name] = p.autoConnect;
      if (p.reconnect) reconnects[p.name] = p.reconnect;
    }
    let policy;
    try {
      policy = createPolicy(
        {
          self: { name: this.name, id: toHex(this.publicKey), hidden: options.hidden },
          mode: options.autoConnect,
          modes,
          reconnect: options.reconnect,
          reconnects,
          peers: options.connectAtStart ? options.peers.map((p) => p.name) : [],
          // OTP's connect_all is on by default.
          mesh: true,
          ...options.policy,
        },
        { random: () => env.random() },
      );
    } catch (err) {
      throw policyError(err);
    }
    this.#admission = new Admission(this, policy, {
      handshakesPerSecondPerAddress: options.handshakesPerSecondPerAddress,
      halfOpenPerAddress: options.halfOpenPerAddress,
      halfOpen: options.policy.limits?.maxPendingInbound ?? 64,
    });
    this.#detector = createDetector(
      {
        ...(options.detector ?? {}),
        interval: options.heartbeatIntervalMs,
        strategy: options.strategy,
        ...(options.quorum !== null ? { quorum: options.quorum } : {}),
      },
      { random: () => env.random() },
    );
    this.#heartbeats = new HeartbeatChannel({
      cluster: options.cluster,
      name: this.name,
      id: this.publicKey,
      incarnation: this.incarnation,
      peers: this.peers,
      detector: this.#detector,
      counters: this.#counters,
      send: (data, to) => this.#out.push({ type: 'datagram', data, to }),
      heard: (peer, incarnation, now) => {
        // The policy does nothing with an incarnation it already heard: one event a restart, not one a datagram.
        if (incarnation <= peer.heardIncarnation) return;
        peer.heardIncarnation = incarnation;
        this.#admission.apply(this.#admission.policy.handle({ type: 'heard', node: peer.name, incarnation }, now), now);
      },
    });
    this.#system = new SystemRequests(
      {
        hidden: options.hidden,
        name: this.name,
        visibleNodes: () => this.nodes('visible'),
        publish: (e) => this.#publish(e),
        settle: (token, error, value) => this.#settle(token, error, value),
        links: (from, nodes, apart, now) => {
          if (!this.peers.get(from)?.hidden) this.#mesh?.peerLinks(from, nodes, apart, now);
        },
        tags: (from, tags) => {
          const p = this.peers.get(from);
          if (p) p.tags = tags;
        },
        where: (from, nodes) => this.#answerWhere(from, nodes),
        here: (from, addresses, now) => this.#located(from, addresses, now),
      },
      this.#deadlines,
      options.setupTimeMs,
    );
    const mesh = options.policy.mesh ?? true;
    this.#mesh = options.hidden ? null : new Mesh(
      {
        name: this.name,
        visiblePeers: () => this.#visibleLinked(),
        reach: (name) => {
          const p = this.peers.get(name);
          if (p?.link?.state === 'up' || p?.hidden) return 'skip';
          return linkAddress(p) ? 'dial' : 'locate';
        },
        locate: (nodes, via) => this.#locate(nodes, via, this.#now),
        sendLinks: (to, nodes, apart) => {
          const link = this.peers.get(to)?.link;
          if (link?.state === 'up') link.send({ kind: 'system', counter: 0, message: { op: 'links', nodes, apart } });
        },
        learned: (node, via) => {
          const decisions = this.#admission.policy.handle({ type: 'learned', node, via }, this.#now);
          this.#admission.apply(decisions, this.#now);
          // A hidden node is not refused, only not ours to mesh with.
          return decisions.some((d) => d.type === 'ignore' && d.reason !== 'hidden');
        },
        drop: (node, detail) => this.peers.get(node)?.link?.close('disconnect', detail, true),
        deadline: (key, at) => this.#deadlines.set(key, at),
      },
      {
        connectAll: mesh,
        preventOverlap: options.preventOverlappingPartitions,
        graceMs: Math.min(options.setupTimeMs, 2000),
        debounceMs: 50,
        // Shorter than the grace: a lost link the mesh can make again is retried before it counts.
        retryMs: 500,
      },
    );
    for (const p of options.peers) this.#addPeer(p);
  }

  readonly #mesh: Mesh | null;
  #lastHelloTime = 0;

  /** Names we asked a peer the address of, and when (an answer for a name not asked is ignored). */
  readonly #asked = new Map<string, number>();

  #system1(to: string, message: SystemMessage): void {
    const link = this.peers.get(to)?.link;
    if (link?.state === 'up') link.send({ kind: 'system', counter: 0, message });
  }

  #locate(nodes: readonly string[], via: string, now: number): void {
    const ask = nodes.filter((n) => {
      const at = this.#asked.get(n);
      return at === undefined || now - at >= LOCATE_AGAIN_MS;
    });
    if (ask.length === 0) return;
    for (const n of ask) {
      this.#asked.delete(n);
      this.#asked.set(n, now);
    }
    while (this.#asked.size > MAX_ASKED) this.#asked.delete(this.#asked.keys().next().value!);
    this.#system1(via, { op: 'where?', nodes: ask });
  }

  /** A peer asks where nodes take links: what we know of the visible ones (hidden ones are nobody's business). */
  #answerWhere(from: string, nodes: readonly string[]): void {
    const addresses: NodeAddress[] = [];
    for (const n of nodes) {
      const p = this.peers.get(n);
      const a = linkAddress(p);
      if (a && !p!.hidden) addresses.push({ name: n, host: a.host, port: a.port });
    }
    this.#system1(from, { op: 'here', addresses });
  }

  /** Addresses for names we asked about: kept where nothing is configured, and offered to the mesh. */
  #located(from: string, addresses: readonly NodeAddress[], now: number): void {
    let any = false;
    for (const a of addresses) {
      if (a.name === this.name || a.name === from || !this.#asked.has(a.name)) continue;
      this.#asked.delete(a.name);
      const p = this.peers.ensure(a.name);
      if (p.config?.address || p.hidden || p.link) continue;
      p.learned = { host: a.host, port: a.port };
      if (!p.config) this.#keepStranger(a.name, now);
      any = true;
    }
    if (any) this.#mesh?.located(now);
  }

  /** The hello, with a `time` that grows strictly within this incarnation (IK replays are refused by it). */
  #freshHello(): Hello {
    const time = Math.max(this.#env.startedAt + this.#now, this.#lastHelloTime + 1);
    this.#lastHelloTime = time;
    return { ...this.#hello, time };
  }

  /**
   * Peers nobody configured whose link is gone, oldest first: kept (and heartbeated, so a
   * partition with them is still seen) for `strangerRetentionMs`, and at most `maxStrangers` of
   * them, so strangers that link once and leave cost bounded memory and bounded datagrams.
   */
  readonly #strangers = new Map<string, number>();

  #keepStranger(name: string, now: number): void {
    this.#strangers.delete(name);
    this.#strangers.set(name, now);
    this.#deadlines.set(`s:${name}`, now + this.#o.strangerRetentionMs);
    while (this.#strangers.size > this.#o.maxStrangers) this.#forget(this.#strangers.keys().next().value!);
  }

  /** Forgets a peer nobody configured and nothing links to: our table, the detector, the policy. */
  #forget(name: string): void {
    this.#strangers.delete(name);
    this.#deadlines.delete(`s:${name}`);
    const p = this.peers.get(name);
    if (p && (p.config || p.link || p.connectWaiters.length > 0 || p.queue.length > 0)) return;
    if (p) this.peers.delete(name);
    this.#detector.removePeer(name);
    this.#admission.policy.handle({ type: 'forget', node: name }, this.#now);
  }

  /** Visible peers with a link up (hidden ones never count in the mesh). */
  #visibleLinked(): string[] {
    const out: string[] = [];
    for (const p of this.peers.values()) if (p.link?.state === 'up' && !p.hidden) out.push(p.name);
    return out.sort();
  }

  // ---- the shell's side ------------------------------------------------------------------------

  /** Everything to carry out since the last call, in order. */
  drain(): Output[] {
    const out = this.#out;
    if (out.length === 0) return out;
    this.#out = [];
    return out;
  }

  /** True when some link has frames to seal: call `flush` before the turn ends. */
  get wantsFlush(): boolean {
    return this.#flushing.size > 0;
  }

  /** True when some link has more to write: call `resume` once pending I/O has run. */
  get wantsResume(): boolean {
    return this.#resuming.size > 0;
  }

  /** When `timeout` must be called next (transport clock), or Infinity. */
  nextWakeup(): number {
    if (this.#state !== 'running') return Number.POSITIVE_INFINITY;
    const p = this.#admission.policy.nextWakeup() ?? Number.POSITIVE_INFINITY;
    const d = this.#o.hidden ? Number.POSITIVE_INFINITY : this.#detector.nextWakeup();
    return Math.min(this.#deadlines.next(), p, d);
  }

  get running(): boolean {
    return this.#state === 'running';
  }

  /** A token for an API call the machine will settle later (negative: never clashes with conns). */
  token(): number {
    return this.#nextToken--;
  }

  // ---- inputs: lifecycle -----------------------------------------------------------------------

  /** The shell listens and has bound the heartbeat socket (`heartbeatPort` null for a hidden node). */
  start(now: number, heartbeatPort: number | null, listenPort: number): void {
    this.#now = now;
    if (this.#state !== 'new') throw new KernelError('ALREADY_STARTED', `node ${this.name} was already started`);
    this.#state = 'running';
    // A hidden node takes no heartbeats; others tell their heartbeat port in the hello. Every node
    // tells where it takes links (so a node that joined by address can be dialled back).
    this.#hello = { ...this.#hello, listenPort };
    if (!this.#o.hidden && heartbeatPort !== null) this.#hello = { ...this.#hello, heartbeatPort };
    this.#updateView(now);
    this.#admission.apply(this.#admission.policy.handle({ type: 'start' }, now), now);
  }

  /** Graceful: every link closed with `shutdown` told to the peer; every waiting call fails. */
  stop(now: number): void {
    this.#now = now;
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    for (const link of [...this.#links.values()]) link.close('shutdown', 'node stopping', true);
    const stopped = new KernelError('STOPPED', `node ${this.name} stopped`);
    for (const p of this.peers.values()) this.failWaiters(p, stopped);
    this.#system.failAll(stopped);
    this.#learning.clear();
  }

  // ---- inputs: streams -------------------------------------------------------------------------

  /** A stream arrived. Returns its connection number, or null when it must be destroyed at once. */
  inbound(now: number, remote: Address): number | null {
    this.#now = now;
    if (this.#state !== 'running') return null;
    const conn = this.#nextConn++;
    if (!this.#admission.stream(conn, remote.host, now)) return null;
    this.#addLink(new LinkMachine(this.#linkConfig, this, { conn, role: 'responder', now, remote }));
    return conn;
  }

  /** The dial `conn` connected. */
  dialed(now: number, conn: number, remote: Address): void {
    this.#now = now;
    const join = this.#joins.get(conn);
    if (join && this.#state === 'running') {
      this.#addLink(new LinkMachine(this.#linkConfig, this, { conn, role: 'initiator', now, remote, remoteKey: join.publicKey }));
      return;
    }
    const name = this.#admission.dialing.get(conn);
    if (name === undefined || this.#state !== 'running') {
      this.#out.push({ type: 'end', conn, graceful: false });
      return;
    }
    // Pin the key when we have one (configured or trusted): Noise IK, one round trip.
    const key = this.peers.get(name)?.key ?? null;
    this.#addLink(new LinkMachine(this.#linkConfig, this, { conn, role: 'initiator', now, remote, remoteKey: key }));
  }

  /** The dial `conn` failed before a stream existed. */
  dialFailed(now: number, conn: number, message: string): void {
    this.#now = now;
    const join = this.#joins.get(conn);
    if (join) {
      this.#joins.delete(conn);
      this.#settle(join.token, new KernelError('CONNECT_FAILED', `cannot join ${join.address.host}:${join.address.port}: ${message}`));
      return;
    }
    const name = this.#admission.dialing.get(conn);
    if (name === undefined) return;
    this.#admission.dialing.delete(conn);
    if (this.#state !== 'running') return;
    this.handshakes.failed++;
    this.#admission.apply(this.#admission.policy.handle({ type: 'dialFailed', node: name, reason: 'connect_failed' }, now), now);
    const p = this.peers.get(name);
    if (p) this.#admission.failWaitersIfIdle(p, new KernelError('CONNECT_FAILED', message));
  }

  data(now: number, conn: number, bytes: Uint8Array): void {
    this.#now = now;
    this.#links.get(conn)?.receive(bytes, now);
  }

  streamClosed(now: number, conn: number, error?: Error): void {
    this.#now = now;
    this.#links.get(conn)?.streamClosed(error);
  }

  /** A write to `conn` returned false: the send buffer is over its high-water mark. */
  writeBlocked(conn: number): void {
    const l = this.#links.get(conn);
    if (l) l.congested = true;
  }

  /** The stream's send buffer drained after `writeBlocked`. */
  drained(now: number, conn: number): void {
    this.#now = now;
    this.#links.get(conn)?.drained();
  }

  datagram(now: number, bytes: Uint8Array, from: Address): void {
    this.#now = now;
    if (this.#state !== 'running' || this.#o.hidden) return;
    this.#heartbeats.receive(bytes, from, now);
  }

  /** An `await` output's promise settled. */
  resumed(now: number, token: number, error?: unknown): void {
    this.#now = now;
    const link = this.#learning.get(token);
    if (!link) return;
    this.#learning.delete(token);
    if (link.state !== 'confirmed') return;
    if (error !== undefined) {
      link.close('refused', `cannot keep the key learned on first use: ${(error as Error)?.message ?? String(error)}`, false);
      return;
    }
    link.trustSettled(now);
  }

  /** Seals the frames every link queued in this turn. */
  flush(now: number): void {
    this.#now = now;
    const links = [...this.#flushing];
    this.#flushing.clear();
    for (const l of links) l.flush(now);
  }

  /** Writes the next turn's worth of what links still hold (after pending I/O ran). */
  resume(now: number): void {
    this.#now = now;
    const links = [...this.#resuming];
    this.#resuming.clear();
    for (const l of links) l.flush(now);
  }

  /** Time passed: link deadlines, query deadlines, the policy's redials, the detector's rounds. */
  timeout(now: number): void {
    this.#now = now;
    if (this.#state !== 'running') return;
    for (const key of this.#deadlines.due(now)) {
      if (typeof key === 'number') this.#links.get(key)?.timeout(now);
      else if (key === 'links' || key === 'overlap' || key === 'mesh') this.#mesh?.timeout(key, now);
      else if (key.startsWith('s:')) this.#forget(key.slice(2));
      else this.#system.timeout(key);
    }
    const policy = this.#admission.policy;
    const due = policy.nextWakeup();
    if (due !== null && due <= now) this.#admission.apply(policy.handle({ type: 'tick' }, now), now);
    if (!this.#o.hidden && this.#detector.nextWakeup() <= now) this.#onDetector(this.#detector.tick(now));
  }

  // ---- LinkHost ----------------------------------------------------------------------------------

  write(link: LinkMachine, data: readonly Uint8Array[]): void {
    this.#out.push({ type: 'write', conn: link.conn, data });
  }

  end(link: LinkMachine, graceful: boolean): void {
    this.#out.push({ type: 'end', conn: link.conn, graceful });
  }

  flushLater(link: LinkMachine): void {
    this.#flushing.add(link);
  }

  resumeLater(link: LinkMachine): void {
    this.#resuming.add(link);
  }

  sendSettled(_link: LinkMachine, ticket: number, error: KernelError | null): void {
    this.#settle(ticket, error);
  }

  deadlineMoved(link: LinkMachine): void {
    this.#deadlines.set(link.conn, link.deadline);
  }

  onPeer(link: LinkMachine, hello: Hello, remoteKey: Uint8Array): PeerVerdict {
    const verdict = this.#admission.peer(link, hello, remoteKey, this.#now);
    const join = this.#joins.get(link.conn);
    const kept = join && verdict.accept ? this.peers.get(hello.name)?.link : undefined;
    if (join && kept && kept !== link && kept.state === 'up' && kept.remoteKey && equal(kept.remoteKey, remoteKey)) {
      // A join that reached a node we are already linked to (through the mesh, say): it proved
      // who it is, so the join is done; a second link would only lose the duplicate rule.
      this.#joins.delete(link.conn);
      this.#joined(join, hello.name, this.#now);
      return { accept: false, reason: 'replaced', detail: `already linked to ${hello.name}: joined` };
    }
    return verdict;
  }

  onPreamble(link: LinkMachine, preamble: LinkPreamble): PeerVerdict {
    return this.#admission.preamble(link, preamble, this.#now);
  }

  /**
   * The session is confirmed. A key to learn on first use is learned now (the peer proved it holds
   * the cluster secret, if any), and the link says `ready` only once the store has persisted it:
   * durable before either side reports the link up.
   */
  onConfirmed(link: LinkMachine): void {
    if (!link.learning) return;
    const now = this.#now;
    const hello = link.remoteHello!;
    const { verdict, pending } = this.#admission.learn(hello.name, link.remoteKey!);
    if (!verdict.accept) {
      link.close(verdict.reason, verdict.detail, false);
      return;
    }
    const learned = pending ?? this.#onLearned(hello.name, link.remoteKey!);
    if (learned) {
      const token = this.token();
      this.#learning.set(token, link);
      this.#out.push({ type: 'await', token, promise: learned });
      return;
    }
    link.trustSettled(now);
  }

  onReady(link: LinkMachine): void {
    this.#admit(link, this.#now);
  }

  /** The `onLearned` callback for a key just learned (TOFU), or null when nothing was learned. */
  #onLearned(name: string, key: Uint8Array): Promise<unknown> | null {
    const cb = this.#o.trust.onLearned;
    if (!cb || this.peers.get(name)?.key && equal(this.peers.get(name)!.key!, key)) return null;
    try {
      const r = cb(name, Uint8Array.from(key));
      return r instanceof Promise ? r : null;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  onFrame(link: LinkMachine, frame: Frame, channel: string | undefined): void {
    const from = link.remoteHello!.name;
    if (frame.kind === 'message') {
      this.#counters.messagesReceived++;
      this.#out.push({ type: 'message', message: channel === undefined ? { from, value: frame.value } : { from, value: frame.value, channel } });
    } else if (frame.kind === 'system') {
      this.#system.handle(link, from, frame.message, this.#now);
    }
  }

  onClosed(link: LinkMachine, reason: NodedownReason, detail: string, deliberate: DisconnectReason | null): void {
    const now = this.#now;
    this.#links.delete(link.conn);
    this.#deadlines.delete(link.conn);
    this.#flushing.delete(link);
    this.#resuming.delete(link);
    const join = this.#joins.get(link.conn);
    if (join) {
      this.#joins.delete(link.conn);
      if (link.upAt < 0) this.#settle(join.token, new KernelError('CONNECT_FAILED', `cannot join ${join.address.host}:${join.address.port}: ${reason}: ${detail}`));
    }
    const dialled = this.#admission.dialing.get(link.conn);
    this.#admission.dialing.delete(link.conn);
    const acceptedByPolicy = this.#admission.accepted.has(link.conn);
    this.#admission.settled(link.conn);
    const name = link.remoteHello?.name ?? dialled;
    if (this.#state === 'stopped') reason = 'shutdown';
    const p = name !== undefined ? this.peers.get(name) : undefined;
    if (p && p.link === link) {
      p.link = null;
      this.#system.linkGone(p.name);
      if (this.#state !== 'stopped') {
        // A close on purpose (ours or the peer's `disconnect`, a peer leaving) is not redialled by
        // itself; a peer shutting down (a restart, an upgrade) is, under `reconnect: 'eager'`.
        const onPurpose = deliberate === 'disconnect' || deliberate === 'leave';
        this.#admission.apply(this.#admission.policy.handle({ type: 'disconnected', node: p.name, connection: link.conn, reason, deliberate: onPurpose }, now), now);
        if (!p.hidden && !this.#o.hidden) this.#detector.linkDown(p.name, reason, now, deliberate !== null);
        this.#updateView(now);
        if (!p.hidden) this.#mesh?.forget(p.name, deliberate === null, now);
      }
      this.#publish(deliberate === null
        ? { type: 'nodedown', node: p.name, reason, detail, at: now }
        : { type: 'nodedown', node: p.name, reason, detail, deliberate, at: now });
      for (const q of p.queue.splice(0)) this.#settle(q.token, new KernelError('SEND_FAILED', `link to ${p.name} went down (${reason})`));
      if (!p.config && this.#state !== 'stopped') this.#keepStranger(p.name, now);
      return;
    }
    if (this.#state === 'stopped') return;
    // A link that never came up.
    if (reason === 'setup_failed') this.handshakes.failed++;
    else if (reason === 'setup_timeout') this.handshakes.timeout++;
    else if (reason === 'bad_secret') {
      this.handshakes.bad_secret++;
      this.handshakes.refused++;
    } else if (link.refusedSuite !== null) {
      // Refused on its first record (a suite this node does not accept), before anyone was named.
      this.handshakes.refused++;
      this.#publish({ type: 'refused', node: null, remote: `${link.remote.host}:${link.remote.port}`, reason: detail, at: now });
    }
    const policy = this.#admission.policy;
    if (dialled !== undefined) {
      this.#admission.apply(policy.handle({ type: 'dialFailed', node: dialled, reason }, now), now);
      // The waiters are the dialled name's (the peer may have named itself otherwise: wrong_name).
      const waiting = this.peers.get(dialled);
      if (waiting) this.#admission.failWaitersIfIdle(waiting, new KernelError('CONNECT_FAILED', `link to ${dialled} failed during setup (${reason}): ${detail}`));
    } else if (!acceptedByPolicy) {
      // Refused or failed before the policy took it (trust, a replay, a timeout): its half-open
      // slot in the policy is freed.
      this.#admission.apply(policy.handle({ type: 'inboundFailed', connection: link.conn, reason }, now), now);
      if (link.remoteHello && !this.peers.get(link.remoteHello.name) && link.remoteHello.name !== this.name) {
        policy.handle({ type: 'forget', node: link.remoteHello.name }, now);
      }
    } else if (link.remoteHello) {
      const name = link.remoteHello.name;
      this.#admission.apply(policy.handle({ type: 'disconnected', node: name, connection: link.conn, reason }, now), now);
      const known = this.peers.get(name);
      if (known) this.#admission.failWaitersIfIdle(known, new KernelError('CONNECT_FAILED', `the link ${name} opened to us failed during setup (${reason}): ${detail}`));
      // A name that never became a peer of ours leaves nothing behind, in the policy either.
      else if (name !== this.name) policy.handle({ type: 'forget', node: name }, now);
    } else {
      this.#admission.apply(policy.handle({ type: 'inboundFailed', connection: link.conn, reason }, now), now);
    }
  }

  // ---- AdmissionHost -----------------------------------------------------------------------------

  trust(): Trust {
    return this.#trust;
  }

  link(conn: number): LinkMachine | undefined {
    return this.#links.get(conn);
  }

  closeLink(link: LinkMachine, reason: NodedownReason, detail: string, notify: boolean): void {
    link.close(reason, detail, notify);
  }

  dial(name: string, now: number): void {
    const p = this.peers.get(name);
    const address = linkAddress(p);
    const policy = this.#admission.policy;
    if (!address || this.#state !== 'running') {
      this.#admission.apply(policy.handle({ type: 'dialFailed', node: name, reason: address ? 'stopped' : 'no_address' }, now), now);
      if (p) this.failWaiters(p, new KernelError('UNKNOWN_NODE', `no address known for ${name}`));
      return;
    }
    const conn = this.#nextConn++;
    this.#admission.dialing.set(conn, name);
    policy.handle({ type: 'dialStarted', node: name, connection: conn }, now);
    this.#out.push({ type: 'dial', conn, address, timeoutMs: this.#o.setupTimeMs });
  }

  failWaiters(p: Peer, error: KernelError): void {
    for (const t of p.connectWaiters.splice(0)) this.#settle(t, error);
    for (const q of p.queue.splice(0)) this.#settle(q.token, error);
  }

  dropQueued(name: string, token: unknown, error: KernelError): void {
    const p = this.peers.get(name);
    if (!p || typeof token !== 'number') return;
    const i = p.queue.findIndex((q) => q.token === token);
    if (i < 0) return;
    p.queue.splice(i, 1);
    this.#settle(token, error);
  }

  publish(event: KernelEvent): void {
    this.#publish(event);
  }

  // ---- internals --------------------------------------------------------------------------------

  /** The time of the input being handled (every input sets it; link callbacks read it). */
  #now = 0;

  #addLink(link: LinkMachine): void {
    if (link.state === 'closed') return; // failed in its constructor (onClosed already ran)
    this.#links.set(link.conn, link);
    this.#deadlines.set(link.conn, link.deadline);
  }

  #settle(token: number, error: KernelError | null, value?: unknown): void {
    this.#out.push(value === undefined ? { type: 'settle', token, error } : { type: 'settle', token, error, value });
  }

  #publish(e: KernelEvent): void {
    this.#out.push({ type: 'event', event: e });
    // Hidden nodes run no detector: tell the hidden peers linked to us (embedded clients) what ours
    // concludes, so they can report partitions and decisions too.
    if ((e.type === 'partition' || e.type === 'decision') && e.via === undefined) {
      const event = e.type === 'partition'
        ? { type: 'partition' as const, node: e.node, incarnation: e.incarnation }
        : { type: 'decision' as const, node: e.node, strategy: e.strategy, decision: e.decision, mine: e.mine, theirs: e.theirs };
      for (const p of this.peers.values()) {
        if (!p.hidden || p.link?.state !== 'up') continue;
        try {
          p.link.send({ kind: 'system', counter: 0, message: { op: 'event', event } });
        } catch {
          // closing link
        }
      }
    }
  }

  /** Admits a confirmed link (checkpoint 3) and reports it up. */
  #admit(link: LinkMachine, now: number): void {
    const hello = link.remoteHello!;
    const name = hello.name;
    this.handshakes.ok++;
    this.#admission.settled(link.conn);
    // Taken out first: a join whose link the policy closes (below) is settled here, not in onClosed.
    const join = this.#joins.get(link.conn);
    this.#joins.delete(link.conn);
    if (!this.#admission.connected(link, now)) {
      // Closed by the policy. When it kept another link to the same node (already linked through
      // the mesh, or a simultaneous dial won), the node proved who it is: the join is done.
      const kept = this.peers.get(name)?.link;
      if (join && kept && kept !== link && kept.state !== 'closed') this.#joined(join, name, now);
      else if (join) this.#settle(join.token, new KernelError('CONNECT_FAILED', `cannot join ${join.address.host}:${join.address.port}: ${name} was refused by the policy`));
      return;
    }
    const p = this.peers.ensure(name);
    if (this.#strangers.delete(name)) this.#deadlines.delete(`s:${name}`);
    if (p.link && p.link !== link) p.link.close('replaced', 'replaced by a newer link', false);
    p.link = link;
    p.hidden = hello.hidden;
    if (!p.key || !equal(p.key, link.remoteKey!)) this.peers.setKey(p, link.remoteKey!, this.#pairwise(link.remoteKey!));
    // A peer that linked in without being configured: heartbeat it where its hello says.
    if (!p.config && hello.heartbeatPort !== null) this.peers.setHeartbeat(p, { host: link.remote.host, port: hello.heartbeatPort });
    // ... and dial it where it says it listens (the mesh asks us for it too).
    if (!p.config?.address && hello.listenPort !== null) p.learned = { host: link.remote.host, port: hello.listenPort };
    p.incarnation = hello.incarnation;
    p.startedAt = hello.startedAt;
    p.tags = hello.tags;
    if (join) this.#joined(join, name, now);
    if (!hello.hidden && !this.#o.hidden) this.#detector.linkUp(name, hello.incarnation, now);
    this.#publish({ type: 'nodeup', node: name, incarnation: hello.incarnation, direction: link.role === 'initiator' ? 'outbound' : 'inbound', hidden: hello.hidden, at: now });
    link.goUp(now);
    if (link.state !== 'up') return;
    // The view and the mesh count links that are up, which this one is only now (computed before,
    // the view left out the newest peer until the next change: a pair each saw itself alone).
    this.#updateView(now);
    if (!hello.hidden) this.#mesh?.ownLinksChanged(now);
    // Tags changed while the link was being set up (after our hello went): the peer hears them now.
    if (link.helloSent && link.helloSent.tags !== this.#hello.tags) {
      link.send({ kind: 'system', counter: 0, message: { op: 'tags', tags: this.#hello.tags } });
    }
    for (const t of p.connectWaiters.splice(0)) this.#settle(t, null);
    for (const q of p.queue.splice(0)) {
      if (this.#sendOn(link, q.value, q.token, q.channel)) this.#settle(q.token, null);
    }
  }

  /** A join by address reached `name`, which named itself in a handshake: from now on it is a configured peer. */
  #joined(join: { token: number; address: Address; publicKey: Uint8Array | null }, name: string, now: number): void {
    const p = this.peers.get(name);
    if (!p?.config) {
      // Heartbeats keep going where its hello said (its UDP port need not be its TCP one).
      const heartbeat = p?.heartbeat ?? null;
      this.#addPeer({ name, address: join.address, ...(heartbeat ? { heartbeat } : {}), ...(join.publicKey ? { publicKey: join.publicKey } : {}) });
      this.#configurePolicy(this.#policyPeers(), now);
    }
    this.#settle(join.token, null, name);
  }

  /** The pair's heartbeat keys: one per cluster secret, newest first (one without a secret). */
  #pairwise(key: Uint8Array): HeartbeatKey[] {
    try {
      const secrets: (Uint8Array | undefined)[] = this.#secrets.length > 0 ? [...this.#secrets] : [undefined];
      // Made ready once: every datagram to and from this peer is sealed or opened with them.
      return secrets.map((s) => new HeartbeatKey(pairwiseKey(this.#o.identity.privateKey, key, s)));
    } catch {
      return [];
    }
  }

  #members(): Member[] {
    const out: Member[] = [];
    for (const p of this.peers.values()) {
      if (p.link?.state === 'up' && !p.hidden && p.key && p.startedAt !== null) out.push({ id: p.key, startedAt: p.startedAt });
    }
    return out;
  }

  #updateView(now: number): void {
    if (this.#o.hidden) return;
    const referee = this.#o.referee;
    const refereeKey = referee === null ? null : referee === this.name ? this.publicKey : this.peers.get(referee)?.key ?? null;
    const view = viewSummary({ self: { id: this.publicKey, startedAt: this.#env.startedAt }, peers: this.#members(), referee: refereeKey });
    this.#heartbeats.setView(view);
    this.#detector.setView(view, now);
  }

  #onDetector(out: TickOutput): void {
    const now = this.#now;
    this.#heartbeats.round(out.targets, now);
    this.#heartbeats.probes(out.probes);
    for (const e of out.events) this.#onDetectorEvent(e);
  }

  #onDetectorEvent(e: DetectorEvent): void {
    const at = e.at;
    if (e.type === 'verdict') {
      this.#publish({ type: 'verdict', node: e.peer, verdict: e.to, previous: e.from, at });
      if (e.to === 'restarted') this.#publish({ type: 'restarted', node: e.peer, incarnation: e.evidence.heartbeat?.incarnation ?? 0, at });
      if (e.to === 'degraded') this.#publish({ type: 'degraded', node: e.peer, at });
    } else if (e.type === 'partition') {
      const inc = this.#detector.status(e.peer, at)?.heartbeat?.incarnation ?? 0;
      this.#publish({ type: 'partition', node: e.peer, incarnation: inc, at });
    } else {
      // Under `always` the policy re-makes the link by itself once the network heals, which is the
      // very merge a restart decision exists to make safe: no decision is reported for such peers
      // (the `partition` event still is). Decisions are for `once` and `never`.
      if (this.#admission.policy.modeOf(e.peer) === 'always') return;
      this.#counters.decisions++;
      this.#publish({ type: 'decision', node: e.peer, strategy: e.strategy, decision: e.decision, mine: e.mine, theirs: e.theirs, at });
    }
  }

  #requireRunning(): void {
    if (this.#state === 'stopped') throw new KernelError('STOPPED', `node ${this.name} is stopped`);
    if (this.#state !== 'running') throw new KernelError('NOT_STARTED', `node ${this.name} has not been started`);
  }

  /**
   * Queues `value` on an up link (on `channel`, a named user channel); false when `token` is
   * settled later: the channel is over its high-water mark or the stream congested (back-pressure),
   * or the frame could not be queued.
   */
  #sendOn(link: LinkMachine, value: unknown, token: number, channel?: string): boolean {
    let now: boolean;
    try {
      now = link.send({ kind: 'message', counter: 0, value }, { channel, ticket: token });
    } catch (err) {
      this.#settle(token, err instanceof KernelError ? err : new KernelError('SEND_FAILED', (err as Error).message, { cause: err }));
      return false;
    }
    this.#counters.messagesSent++;
    return now;
  }

  #addPeer(config: PeerConfig): Peer {
    const p = this.peers.ensure(config.name);
    this.peers.setHeartbeat(p, config.heartbeat ?? config.address);
    p.config = config;
    const key = config.publicKey ?? this.#trust.keyFor(config.name);
    if (key && (!p.key || !equal(p.key, key)) && !p.link) this.peers.setKey(p, key, this.#pairwise(key));
    if (!p.hidden && !this.#o.hidden) this.#detector.addPeer(config.name);
    return p;
  }

  /** The policy's view of the configured peers: who is dialled at start, and per-peer modes. */
  #policyPeers(): PolicyUpdate {
    const modes: Record<string, 'always' | 'once' | 'never'> = {};
    const reconnects: Record<string, 'on-demand' | 'eager'> = {};
    const peers: string[] = [];
    for (const p of this.peers.values()) {
      if (!p.config) continue;
      if (this.#o.connectAtStart) peers.push(p.name);
      if (p.config.autoConnect) modes[p.name] = p.config.autoConnect;
      if (p.config.reconnect) reconnects[p.name] = p.config.reconnect;
    }
    return { peers, modes, reconnects };
  }

  #configurePolicy(update: PolicyUpdate, now: number): void {
    let decisions;
    try {
      decisions = this.#admission.policy.handle({ type: 'configure', config: update }, now);
    } catch (err) {
      throw policyError(err);
    }
    this.#admission.apply(decisions, now);
  }

  // ---- the API (synchronous; what completes later is settled through `token`) ---------------------

  /** Explicit connect; true when already linked, else the token settles when the link is up or cannot be. */
  connect(now: number, name: string, token: number): boolean {
    this.#now = now;
    this.#requireRunning();
    const p = this.peers.get(name);
    if (p?.link?.state === 'up') return true;
    if (!p || !linkAddress(p)) throw new KernelError('UNKNOWN_NODE', `no address known for ${name} (add it as a peer first)`);
    p.connectWaiters.push(token);
    this.#admission.apply(this.#admission.policy.handle({ type: 'connectRequested', node: name, kind: 'explicit' }, now), now);
    return false;
  }

  /**
   * Links to the node at `address`, which names itself in the handshake (checked by trust like any
   * other link) and becomes a configured peer then; `token` settles with its name. (A join that
   * names the node is `addPeer` + `connect`, in the shell.)
   */
  join(now: number, address: Address, publicKey: Uint8Array | null, token: number): boolean {
    this.#now = now;
    this.#requireRunning();
    checkPeer({ name: 'joining', address, ...(publicKey ? { publicKey } : {}) }, 'join', '');
    const conn = this.#nextConn++;
    this.#joins.set(conn, { token, address, publicKey });
    this.#out.push({ type: 'dial', conn, address, timeoutMs: this.#o.setupTimeMs });
    return false;
  }

  /**
   * Leaves the cluster on purpose: every link is closed with `leave` told to the peer (no partition
   * and no decision follow, anywhere); then the node stops.
   */
  leave(now: number): void {
    this.#now = now;
    if (this.#state !== 'running') return;
    for (const link of [...this.#links.values()]) link.close('shutdown', 'leaving the cluster', true, 'leave');
    this.stop(now);
  }

  /** Replaces this node's tags: in the hello of every new link, and told to the linked peers now. */
  setTags(now: number, tags: Readonly<Record<string, string>>): void {
    this.#now = now;
    let checked: Record<string, string>;
    try {
      checked = { ...checkTags(tags) };
    } catch (err) {
      throw new KernelError('BAD_OPTION', `option tags: ${(err as Error).message}`);
    }
    this.#hello = { ...this.#hello, tags: checked };
    for (const p of this.peers.values()) {
      if (p.link?.state !== 'up') continue;
      try {
        p.link.send({ kind: 'system', counter: 0, message: { op: 'tags', tags: checked } });
      } catch {
        // a closing link: the next hello carries them
      }
    }
  }

  disconnect(now: number, name: string): void {
    this.#now = now;
    this.#requireRunning();
    const link = this.peers.get(name)?.link;
    if (!link) throw new KernelError('NOT_CONNECTED', `not connected to ${name}`);
    link.close('disconnect', 'disconnectNode called', true);
  }

  /**
   * Sends `value` (on the user channel `channel`, default: the default one); true when it is on its
   * way now, false when `token` settles later. Throws for a call that cannot start.
   */
  send(now: number, name: string, value: unknown, token: number, channel?: string): boolean {
    this.#now = now;
    this.#requireRunning();
    if (name === this.name) {
      this.#out.push({ type: 'message', message: channel === undefined ? { from: this.name, value } : { from: this.name, value, channel } });
      return true;
    }
    const p = this.peers.get(name);
    if (p?.link?.state === 'up') return this.#sendOn(p.link, value, token, channel);
    // Nothing is recorded for a name we cannot reach: a typo leaves no trace.
    if (!p || !linkAddress(p)) {
      const policy = this.#admission.policy;
      const why = policy.modeOf(name) === 'never' ? 'never' : policy.isBarred(name) ? 'barred' : null;
      if (why) throw new KernelError('AUTO_CONNECT_REFUSED', `not connected to ${name}, and auto-connect may not connect it (${why})`);
      throw new KernelError('UNKNOWN_NODE', `not connected to ${name}, and no address is known for it`);
    }
    p.queue.push(channel === undefined ? { value, token } : { value, token, channel });
    this.#admission.apply(this.#admission.policy.handle({ type: 'connectRequested', node: name, kind: 'auto', message: token }, now), now);
    return false;
  }

  remoteNodes(now: number, name: string, token: number): void {
    this.#now = now;
    this.#requireRunning();
    const link = this.peers.get(name)?.link;
    if (!link || link.state !== 'up') throw new KernelError('NOT_CONNECTED', `not connected to ${name}`);
    this.#system.askNodes(link, name, token, now);
  }

  addPeer(now: number, config: PeerConfig): void {
    this.#now = now;
    checkPeer(config, 'peer', this.name);
    this.#addPeer(config);
    this.#configurePolicy(this.#policyPeers(), now);
  }

  removePeer(now: number, name: string): void {
    this.#now = now;
    const p = this.peers.get(name);
    if (!p) return;
    p.learned = null;
    if (p.config) {
      this.peers.setHeartbeat(p, null);
      p.config = null;
      this.#configurePolicy(this.#policyPeers(), now);
      if (p.link) this.#detector.removePeer(name);
    }
    // Not linked: gone now (a node that linked in unconfigured and left is not kept for retention).
    if (!p.link) this.#forget(name);
  }

  configure(now: number, update: NodeUpdate): void {
    this.#now = now;
    if (typeof update !== 'object' || update === null) throw new KernelError('BAD_OPTION', 'configure takes { autoConnect?, reconnect?, policy? }');
    for (const k of Object.keys(update)) if (k !== 'autoConnect' && k !== 'reconnect' && k !== 'policy') throw new KernelError('BAD_OPTION', `configure: unknown key ${k}`);
    this.#configurePolicy({
      ...(update.policy ?? {}),
      ...(update.autoConnect !== undefined ? { mode: update.autoConnect } : {}),
      ...(update.reconnect !== undefined ? { reconnect: update.reconnect } : {}),
    }, now);
  }

  setTrust(now: number, store: Trust): void {
    this.#now = now;
    this.#trust = checkTrust(store, 'trust');
    for (const p of this.peers.values()) {
      const link = p.link;
      if (link?.state === 'up') {
        // A link whose key the new store does not trust is closed; a TOFU store learns the key.
        const { verdict } = this.#admission.learn(p.name, link.remoteKey!);
        if (!verdict.accept) {
          this.#publish({ type: 'refused', node: p.name, remote: `${link.remote.host}:${link.remote.port}`, reason: verdict.detail, at: now });
          link.close('refused', `no longer trusted: ${verdict.detail}`, true, 'disconnect');
        }
      } else if (!p.config?.publicKey) {
        const key = store.keyFor(p.name);
        this.peers.setKey(p, key, key ? this.#pairwise(key) : []);
      }
    }
  }

  setClusterSecrets(now: number, secrets: readonly Uint8Array[]): void {
    this.#now = now;
    this.#secrets = [...secrets];
    for (const p of this.peers.values()) if (p.key) this.peers.setKey(p, p.key, this.#pairwise(p.key));
  }

  nodes(kind: NodesKind | { readonly hidden?: boolean } = 'visible'): string[] {
    const which: NodesKind = typeof kind === 'string' ? kind : kind.hidden ? 'connected' : 'visible';
    const out: string[] = [];
    for (const p of this.peers.values()) {
      if (p.link?.state !== 'up') continue;
      // On a hidden node every link is hidden (as OTP reports it).
      const hidden = p.hidden || this.#o.hidden;
      if (which === 'connected' || (which === 'hidden') === hidden) out.push(p.name);
    }
    return out.sort();
  }

  info(now: number): NodeInfo[] {
    return [...this.peers.values()].map((p) => {
      const s = this.#o.hidden ? null : this.#detector.status(p.name, now);
      const link = p.link?.state === 'up' ? p.link : null;
      return {
        name: p.name,
        connected: link !== null,
        hidden: p.hidden,
        verdict: s?.verdict ?? 'unknown',
        incarnation: p.incarnation,
        fingerprint: p.key ? fingerprint(p.key) : null,
        direction: link ? (link.role === 'initiator' ? 'outbound' as const : 'inbound' as const) : null,
        address: linkAddress(p),
        pattern: link?.pattern ?? null,
        suite: link ? link.suite : null,
        linkedSince: link ? link.upAt : null,
        tags: p.tags,
        lastHeard: s?.lastHeard ?? null,
        phi: s?.phi ?? null,
        loss: s?.loss ?? null,
      };
    }).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  stats(): KernelStats {
    const c = this.#counters;
    return {
      links: this.nodes('connected').length,
      heartbeatsSent: c.heartbeatsSent,
      heartbeatsReceived: c.heartbeatsReceived,
      drops: { ...c.drops },
      handshakes: { ...this.handshakes },
      messagesSent: c.messagesSent,
      messagesReceived: c.messagesReceived,
      decisions: c.decisions,
    };
  }
}

function policyError(err: unknown): KernelError {
  const e = err as { code?: string; key?: string | null; message?: string };
  return new KernelError('BAD_OPTION', `option policy${e.key ? `.${e.key}` : ''}: ${e.message ?? String(err)}`, { cause: err });
}
