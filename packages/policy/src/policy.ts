import { backoffDelay } from './backoff.ts';
import { normalizeNodeId, resolveConfig, type Mode, type PolicyConfig, type Reconnect, type ResolvedConfig } from './config.ts';
import type { AutoRefusal, ConflictReason, Decision, DenyReason, DialReason } from './decisions.ts';
import { PolicyError } from './errors.ts';
import type { ConnectionId, Direction, PolicyEvent } from './events.ts';
import { nameMatcher } from './name-pattern.ts';
import { Schedule } from './schedule.ts';
import { outranks } from './tiebreak.ts';

/**
 * Where a peer stands. `queued`: a dial waits for a free slot (`maxDialsInFlight`); `backoff`: a
 * redial is planned; `accepting`: an inbound connection was accepted and is not up yet.
 */
export type PeerPhase = 'idle' | 'queued' | 'dialing' | 'backoff' | 'accepting' | 'linked';

/** A snapshot of what the engine knows about one peer. */
export interface PeerState {
  readonly node: string;
  readonly mode: Mode;
  readonly phase: PeerPhase;
  readonly barred: boolean;
  readonly hidden: boolean;
  /** The accepted or linked connection (or the dial's handle, if `dialStarted` gave one). */
  readonly connection: ConnectionId | null;
  readonly direction: Direction | null;
  /** The peer's incarnation on the current link. */
  readonly incarnation: number | null;
  /** The highest incarnation seen from the peer (hello or heartbeat). */
  readonly heardIncarnation: number | null;
  /** Consecutive failures without a stable link; drives the backoff. */
  readonly failures: number;
  readonly retryAt: number | null;
  readonly linkedAt: number | null;
}

export interface LinkInfo {
  readonly node: string;
  readonly connection: ConnectionId;
  readonly direction: Direction;
  readonly incarnation: number | null;
  readonly since: number;
}

export interface PolicyStats {
  readonly peers: number;
  readonly links: number;
  readonly accepting: number;
  readonly dialsInFlight: number;
  readonly queued: number;
  readonly pendingInbound: number;
  readonly barred: number;
}

export interface PolicyOptions {
  /** Uniform in [0, 1): the backoff jitter. Seeded in simulations, Math.random in production. */
  readonly random: () => number;
}

/** The connection-policy engine. Sans-I/O: time comes in with each event, decisions go out. */
export interface Policy {
  /**
   * Feeds one event at time `now` (monotonic ms, never decreasing); returns what to do, in order.
   * The result is read-only (an event that decides nothing returns a shared empty array).
   */
  handle(event: PolicyEvent, now: number): readonly Decision[];
  /** When `tick` must be called next (absolute ms), or null when nothing is planned. */
  nextWakeup(): number | null;
  /** True when `node` is barred from auto-connect (mode `once`, after its link failed). */
  isBarred(node: string): boolean;
  /** The mode that applies to `node`: its override, or the default. */
  modeOf(node: string): Mode;
  /** How lost links to `node` are made again (under `always`): its override, or the default. */
  reconnectOf(node: string): Reconnect;
  /** What the engine knows about `node`, or null if it never heard of it. */
  state(node: string): PeerState | null;
  /** Every link that is up. */
  links(): LinkInfo[];
  stats(): PolicyStats;
  /** The configuration in force, defaults filled in. */
  readonly config: ResolvedConfig;
}

/** Creates an engine. Throws a PolicyError (with the offending key) for a bad configuration. */
export function createPolicy(config: PolicyConfig, options: PolicyOptions): Policy {
  if (typeof options?.random !== 'function') {
    throw new PolicyError('INVALID_CONFIG', 'random', 'options.random must be a function returning [0, 1)');
  }
  return new Engine(resolveConfig(config), options.random);
}

/** Returned when an event decides nothing (frozen: the result is shared). */
const NO_DECISIONS: readonly Decision[] = Object.freeze([]);

