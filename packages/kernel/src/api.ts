// The public shape of an embedded distkit node: what apps/daemon and apps/embedded-client use.
// Modelled on Erlang's net_kernel (connect_node, disconnect_node, nodes(), monitor_nodes with
// nodedown_reason) with distkit's additions (partition verdicts and decisions).
import type { DetectorConfig } from '@distkit/detector';
import type { TrustStore } from '@distkit/handshake';
import type { Address, Transport } from './transport.ts';

export type AutoConnect = 'always' | 'once' | 'never';

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
}

/** Why a link went down, in the spirit of OTP's nodedown_reason. */
export type NodedownReason =
  | 'connection_closed'
  | 'disconnect'
  | 'tick_timeout'
  | 'setup_failed'
  | 'refused'
  | 'shutdown'
  | 'decrypt_failed'
  | 'protocol_error'
  | 'key_changed'
  | 'replaced';

export type Verdict = 'up' | 'down' | 'partitioned' | 'restarted' | 'degraded' | 'unknown';

export type KernelEvent =
  | { readonly type: 'nodeup'; readonly node: string; readonly incarnation: number; readonly direction: 'inbound' | 'outbound'; readonly hidden: boolean; readonly at: number }
  | { readonly type: 'nodedown'; readonly node: string; readonly reason: NodedownReason; readonly at: number; readonly detail?: string }
  | { readonly type: 'verdict'; readonly node: string; readonly verdict: Verdict; readonly previous: Verdict; readonly at: number }
  /** `via`: the peer that reported it (a hidden node hears of its daemon's partitions this way). */
  | { readonly type: 'partition'; readonly node: string; readonly incarnation: number; readonly at: number; readonly via?: string }
  | { readonly type: 'restarted'; readonly node: string; readonly incarnation: number; readonly at: number }
  | { readonly type: 'degraded'; readonly node: string; readonly at: number }
  | {
      readonly type: 'decision';
      readonly node: string;
      readonly strategy: string;
      readonly decision: 'stay' | 'restart';
      readonly mine: unknown;
      readonly theirs: unknown;
      readonly at: number;
      readonly via?: string;
    }
  | { readonly type: 'key-changed'; readonly node: string; readonly expected: string; readonly presented: string; readonly at: number }
  | { readonly type: 'refused'; readonly node: string | null; readonly remote: string; readonly reason: string; readonly at: number }
  | { readonly type: 'message-lost'; readonly node: string; readonly count: number; readonly at: number };

export interface IncomingMessage {
  readonly from: string;
  readonly value: unknown;
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
}

export interface KernelStats {
  readonly links: number;
  readonly heartbeatsSent: number;
  readonly heartbeatsReceived: number;
  readonly drops: Readonly<Record<'unauthenticated' | 'malformed' | 'replayed' | 'foreign_cluster' | 'unknown_sender' | 'too_large', number>>;
  readonly handshakes: Readonly<Record<'ok' | 'failed' | 'refused' | 'timeout', number>>;
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
  disconnectNode(name: string): Promise<void>;
  /** Names of connected nodes; hidden ones only when asked. */
  nodes(options?: { readonly hidden?: boolean }): string[];
  /** Everything known about every peer (configured, learned or connected). */
  info(): NodeInfo[];
  /**
   * The visible nodes `name` is connected to, asked over the link (itself included): how a hidden
   * client connected to one daemon sees the cluster. Rejects if not connected or no answer comes
   * within the setup time.
   */
  remoteNodes(name: string): Promise<string[]>;
  /** Sends a value (auto-connecting per policy). Rejects with a KernelError when it cannot. */
  send(name: string, value: unknown): Promise<void>;
  messages(): AsyncIterable<IncomingMessage>;
  events(): AsyncIterable<KernelEvent>;
  /** Adds or updates a peer (discovery, reload). */
  addPeer(peer: PeerConfig): void;
  removePeer(name: string): void;
  stats(): KernelStats;
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
  /** Default: the link listener's host and port. */
  readonly heartbeatListen?: Address;
  readonly peers?: readonly PeerConfig[];
  /**
   * Who may link: a @distkit/handshake TrustStore (authorized_nodes, and known_nodes in TOFU mode).
   * Default: an empty TOFU store (learn on first use, refuse a changed key). The kernel calls
   * `store.learn` for TOFU peers and then `onLearned`, so the caller can persist known_nodes.
   */
  readonly trust?: {
    readonly store: TrustStore;
    readonly onLearned?: (name: string, publicKey: Uint8Array) => void;
  };
  /** Cluster secrets, newest first (the first is used to dial; all are tried when accepting). */
  readonly clusterSecrets?: readonly Uint8Array[];
  readonly autoConnect?: AutoConnect;
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
  readonly strategy?: 'keep-majority' | 'keep-oldest' | 'static-quorum' | 'keep-referee' | 'down-all' | 'manual';
  readonly referee?: string;
  readonly quorum?: number;
  /**
   * Inbound handshakes accepted per second from one IP address (bursts of twice that pass).
   * Beyond it, connections are closed before any crypto. Default 20.
   */
  readonly handshakesPerSecondPerAddress?: number;
  /** Fine-tuning of the partition detector (phi threshold, probes, stableAfter, fanout...). */
  readonly detector?: DetectorConfig;
  /** Wall-clock start time of this node (ms); default transport.wallTime() at start. */
  readonly startedAt?: number;
  readonly transport?: Transport;
}
