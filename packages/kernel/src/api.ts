// The public shape of an embedded distkit node: what apps/daemon and apps/embedded-client use.
// Modelled on Erlang's net_kernel (connect_node, disconnect_node, nodes(), monitor_nodes with
// nodedown_reason) with distkit's additions (partition verdicts and decisions).
import type { DetectorConfig, StrategyName, Verdict } from '@distkit/detector';
import type { Trust } from '@distkit/handshake';
import type { BackoffConfig, Limits, Mode, Reconnect } from '@distkit/policy';
import type { Address, DisconnectReason, LinkPattern, LinkSuite, Transport, ViewSummary } from '@distkit/wire';

export type { LinkSuite };

/** Erlang's `dist_auto_connect` values; the policy package owns the list (`MODES`). */
export type AutoConnect = Mode;
export type { DisconnectReason, Mode, Reconnect, StrategyName, Verdict };

/** A peer the node knows how to reach (from configuration or discovery). */
export interface PeerConfig {
  readonly name: string;
  /** Where the peer listens for links (TCP). */
  readonly address: Address;
  /** Where the peer receives heartbeats (UDP). Default: the same host and port as `address`. */
  readonly heartbeat?: Address;
  /** Pinned X25519 public key. When set, the link uses Noise IK and the key must match. */
  readonly publicKey?: Uint8Array;
  /** Per-peer override of the node's auto-connect mode. */
  readonly autoConnect?: AutoConnect;
  /** Per-peer override of `reconnect`. */
  readonly reconnect?: Reconnect;
}

/** Why a link went down, in the spirit of OTP's nodedown_reason. */
export type NodedownReason =
  | 'connection_closed'
  | 'disconnect'
  | 'tick_timeout'
  | 'setup_failed'
  /** (A link that never came up:) its first record or its handshake did not arrive in time. */
  | 'setup_timeout'
  /** (A link that never came up:) the first record was not made with our cluster secret. */
  | 'bad_secret'
  | 'refused'
  | 'shutdown'
  | 'decrypt_failed'
  | 'protocol_error'
  | 'key_changed'
  | 'replaced';

/** Which linked nodes `nodes()` lists, as OTP's `nodes/1`: visible (default), hidden, or both. */
export type NodesKind = 'visible' | 'hidden' | 'connected';

export type KernelEvent =
  | { readonly type: 'nodeup'; readonly node: string; readonly incarnation: number; readonly direction: 'inbound' | 'outbound'; readonly hidden: boolean; readonly at: number }
  /**
   * OTP's reasons: the side that disconnects says `disconnect`, the other `connection_closed`.
   * `deliberate`: the link was closed on purpose, by either side (told in its closing frame):
   * `disconnect`, `shutdown` (a node stopping) or `leave` (a node leaving the cluster). Such a pair
   * is never reported as a partition, nor resolved by a restart decision.
   */
  | { readonly type: 'nodedown'; readonly node: string; readonly reason: NodedownReason; readonly at: number; readonly detail?: string; readonly deliberate?: DisconnectReason }
  | { readonly type: 'verdict'; readonly node: string; readonly verdict: Verdict; readonly previous: Verdict; readonly at: number }
  /** `via`: the peer that reported it (a hidden node hears of its daemon's partitions this way). */
  | { readonly type: 'partition'; readonly node: string; readonly incarnation: number; readonly at: number; readonly via?: string }
  | { readonly type: 'restarted'; readonly node: string; readonly incarnation: number; readonly at: number }
  | { readonly type: 'degraded'; readonly node: string; readonly at: number }
  | {
      readonly type: 'decision';
      readonly node: string;
      readonly strategy: StrategyName | string;
      readonly decision: 'stay' | 'restart';
      /** Both sides' view summaries, from which each side computed the same answer. */
      readonly mine: ViewSummary;
      readonly theirs: ViewSummary;
      readonly at: number;
      readonly via?: string;
    }
  | { readonly type: 'key-changed'; readonly node: string; readonly expected: string; readonly presented: string; readonly at: number }
  | { readonly type: 'refused'; readonly node: string | null; readonly remote: string; readonly reason: string; readonly at: number }
  /**
   * Messages were dropped because a `messages()` reader fell `maxQueuedMessages` behind (a slow
   * consumer): `count` since the last such event, told when that reader next reads.
   */
  | { readonly type: 'message-lost'; readonly count: number; readonly reason: 'slow_consumer'; readonly at: number }
  /** This `events()` reader fell `maxQueuedEvents` behind: `count` events before this one were dropped. */
  | { readonly type: 'events-lost'; readonly count: number; readonly at: number };