class Peer {
  phase: PeerPhase = 'idle';
  barred = false;
  hidden = false;
  id: string | null = null;
  connection: ConnectionId | null = null;
  direction: Direction | null = null;
  incarnation = -1;
  heard = -1;
  linkedAt = -1;
  failures = 0;
  retryAt = -1;
  /** This node asked for the link (a dial, queued or planned) and does not have it yet. */
  wanted = false;
  dialReason: DialReason = 'auto';
  /** Cached from the configuration (refreshed by `configure`): the mode and list verdict. */
  mode: Mode;
  deny: DenyReason | null;
  constructor(readonly name: string, mode: Mode, deny: DenyReason | null) {
    this.mode = mode;
    this.deny = deny;
  }
}

function checkNode(node: unknown, field: string): string {
  if (typeof node !== 'string' || node.length === 0) {
    throw new PolicyError('INVALID_EVENT', field, `event.${field} must be a non-empty node name`);
  }
  return node;
}

function checkIncarnation(v: unknown, field: string): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
    throw new PolicyError('INVALID_EVENT', field, `event.${field} must be a number >= 0`);
  }
  return v;
}

function checkConnection(v: unknown): ConnectionId {
  if (typeof v !== 'string' && typeof v !== 'number') {
    throw new PolicyError('INVALID_EVENT', 'connection', 'event.connection must be a string or a number');
  }
  return v;
}

class Engine implements Policy {
  private cfg: ResolvedConfig;
  private readonly random: () => number;
  private readonly peers = new Map<string, Peer>();
  private readonly schedule = new Schedule<Peer>();
  private readonly pendingInbound = new Set<ConnectionId>();
  private readonly scratch: Decision[] = [];
  private queue: Peer[] = [];
  private queueHead = 0;
  private lastNow = -Infinity;
  private started = false;
  /** Peers in `linked` or `accepting`. */
  private linkCount = 0;
  /** Peers in `dialing`. */
  private dialCount = 0;

  private denied: (name: string) => boolean;
  private allowed: ((name: string) => boolean) | null;

  constructor(cfg: ResolvedConfig, random: () => number) {
    this.cfg = cfg;
    this.random = random;
    this.denied = nameMatcher(cfg.deny);
    this.allowed = cfg.allow === null ? null : nameMatcher(cfg.allow);
  }

  get config(): ResolvedConfig {
    return this.cfg;
  }

  handle(event: PolicyEvent, now: number): readonly Decision[] {
    if (typeof now !== 'number' || !Number.isFinite(now) || now < this.lastNow) {
      throw new PolicyError('INVALID_TIME', 'now', `now must be a finite number >= the previous now (${this.lastNow}), got ${String(now)}`);
    }
    this.lastNow = now;
    // Most events decide nothing: collect into one scratch array and copy out only when needed.
    const out = this.scratch;
    if (out.length !== 0) out.length = 0; // only after an event threw half-way
    switch (event?.type) {
      case 'connectRequested': {
        const p = this.peerOf(checkNode(event.node, 'node'));
        if (event.kind === 'auto') {
          const refusal = this.autoConnect(p, 'auto', now, out);
          if (refusal !== null) out.push({ type: 'drop', node: p.name, message: event.message, reason: refusal });
        } else if (event.kind === 'explicit') this.explicitConnect(p, now, out);
        else throw new PolicyError('INVALID_EVENT', 'kind', 'event.kind must be "explicit" or "auto"');
        break;
      }
      case 'heard':
        this.heard(this.peerOf(checkNode(event.node, 'node')), checkIncarnation(event.incarnation, 'incarnation'), now, out);
        break;
      case 'tick':
        this.tick(now, out);
        break;
      case 'connected':
        this.connected(event, now, out);
        break;
      case 'disconnected':
        this.disconnected(checkNode(event.node, 'node'), checkConnection(event.connection), event.deliberate === true, now, out);
        break;
      case 'dialFailed': {
        const p = this.peers.get(checkNode(event.node, 'node'));
        if (p !== undefined && p.phase === 'dialing') this.dialFailed(p, now, out);
        break;
      }
      case 'dialStarted': {
        const p = this.peers.get(checkNode(event.node, 'node'));
        if (p !== undefined && p.phase === 'dialing' && event.connection !== undefined) p.connection = checkConnection(event.connection);
        break;
      }
      case 'inboundAttempt':
        this.inboundAttempt(event, now, out);
        break;
      case 'inboundFailed':
        this.pendingInbound.delete(checkConnection(event.connection));
        break;
      case 'learned':
        this.learned(checkNode(event.node, 'node'), checkNode(event.via, 'via'), event.hidden === true, now, out);
        break;
      case 'configure':
        this.configure(event.config, now, out);
        break;
      case 'forget': {
        const p = this.peers.get(checkNode(event.node, 'node'));
        if (p !== undefined && (p.phase === 'idle' || p.phase === 'backoff')) {
          if (p.phase === 'backoff') this.setPhase(p, 'idle'); // its scheduled redial is dropped lazily
          this.peers.delete(p.name);
        }
        break;
      }
      case 'start':
        if (!this.started) {
          this.started = true;
          for (const node of this.cfg.peers) this.startupConnect(this.peerOf(node), now, out);
        }
        break;
      default:
        throw new PolicyError('INVALID_EVENT', 'type', `unknown event type ${JSON.stringify((event as { type?: unknown })?.type)}`);
    }
    if (out.length === 0) return NO_DECISIONS;
    const decisions = out.slice();
    out.length = 0;
    return decisions;
  }

