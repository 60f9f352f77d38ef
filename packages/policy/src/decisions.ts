import type { ConnectionId } from './events.ts';

/** Why a dial starts. */
export type DialReason = 'startup' | 'explicit' | 'auto' | 'mesh' | 'redial' | 'restarted';
/** Why a node may not link (to or from us). */
export type DenyReason = 'denied' | 'notAllowed';
/** Why an automatic connect (a send, a monitor, the mesh, startup) is not made. */
export type AutoRefusal = 'never' | 'barred' | DenyReason | 'maxLinks';
/** Why an explicit connect or an inbound connection is refused. */
export type RefuseReason = DenyReason | 'maxLinks' | 'maxPendingInbound' | 'self' | 'simultaneous' | 'duplicate' | 'stale';
/** How a second connection between the same pair was settled. */
export type ConflictReason = 'simultaneous' | 'restarted' | 'replaced' | 'duplicate' | 'stale';

/**
 * What the kernel must do (or may report). A discriminated union on `type`; every member has a
 * `reason` code.
 */
export type Decision =
  /** Dial `node` now. `at` is when the dial was due (earlier than now if `tick` came late). */
  | { readonly type: 'dial'; readonly node: string; readonly at: number; readonly attempt: number; readonly reason: DialReason }
  /** A redial is planned at `at` (nothing to do now: call `tick` by `nextWakeup()`). */
  | { readonly type: 'retry'; readonly node: string; readonly at: number; readonly attempt: number; readonly reason: 'dialFailed' | 'linkFailed' | 'inboundFailed' }
  /** No link yet, but one is on its way: hold the message. */
  | { readonly type: 'wait'; readonly node: string; readonly reason: 'dialing' | 'accepting' | 'backoff' | 'queued' }
  /** The link is already up: use `connection`. */
  | { readonly type: 'ready'; readonly node: string; readonly connection: ConnectionId; readonly reason: 'linked' }
  /** Accept this inbound connection (`node` is null before the handshake names the peer). */
  | { readonly type: 'accept'; readonly node: string | null; readonly connection: ConnectionId; readonly reason: 'pending' | 'allowed' | ConflictReason }
  /** Refuse: an inbound `connection`, or (connection null) an explicit connect or a startup dial. */
  | { readonly type: 'refuse'; readonly node: string | null; readonly connection: ConnectionId | null; readonly reason: RefuseReason | AutoRefusal }
  /** An automatic connect may not happen: the message that needed it is dropped (and reported). */
  | { readonly type: 'drop'; readonly node: string; readonly message: unknown; readonly reason: AutoRefusal }
  /** Abort the dial to `node` (`inFlight`) or forget the planned one (`inFlight` false). */
  | { readonly type: 'cancel'; readonly node: string; readonly connection: ConnectionId | null; readonly inFlight: boolean; readonly reason: 'simultaneous' | DenyReason | 'modeChanged' }
  /** Redials to `node` stop after `attempts` consecutive failures. */
  | { readonly type: 'giveUp'; readonly node: string; readonly attempts: number; readonly reason: 'maxAttempts' }
  /** Of two connections to `node`, this one stays ... */
  | { readonly type: 'keep'; readonly node: string; readonly connection: ConnectionId; readonly reason: ConflictReason }
  /** ... and this one must be closed. */
  | { readonly type: 'close'; readonly node: string; readonly connection: ConnectionId; readonly reason: ConflictReason | DenyReason | 'maxLinks' | 'self' }
  /** An existing link now breaks the allow/deny lists; the kernel decides whether to close it. */
  | { readonly type: 'violation'; readonly node: string; readonly connection: ConnectionId; readonly reason: DenyReason }
  /** `node` is barred from auto-connect (mode `once`, its link failed). */
  | { readonly type: 'barred'; readonly node: string; readonly reason: 'linkFailed' }
  /** The bar on `node` is lifted. */
  | { readonly type: 'unbarred'; readonly node: string; readonly reason: 'explicit' | 'inbound' | 'modeChanged' }
  /** A mesh candidate (`learned`) is not connected. */
  | { readonly type: 'ignore'; readonly node: string; readonly reason: 'hidden' | AutoRefusal };

export type DecisionType = Decision['type'];