export interface IncomingMessage {
  readonly from: string;
  readonly value: unknown;
  /** The named channel it came on; absent for the default channel. */
  readonly channel?: string;
}

export interface SendOptions {
  /**
   * A named channel (1 to 64 UTF-8 bytes; `'default'` is the default one). Messages on different
   * channels of a link do not wait for each other: a large one is cut into pieces that interleave
   * with the others'. Order is kept within a channel, not across channels.
   */
  readonly channel?: string;
}

export interface NodeInfo {
  readonly name: string;
  readonly connected: boolean;
  readonly hidden: boolean;
  readonly verdict: Verdict;
  readonly incarnation: number | null;
  readonly fingerprint: string | null;
  readonly direction: 'inbound' | 'outbound' | null;
  readonly address: Address | null;
  /** The Noise pattern and suite of the link that is up. */
  readonly pattern: LinkPattern | null;
  readonly suite: LinkSuite | null;
  /** Its tags (from its hello, and changes it told since). */
  readonly tags: Readonly<Record<string, string>>;
  /** When the current link came up (transport clock, ms), or null. */
  readonly linkedSince: number | null;
  /** When the last heartbeat from it arrived (transport clock, ms), or null. */
  readonly lastHeard: number | null;
  /** phi-accrual suspicion now (null: nothing heard yet). */
  readonly phi: number | null;
  /**
   * Share of its heartbeat rounds that did not arrive, over its last 100 rounds (0..1; null until
   * 10 rounds are known, and with a detector `fanout`, where gaps are not losses).
   */
  readonly loss: number | null;
}

export interface KernelStats {
  readonly links: number;
  readonly heartbeatsSent: number;
  readonly heartbeatsReceived: number;
  readonly drops: Readonly<Record<'unauthenticated' | 'malformed' | 'replayed' | 'foreign_cluster' | 'unknown_sender' | 'too_large', number>>;
  /**
   * Handshakes by outcome: `ok`, `failed`, `timeout`, and `refused` (every refusal), which is the sum
   * of one counter per reason: `rate_limited`, `slots_full`, `untrusted`, `key_changed`, `self`,
   * `wrong_name`, `policy`, `replayed`, `bad_secret`.
   */
  readonly handshakes: Readonly<Record<
    'ok' | 'failed' | 'refused' | 'timeout' | 'rate_limited' | 'slots_full' | 'untrusted' | 'key_changed' | 'self' | 'wrong_name' | 'policy' | 'replayed' | 'bad_secret',
    number
  >>;
  readonly messagesSent: number;
  readonly messagesReceived: number;
  readonly decisions: number;
}

/** An embedded distkit node. Create with `createNode(options)`. */
export interface DistkitNode {
  readonly name: string;
  /** This node's X25519 public key. */
  readonly publicKey: Uint8Array;
  /** SHA256 fingerprint of the public key, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  readonly incarnation: number;
  /** Where links are accepted (after start; port 0 resolved). */
  readonly address: Address;
  /** Where heartbeats are received (after start). */
  readonly heartbeatAddress: Address;