  // ---- queries ----

  nextWakeup(): number | null {
    const s = this.schedule;
    while (s.size > 0) {
      const p = s.peekItem()!;
      if (p.phase === 'backoff' && p.retryAt === s.peekTime()) return p.retryAt;
      s.pop();
    }
    return null;
  }

  isBarred(node: string): boolean {
    return this.peers.get(node)?.barred ?? false;
  }

  modeOf(node: string): Mode {
    return this.cfg.modes.get(node) ?? this.cfg.mode;
  }

  reconnectOf(node: string): Reconnect {
    return this.cfg.reconnects.get(node) ?? this.cfg.reconnect;
  }

  /** Under `always` with eager reconnects, lost links and failed dials are redialled by themselves. */
  private redials(p: Peer): boolean {
    return p.mode === 'always' && this.reconnectOf(p.name) === 'eager';
  }

  state(node: string): PeerState | null {
    const p = this.peers.get(node);
    if (p === undefined) return null;
    return {
      node: p.name,
      mode: this.modeOf(p.name),
      phase: p.phase,
      barred: p.barred,
      hidden: p.hidden || this.cfg.hidden.has(p.name),
      connection: p.connection,
      direction: p.direction,
      incarnation: p.incarnation >= 0 ? p.incarnation : null,
      heardIncarnation: p.heard >= 0 ? p.heard : null,
      failures: p.failures,
      retryAt: p.phase === 'backoff' ? p.retryAt : null,
      linkedAt: p.phase === 'linked' ? p.linkedAt : null,
    };
  }

  links(): LinkInfo[] {
    const out: LinkInfo[] = [];
    for (const p of this.peers.values()) {
      if (p.phase === 'linked') {
        out.push({
          node: p.name,
          connection: p.connection!,
          direction: p.direction!,
          incarnation: p.incarnation >= 0 ? p.incarnation : null,
          since: p.linkedAt,
        });
      }
    }
    return out;
  }

  stats(): PolicyStats {
    let links = 0;
    let queued = 0;
    let barred = 0;
    for (const p of this.peers.values()) {
      if (p.phase === 'linked') links++;
      else if (p.phase === 'queued') queued++;
      if (p.barred) barred++;
    }
    return {
      peers: this.peers.size,
      links,
      accepting: this.linkCount - links,
      dialsInFlight: this.dialCount,
      queued,
      pendingInbound: this.pendingInbound.size,
      barred,
    };
  }

  // ---- bookkeeping ----

  private peerOf(node: string): Peer {
    let p = this.peers.get(node);
    if (p === undefined) {
      if (node === this.cfg.self.name) throw new PolicyError('INVALID_EVENT', 'node', `event.node "${node}" is this node itself`);
      p = new Peer(node, this.modeOf(node), this.permit(node));
      this.peers.set(node, p);
    }
    return p;
  }

  /** Moves `p` to `phase`, keeping the link and dial counters right. */
  private setPhase(p: Peer, phase: PeerPhase): void {
    const was = p.phase;
    if (was === phase) return;
    if (was === 'dialing') this.dialCount--;
    else if (was === 'linked' || was === 'accepting') this.linkCount--;
    if (phase === 'dialing') this.dialCount++;
    else if (phase === 'linked' || phase === 'accepting') this.linkCount++;
    p.phase = phase;
  }

