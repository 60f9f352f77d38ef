import type { NodeKey, PolicyUpdate } from './config.ts';

/** The kernel's handle for one connection (a stream), chosen by the kernel. */
export type ConnectionId = string | number;
/** `out`: this node dialled; `in`: the peer dialled. */
export type Direction = 'in' | 'out';

/**
 * Everything the policy reacts to. The kernel calls `policy.handle(event, now)` and carries out the
 * decisions returned. Events that no longer match the engine's state (a late report about a
 * connection it already closed) are ignored and return no decision.
 */
export type PolicyEvent =
  /** Dial every configured peer (under `always` and `once`). Once; later `start`s do nothing. */
  | { readonly type: 'start' }
  /** Change the configuration (everything but `self`); shrinking lists reports violations. */
  | { readonly type: 'configure'; readonly config: PolicyUpdate }
  /**
   * The node needs a link to `node`: `explicit` is `connectNode`; `auto` is a send or a monitor to
   * an unconnected node (`message` is echoed back in a `drop` decision if it may not connect).
   */
  | { readonly type: 'connectRequested'; readonly node: string; readonly kind: 'explicit' | 'auto'; readonly message?: unknown }
  /** Optional: the kernel started the dial it was told to, with this connection handle. */
  | { readonly type: 'dialStarted'; readonly node: string; readonly connection?: ConnectionId | undefined }
  /** The dial to `node` failed (refused, unreachable, handshake failed) before a link was up. */
  | { readonly type: 'dialFailed'; readonly node: string; readonly reason: string }
  /** A link is up (handshake done). `incarnation` and `id` come from the peer's hello. */
  | {
      readonly type: 'connected';
      readonly node: string;
      readonly connection: ConnectionId;
      readonly direction: Direction;
      readonly incarnation: number;
      readonly id?: NodeKey | undefined;
      readonly hidden?: boolean | undefined;
    }
  /**
   * A link (or an accepted inbound that was not up yet) went away, for `reason`. `deliberate`: one
   * side closed it on purpose (`disconnect_node`, a node leaving): `always` does not redial it by
   * itself even when eager (the next send or connect links again); `once` bars it as for any loss.
   */
  | { readonly type: 'disconnected'; readonly node: string; readonly connection: ConnectionId; readonly reason: string; readonly deliberate?: boolean }
  /**
   * An inbound connection. Without `node`: a stream just arrived, the peer is not known yet (only
   * `maxPendingInbound` applies). With `node`: the handshake has named the peer; the policy
   * accepts or refuses it. The same `connection` handle links the two calls.
   */
  | {
      readonly type: 'inboundAttempt';
      readonly connection: ConnectionId;
      readonly node?: string | undefined;
      readonly address?: string | undefined;
      readonly incarnation?: number | undefined;
      readonly id?: NodeKey | undefined;
      readonly hidden?: boolean | undefined;
    }
  /** An inbound stream accepted without a name failed before the handshake named the peer. */
  | { readonly type: 'inboundFailed'; readonly connection: ConnectionId; readonly reason: string }
  /** A heartbeat from `node` arrived (the UDP "I am here"), with the sender's incarnation. */
  | { readonly type: 'heard'; readonly node: string; readonly incarnation: number }
  /** Peer `via` told us of `node` (Erlang's global node lists): a mesh candidate. */
  | { readonly type: 'learned'; readonly node: string; readonly via: string; readonly hidden?: boolean | undefined }
  /** Time passed: due redials start. Call at `policy.nextWakeup()`. */
  | { readonly type: 'tick' }
  /**
   * Forget everything about `node` (a stranger that left): its bar, its backoff, its record. Only
   * when it has no link, no dial and no inbound on its way; otherwise nothing happens.
   */
  | { readonly type: 'forget'; readonly node: string };

export type PolicyEventType = PolicyEvent['type'];