  start(): Promise<void>;
  /** Graceful: every link is closed with reason `shutdown`, sockets released. */
  stop(): Promise<void>;
  /** Explicit connect (lifts a `once` bar). Resolves when the link is up. */
  connectNode(name: string): Promise<void>;
  /**
   * Joins the node at `address` (run-time membership): with `name` it is added as a peer and
   * connected; without, it names itself in the handshake (trust decides as for any link). It is a
   * configured peer from then on. Resolves with its name once the link is up.
   */
  joinNode(address: Address, options?: { readonly name?: string; readonly publicKey?: Uint8Array }): Promise<string>;
  /**
   * Leaves the cluster on purpose: every peer is told (`deliberate: 'leave'`: no partition, no
   * restart decision anywhere), then the node stops.
   */
  leave(): Promise<void>;
  /** Replaces this node's tags (told to linked peers at once, carried in every new hello). */
  setTags(tags: Readonly<Record<string, string>>): void;
  disconnectNode(name: string): Promise<void>;
  /**
   * Names of linked nodes, as OTP's `nodes/1`: `visible` (default), `hidden`, or `connected` (both).
   * On a hidden node every link is hidden. (`{ hidden: true }` is the old spelling of `connected`.)
   */
  nodes(kind?: NodesKind | { readonly hidden?: boolean }): string[];
  /** Everything known about every peer (configured, learned or connected). */
  info(): NodeInfo[];
  /**
   * The visible nodes `name` is connected to, asked over the link (itself included): how a hidden
   * client connected to one daemon sees the cluster. Rejects if not connected or no answer comes
   * within the setup time.
   */
  remoteNodes(name: string): Promise<string[]>;
  /**
   * Sends a value (auto-connecting per policy), on the default channel or `options.channel`.
   * Resolves once it is queued under its channel's high-water mark (1 MiB) on a stream that is
   * not congested, else once its last byte is handed to the stream. Rejects with a KernelError
   * when it cannot be sent (or its link fails before it left).
   */
  send(name: string, value: unknown, options?: SendOptions): Promise<void>;
  messages(): AsyncIterable<IncomingMessage>;
  events(): AsyncIterable<KernelEvent>;
  /** Adds or updates a peer (discovery, reload); the policy sees it at once (a dial, per its mode). */
  addPeer(peer: PeerConfig): void;
  /**
   * Forgets a peer: its configuration, any address learned for it, and (when it is not linked) all
   * that is kept of it, configured or not. A link that is up stays up.
   */
  removePeer(name: string): void;
  /**
   * Changes the connection policy at run time: the default mode and the policy options. Lists
   * given replace the old ones; links that the new allow/deny lists forbid are closed (`refused`).
   */
  configure(update: NodeUpdate): void;
  /** Replaces the trust store; links whose key it no longer trusts are closed (`refused`). */
  setTrust(store: Trust): void;
  /** Replaces the cluster secrets (newest first): new links use the first; every one is accepted. */
  setClusterSecrets(secrets: readonly Uint8Array[]): void;
  stats(): KernelStats;
}

/** The connection policy's own options (@distkit/policy), reachable from the kernel. */
export interface KernelPolicyOptions {
  /** Only these nodes may link, either way: names or glob patterns (`*`, `?`). Absent: everyone. */
  readonly allow?: readonly string[] | null;
  /** These never link (names or patterns); deny wins. */
  readonly deny?: readonly string[];
  /** Erlang's `connect_all` (default true, as OTP): link to the nodes a peer is linked to, per their mode. */
  readonly mesh?: boolean;
  readonly backoff?: Partial<BackoffConfig>;
  readonly limits?: Partial<Limits>;
}

export interface NodeUpdate {
  readonly autoConnect?: AutoConnect;
  readonly reconnect?: Reconnect;
  readonly policy?: KernelPolicyOptions;
}