  private permit(node: string): DenyReason | null {
    if (this.denied(node)) return 'denied';
    if (this.allowed !== null && !this.allowed(node)) return 'notAllowed';
    return null;
  }

  private linkRoomLeft(): boolean {
    return this.linkCount + this.dialCount < this.cfg.limits.maxLinks;
  }

  /** May `p` be connected automatically right now (mode, bar, lists)? */
  private autoRefusal(p: Peer): AutoRefusal | null {
    if (p.mode === 'never') return 'never';
    if (p.mode === 'once' && p.barred) return 'barred';
    return p.deny;
  }

  /** Who dialled the connection that survives a simultaneous connect (see simultaneousWinner). */
  private winnerIsSelf(p: Peer): boolean {
    const self = this.cfg.self;
    return outranks(self.name, self.id, p.name, p.id);
  }

  /** Starts a dial now, or queues it when every dial slot is busy. */
  private startDial(p: Peer, reason: DialReason, at: number, out: Decision[]): 'dial' | 'queued' | 'maxLinks' {
    if (!this.linkRoomLeft()) return 'maxLinks';
    p.wanted = true;
    p.dialReason = reason;
    p.retryAt = -1;
    p.connection = null;
    p.direction = null;
    if (this.dialCount >= this.cfg.limits.maxDialsInFlight) {
      this.setPhase(p, 'queued');
      this.queue.push(p);
      return 'queued';
    }
    this.setPhase(p, 'dialing');
    out.push({ type: 'dial', node: p.name, at, attempt: p.failures + 1, reason });
    return 'dial';
  }

