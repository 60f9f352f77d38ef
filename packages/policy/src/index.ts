export { PolicyError, isPolicyError, type PolicyErrorCode } from './errors.ts';
export {
  DEFAULT_BACKOFF, DEFAULT_LIMITS, MODES, RECONNECTS, normalizeNodeId, resolveConfig,
  type BackoffConfig, type Limits, type Mode, type Reconnect, type NodeKey, type PolicyConfig, type PolicyUpdate, type ResolvedConfig,
  type SelfConfig,
} from './config.ts';
export { backoffDelay } from './backoff.ts';
export { simultaneousWinner, type NodeRef } from './tiebreak.ts';
export type { ConnectionId, Direction, PolicyEvent, PolicyEventType } from './events.ts';
export type {
  AutoRefusal, ConflictReason, Decision, DecisionType, DenyReason, DialReason, RefuseReason,
} from './decisions.ts';
export {
  createPolicy, type LinkInfo, type PeerPhase, type PeerState, type Policy, type PolicyOptions, type PolicyStats,
} from './policy.ts';