/** What `createNode` needs; every field but the first four has a default. */
export interface NodeOptions {
  readonly name: string;
  readonly cluster: string;
  readonly identity: { readonly publicKey: Uint8Array; readonly privateKey: Uint8Array };
  /** Grows on every restart; the caller persists it (the daemon does). */
  readonly incarnation: number;
  /** Default 127.0.0.1:0. */
  readonly listen?: Address;
  /**
   * Default: the link listener's host and port. With `listen.port` 0, `start()` draws a port free
   * for TCP and UDP both (trying a fresh one, up to 8 times, when another socket holds the UDP twin).
   */
  readonly heartbeatListen?: Address;
  readonly peers?: readonly PeerConfig[];
  /**
   * Who may link: a @distkit/handshake TrustStore (authorized_nodes, and known_nodes in TOFU mode).
   * Default: an empty TOFU store (learn on first use, refuse a changed key). The kernel calls
   * `store.learn` for TOFU peers and then `onLearned`, so the caller can persist known_nodes.
   */
  readonly trust?: {
    /** A @distkit/handshake `TrustStore`, or any object of the `Trust` shape. */
    readonly store: Trust;
    /**
     * Called after `store.learn` for a TOFU peer. May return a promise (persisting known_nodes):
     * the link is reported up only once both have resolved.
     */
    readonly onLearned?: (name: string, publicKey: Uint8Array) => unknown;
  };
  /** Cluster secrets, newest first (the first is used to dial; all are tried when accepting). */
  readonly clusterSecrets?: readonly Uint8Array[];
  /**
   * Noise cipher suites this node accepts, in order of preference: a link this node dials uses the
   * first; one it accepts must use one of these (else it is refused, with a `refused` event).
   * Default: both, `25519_AESGCM_SHA256` first where the CPU has AES instructions, else
   * `25519_ChaChaPoly_SHA256` first.
   */
  readonly suites?: readonly LinkSuite[];
  /**
   * Flow control per link (default 384 KiB; at least 192 KiB in effect, since the peer
   * acknowledges every 128 KiB): user data written and not yet acknowledged by the peer stays
   * under this, but for the record that crosses it. It bounds how long a small message waits behind a large one (about
   * this much at the reader's speed) and a link's throughput (this much per round trip): raise it
   * for long fat paths (4 MiB at 20 ms is 200 MB/s).
   */
  readonly flowWindowBytes?: number;
  readonly autoConnect?: AutoConnect;
  /**
   * When a lost link is made again under `always`: `on-demand` (default, as OTP: on the next send
   * or connect, at once; nothing redials by itself) or `eager` (redial on its own, with backoff).
   */
  readonly reconnect?: Reconnect;
  /**
   * OTP 25's prevent_overlapping_partitions (default true): when two of our peers are unlinked and
   * apart (A–B and B–C up, A–C lost or refused by a policy), links are dropped on purpose until the
   * cluster is made of fully connected parts, whose partitions the detector then finds and resolves.
   */
  readonly preventOverlappingPartitions?: boolean;
  /** Dial every configured peer at start (under `always` and `once`), as Erlang nodes do. Default true. */
  readonly connectAtStart?: boolean;
  readonly hidden?: boolean;
  /** "I am here" interval (default 5000 ms, jittered ±10%). */
  readonly heartbeatIntervalMs?: number;
  /** Erlang's net_ticktime (default 60 000 ms): a link silent this long is dead. */
  readonly tickTimeMs?: number;
  /**
   * Erlang's net_tickintensity (default 4, OTP 26): ticks per tickTime. A tick goes out every
   * tickTime / intensity when nothing else did; more ticks detect a dead link closer to tickTime.
   */
  readonly tickIntensity?: number;
  /** Erlang's net_setuptime (default 7000 ms). */
  readonly setupTimeMs?: number;
  /**
   * An inbound connection must deliver its first record this soon (default 1000 ms): one that
   * sends nothing (slowloris) holds a half-open slot no longer.
   */
  readonly firstRecordMs?: number;
  /** Half-open inbound connections from one address (default 16; all addresses: `policy.limits.maxPendingInbound`, 64). */
  readonly halfOpenPerAddress?: number;
  /** Operator metadata carried in the hello (`{ role: 'db' }`): peers see it in `info()`. */
  readonly tags?: Readonly<Record<string, string>>;
  readonly strategy?: StrategyName;
  readonly referee?: string;
  readonly quorum?: number;
  /**
   * Inbound handshakes accepted per second from one IP address (bursts of twice that pass).
   * Beyond it, connections are closed before any crypto. Default 20.
   */
  readonly handshakesPerSecondPerAddress?: number;
  /** Fine-tuning of the partition detector (phi threshold, probes, stableAfter, fanout...). */
  readonly detector?: DetectorConfig;
  /** allow/deny (glob patterns), mesh, backoff and limits of the connection policy. */
  readonly policy?: KernelPolicyOptions;
  /** A `messages()` reader this far behind loses the oldest (reported as `message-lost`). Default 10 000. */
  readonly maxQueuedMessages?: number;
  /** An `events()` reader this far behind loses the oldest (reported as `events-lost`). Default 10 000. */
  readonly maxQueuedEvents?: number;
  /**
   * Peers nobody configured (they linked in) are remembered, and heartbeated, for this long after
   * their link went (default 60 000 ms), and at most `maxStrangers` of them (default 256): strangers
   * that link once and leave cost bounded memory and datagrams.
   */
  readonly strangerRetentionMs?: number;
  readonly maxStrangers?: number;

  /**
   * Called synchronously for every event, at the moment it happens (before `events()` readers see
   * it): for a simulator or a metrics hook that must react at that exact time. Must not throw.
   */
  readonly onEvent?: (event: KernelEvent) => void;
  /** Wall-clock start time of this node (ms); default transport.wallTime() at start. */
  readonly startedAt?: number;
  readonly transport?: Transport;
}