  /** Starts queued dials while slots are free. */
  private pump(now: number, out: Decision[]): void {
    const limit = this.cfg.limits.maxDialsInFlight;
    while (this.dialCount < limit && this.queueHead < this.queue.length) {
      const p = this.queue[this.queueHead++]!;
      if (p.phase !== 'queued') continue;
      const refusal = p.dialReason === 'explicit' ? p.deny : this.autoRefusal(p);
      if (refusal !== null) {
        // Things changed while it queued (a bar, a mode, the lists): say so, since a kernel may be
        // holding messages on the `wait` it got.
        p.wanted = false;
        this.setPhase(p, 'idle');
        out.push({ type: 'refuse', node: p.name, connection: null, reason: refusal });
        continue;
      }
      if (!this.linkRoomLeft()) {
        p.wanted = false;
        this.setPhase(p, 'idle');
        out.push({ type: 'refuse', node: p.name, connection: null, reason: 'maxLinks' });
        continue;
      }
      this.setPhase(p, 'dialing');
      out.push({ type: 'dial', node: p.name, at: now, attempt: p.failures + 1, reason: p.dialReason });
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Plans the next redial under `always`, or gives up after `maxAttempts` failures. */
  private scheduleRedial(p: Peer, now: number, reason: 'dialFailed' | 'linkFailed' | 'inboundFailed', out: Decision[]): void {
    const max = this.cfg.backoff.maxAttempts;
    if (max !== null && p.failures >= max) {
      out.push({ type: 'giveUp', node: p.name, attempts: p.failures, reason: 'maxAttempts' });
      p.failures = 0;
      p.wanted = false;
      this.setPhase(p, 'idle');
      return;
    }
    const at = now + backoffDelay(p.failures, this.cfg.backoff, this.random);
    p.wanted = true;
    this.setPhase(p, 'backoff');
    p.retryAt = at;
    this.schedule.push(at, p);
    out.push({ type: 'retry', node: p.name, at, attempt: p.failures + 1, reason });
  }

  private linkUp(p: Peer, connection: ConnectionId, direction: Direction, incarnation: number, now: number, out: Decision[]): void {
    if (p.barred) {
      // A link that is up replaces the bar, as in net_kernel (the connection entry overwrites it).
      p.barred = false;
      out.push({ type: 'unbarred', node: p.name, reason: direction === 'in' ? 'inbound' : 'explicit' });
    }
    this.setPhase(p, 'linked');
    p.wanted = false;
    p.connection = connection;
    p.direction = direction;
    p.incarnation = incarnation;
    p.linkedAt = now;
    p.retryAt = -1;
  }

  // ---- connecting ----

  /**
   * An automatic connect (a send, a monitor, the mesh, startup). Returns null when handled, or
   * why it may not happen (the caller reports it as a drop, an ignore or a refusal).
   */
  private autoConnect(p: Peer, origin: 'auto' | 'mesh' | 'startup', now: number, out: Decision[]): AutoRefusal | null {
    const refusal = this.autoRefusal(p);
    if (refusal !== null) return refusal;
    const report = origin === 'auto';
    switch (p.phase) {
      case 'linked':
        if (report) out.push({ type: 'ready', node: p.name, connection: p.connection!, reason: 'linked' });
        return null;
      case 'dialing':
      case 'accepting':
      case 'queued':
        if (report) out.push({ type: 'wait', node: p.name, reason: p.phase });
        return null;
      case 'backoff':
        // Erlang's `always` dials on the next need after a link failure. Once dials have failed
        // since the last stable link, the need waits for the planned redial instead of hammering.
        if (p.failures > 0) {
          if (report) out.push({ type: 'wait', node: p.name, reason: 'backoff' });
          return null;
        }
        break;
      case 'idle':
        break;
    }
    const r = this.startDial(p, origin, now, out);
    if (r === 'maxLinks') return 'maxLinks';
    if (r === 'queued' && report) out.push({ type: 'wait', node: p.name, reason: 'queued' });
    return null;
  }

  private startupConnect(p: Peer, now: number, out: Decision[]): void {
    const refusal = this.autoConnect(p, 'startup', now, out);
    // `never` peers are simply not dialled at startup; anything else is worth a report.
    if (refusal !== null && refusal !== 'never') out.push({ type: 'refuse', node: p.name, connection: null, reason: refusal });
  }

  private explicitConnect(p: Peer, now: number, out: Decision[]): void {
    const deny = p.deny;
    if (deny !== null) {
      out.push({ type: 'refuse', node: p.name, connection: null, reason: deny });
      return;
    }
    switch (p.phase) {
      case 'linked':
        out.push({ type: 'ready', node: p.name, connection: p.connection!, reason: 'linked' });
        return;
      case 'dialing':
      case 'accepting':
      case 'queued':
        out.push({ type: 'wait', node: p.name, reason: p.phase });
        return;
      case 'backoff':
      case 'idle':
        break;
    }
    if (!this.linkRoomLeft()) {
      out.push({ type: 'refuse', node: p.name, connection: null, reason: 'maxLinks' });
      return;
    }
    if (p.barred) {
      // net_kernel: "Barred connection only affects auto_connect, ok to connect explicitly", and
      // the new pending connection replaces the barred entry, so the bar is gone from here on.
      p.barred = false;
      out.push({ type: 'unbarred', node: p.name, reason: 'explicit' });
    }
    if (this.startDial(p, 'explicit', now, out) === 'queued') out.push({ type: 'wait', node: p.name, reason: 'queued' });
  }

  private dialFailed(p: Peer, now: number, out: Decision[]): void {
    p.failures++;
    p.connection = null;
    this.setPhase(p, 'idle');
    // A link that never came up is not barred under `once` (net_kernel: "Don't bar connections
    // that have never been alive"); only `always` with eager reconnects redials by itself.
    if (this.redials(p)) this.scheduleRedial(p, now, 'dialFailed', out);
    else p.wanted = false;
    this.pump(now, out);
  }

  private disconnected(node: string, connection: ConnectionId, deliberate: boolean, now: number, out: Decision[]): void {
    const p = this.peers.get(node);
    if (p === undefined || p.connection !== connection || (p.phase !== 'linked' && p.phase !== 'accepting')) return;
    const wasUp = p.phase === 'linked';
    p.connection = null;
    p.direction = null;
    p.incarnation = -1;
    this.setPhase(p, 'idle');
    if (!wasUp) {
      // An accepted inbound that never came up is not a link failure (no bar). But if it had taken
      // the place of our own dial or planned redial, `always` must not lose that intent.
      if (p.wanted && this.redials(p) && p.deny === null) {
        p.failures++;
        this.scheduleRedial(p, now, 'inboundFailed', out);
      } else p.wanted = false;
      return;
    }
    const mode = p.mode;
    // Backoff is `always`'s business: the count of failures since the last stable link.
    p.failures = mode !== 'always' || now - p.linkedAt >= this.cfg.backoff.stableAfter ? 0 : p.failures + 1;
    p.linkedAt = -1;
    if (mode === 'once') {
      p.barred = true;
      out.push({ type: 'barred', node, reason: 'linkFailed' });
    } else if (this.redials(p) && p.deny === null && !deliberate) {
      this.scheduleRedial(p, now, 'linkFailed', out);
    }
  }

  private connected(
    event: Extract<PolicyEvent, { type: 'connected' }>,
    now: number,
    out: Decision[],
  ): void {
    const p = this.peerOf(checkNode(event.node, 'node'));
    const connection = checkConnection(event.connection);
    const incarnation = checkIncarnation(event.incarnation, 'incarnation');
    this.learnIdentity(p, event.id, event.hidden, incarnation);
    if (event.direction === 'out') {
      if (p.phase === 'dialing') {
        this.linkUp(p, connection, 'out', incarnation, now, out);
        this.pump(now, out);
      } else if (p.phase === 'linked' || p.phase === 'accepting') {
        this.conflict(p, connection, 'out', incarnation, true, now, out);
      } else {
        // An outbound link the engine did not ask for (or had cancelled): admit it like a dial.
        const deny = p.deny;
        if (deny !== null) out.push({ type: 'close', node: p.name, connection, reason: deny });
        else if (!this.linkRoomLeft()) out.push({ type: 'close', node: p.name, connection, reason: 'maxLinks' });
        else this.linkUp(p, connection, 'out', incarnation, now, out);
      }
    } else if (event.direction === 'in') {
      if (p.phase === 'accepting' && p.connection === connection) this.linkUp(p, connection, 'in', incarnation, now, out);
      else if (p.phase === 'linked' && p.connection === connection) return;
      else if (this.admitInbound(p, connection, incarnation, true, now, out) && p.phase === 'accepting') {
        this.linkUp(p, connection, 'in', incarnation, now, out);
      }
    } else {
      throw new PolicyError('INVALID_EVENT', 'direction', 'event.direction must be "in" or "out"');
    }
  }

  private learnIdentity(p: Peer, id: unknown, hidden: boolean | undefined, incarnation: number): void {
    if (id !== undefined) p.id = normalizeNodeId(id, 'id');
    if (hidden === true) p.hidden = true;
    if (incarnation > p.heard) p.heard = incarnation;
  }

  private inboundAttempt(event: Extract<PolicyEvent, { type: 'inboundAttempt' }>, now: number, out: Decision[]): void {
    const connection = checkConnection(event.connection);
    if (event.node === undefined) {
      if (this.pendingInbound.has(connection)) return;
      if (this.pendingInbound.size >= this.cfg.limits.maxPendingInbound) {
        out.push({ type: 'refuse', node: null, connection, reason: 'maxPendingInbound' });
      } else {
        this.pendingInbound.add(connection);
        out.push({ type: 'accept', node: null, connection, reason: 'pending' });
      }
      return;
    }
    this.pendingInbound.delete(connection);
    const node = checkNode(event.node, 'node');
    if (node === this.cfg.self.name) {
      out.push({ type: 'refuse', node, connection, reason: 'self' });
      return;
    }
    const p = this.peerOf(node);
    const incarnation = event.incarnation === undefined ? -1 : checkIncarnation(event.incarnation, 'incarnation');
    this.learnIdentity(p, event.id, event.hidden, incarnation);
    this.admitInbound(p, connection, incarnation, false, now, out);
  }

  /**
   * An inbound connection from a named peer: accepted under every mode (the table's last column)
   * unless the lists or limits forbid it or a simultaneous connect decides against it.
   * `asClose`: the connection is already up (a `connected` event), so a loser is closed rather
   * than refused. Returns whether the connection was admitted.
   */
  private admitInbound(p: Peer, connection: ConnectionId, incarnation: number, asClose: boolean, now: number, out: Decision[]): boolean {
    const deny = p.deny;
    if (deny !== null) return this.turnAway(p, connection, deny, asClose, out);
    switch (p.phase) {
      case 'linked':
        // A second connection while a link is up: go on with it, but settle the conflict only when
        // it is up too (`connected`). Until it has completed its handshake it proves nothing, and a
        // replayed first message must not cost the link it copies anything.
        if (!asClose) {
          if (incarnation >= 0 && p.incarnation >= 0 && incarnation < p.incarnation) {
            out.push({ type: 'refuse', node: p.name, connection, reason: 'stale' }); // refusing it disturbs nothing
            return false;
          }
          out.push({ type: 'accept', node: p.name, connection, reason: 'pending' });
          return true;
        }
        return this.conflict(p, connection, 'in', incarnation, asClose, now, out);
      case 'accepting':
        return this.conflict(p, connection, 'in', incarnation, asClose, now, out);
      case 'dialing': {
        if (this.winnerIsSelf(p)) return this.turnAway(p, connection, 'simultaneous', asClose, out);
        // The peer's attempt wins: abort ours (net_kernel kills its own pending setup, "remark").
        out.push({ type: 'cancel', node: p.name, connection: p.connection, inFlight: true, reason: 'simultaneous' });
        this.setPhase(p, 'accepting');
        this.acceptInto(p, connection, incarnation, asClose ? null : 'simultaneous', out);
        this.pump(now, out);
        return true;
      }
      case 'idle':
      case 'backoff':
      case 'queued':
        if (!this.linkRoomLeft()) return this.turnAway(p, connection, 'maxLinks', asClose, out);
        if (p.barred) {
          p.barred = false;
          out.push({ type: 'unbarred', node: p.name, reason: 'inbound' });
        }
        this.setPhase(p, 'accepting');
        this.acceptInto(p, connection, incarnation, asClose ? null : 'allowed', out);
        return true;
    }
  }

  /** Refuses an inbound connection, or closes it when it is already up. */
  private turnAway(p: Peer, connection: ConnectionId, reason: DenyReason | 'maxLinks' | 'simultaneous', asClose: boolean, out: Decision[]): false {
    out.push(asClose ? { type: 'close', node: p.name, connection, reason } : { type: 'refuse', node: p.name, connection, reason });
    return false;
  }

  private acceptInto(p: Peer, connection: ConnectionId, incarnation: number, report: 'allowed' | ConflictReason | null, out: Decision[]): void {
    p.connection = connection;
    p.direction = 'in';
    p.incarnation = incarnation;
    p.retryAt = -1;
    if (report !== null) out.push({ type: 'accept', node: p.name, connection, reason: report });
  }

  /**
   * A second connection to a peer that already has one (`linked` or `accepting`). Rules, in order:
   * a higher incarnation wins (the peer restarted; the old link is a ghost); two inbound: the newer
   * wins (the peer redialled, so it considers the old one dead); two outbound: the older stays;
   * one each way: the simultaneous-connect tie-break. Returns whether the new one won.
   */
  private conflict(
    p: Peer,
    connection: ConnectionId,
    direction: Direction,
    incarnation: number,
    bothUp: boolean,
    now: number,
    out: Decision[],
  ): boolean {
    let reason: ConflictReason;
    let lost: 'stale' | 'duplicate' | 'simultaneous' | null = null;
    if (incarnation >= 0 && p.incarnation >= 0 && incarnation !== p.incarnation) {
      if (incarnation > p.incarnation) reason = 'restarted';
      else reason = lost = 'stale';
    } else if (direction === p.direction) {
      if (direction === 'in') reason = 'replaced';
      else reason = lost = 'duplicate';
    } else {
      reason = 'simultaneous';
      if (direction !== (this.winnerIsSelf(p) ? 'out' : 'in')) lost = 'simultaneous';
    }
    if (lost !== null) {
      if (bothUp) {
        out.push({ type: 'keep', node: p.name, connection: p.connection!, reason: lost });
        out.push({ type: 'close', node: p.name, connection, reason: lost });
      } else {
        out.push({ type: 'refuse', node: p.name, connection, reason: lost });
      }
      return false;
    }
    out.push({ type: 'close', node: p.name, connection: p.connection!, reason });
    if (bothUp) {
      out.push({ type: 'keep', node: p.name, connection, reason });
      this.setPhase(p, 'accepting'); // linkUp moves it to linked with the new connection
      this.linkUp(p, connection, direction, incarnation, now, out);
    } else {
      out.push({ type: 'accept', node: p.name, connection, reason });
      this.setPhase(p, 'accepting');
      p.connection = connection;
      p.direction = direction;
      p.incarnation = incarnation;
    }
    return true;
  }

  // ---- the rest ----

  private heard(p: Peer, incarnation: number, now: number, out: Decision[]): void {
    if (incarnation <= p.heard) return;
    const restarted = p.heard >= 0;
    p.heard = incarnation;
    // Under `always`, a peer heard again with a new incarnation came back: do not wait out the
    // backoff. Under `once` a restart changes nothing (the bar holds "even if it restarts").
    if (restarted && p.phase === 'backoff' && this.redials(p) && p.deny === null) {
      this.startDial(p, 'restarted', now, out);
    }
  }

  private learned(node: string, via: string, hidden: boolean, now: number, out: Decision[]): void {
    const cfg = this.cfg;
    if (!cfg.mesh || cfg.self.hidden || node === cfg.self.name) return;
    const p = this.peers.get(node);
    if (hidden || cfg.hidden.has(node) || p?.hidden === true || cfg.hidden.has(via) || this.peers.get(via)?.hidden === true) {
      // Hidden nodes are never learned transitively, and a hidden node's view is not ours.
      if (hidden && p !== undefined) p.hidden = true;
      out.push({ type: 'ignore', node, reason: 'hidden' });
      return;
    }
    const refusal = this.autoConnect(p ?? this.peerOf(node), 'mesh', now, out);
    if (refusal !== null) out.push({ type: 'ignore', node, reason: refusal });
  }

  private tick(now: number, out: Decision[]): void {
    const s = this.schedule;
    while (s.size > 0 && s.peekTime() <= now) {
      const at = s.peekTime();
      const p = s.peekItem()!;
      s.pop();
      if (p.phase !== 'backoff' || p.retryAt !== at) continue; // cancelled or rescheduled
      if (!this.redials(p) || p.deny !== null) {
        p.wanted = false;
        this.setPhase(p, 'idle');
        continue;
      }
      if (this.startDial(p, 'redial', at, out) === 'maxLinks') {
        p.wanted = false;
        this.setPhase(p, 'idle');
        out.push({ type: 'refuse', node: p.name, connection: null, reason: 'maxLinks' });
      }
    }
  }

  private configure(update: unknown, now: number, out: Decision[]): void {
    const old = this.cfg;
    this.cfg = resolveConfig(update, old);
    this.denied = nameMatcher(this.cfg.deny);
    this.allowed = this.cfg.allow === null ? null : nameMatcher(this.cfg.allow);
    for (const p of this.peers.values()) {
      p.mode = this.modeOf(p.name);
      const deny = (p.deny = this.permit(p.name));
      if (deny !== null) {
        switch (p.phase) {
          case 'linked':
          case 'accepting':
            out.push({ type: 'violation', node: p.name, connection: p.connection!, reason: deny });
            break;
          case 'dialing':
          case 'backoff':
          case 'queued':
            out.push({ type: 'cancel', node: p.name, connection: p.connection, inFlight: p.phase === 'dialing', reason: deny });
            p.connection = null;
            p.wanted = false;
            this.setPhase(p, 'idle');
            break;
          case 'idle':
            break;
        }
      }
      const mode = p.mode;
      if (p.barred && mode !== 'once') {
        p.barred = false;
        out.push({ type: 'unbarred', node: p.name, reason: 'modeChanged' });
      }
      if (p.phase === 'backoff' && !this.redials(p)) {
        out.push({ type: 'cancel', node: p.name, connection: null, inFlight: false, reason: 'modeChanged' });
        p.wanted = false;
        this.setPhase(p, 'idle');
      }
    }
    if (this.started) {
      const before = new Set(old.peers);
      for (const node of this.cfg.peers) if (!before.has(node)) this.startupConnect(this.peerOf(node), now, out);
    }
    this.pump(now, out);
  }
}
