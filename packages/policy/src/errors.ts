import { DistkitError } from '@distkit/wire';

/** Why a configuration, an event or a time was refused. */
export type PolicyErrorCode =
  | 'INVALID_CONFIG'
  | 'UNKNOWN_KEY'
  | 'UNKNOWN_MODE'
  | 'INVALID_DELAY'
  | 'INVALID_LIMIT'
  | 'INVALID_VALUE'
  | 'INVALID_NODE'
  | 'INVALID_ID'
  | 'OVERLAPPING_LISTS'
  | 'INVALID_EVENT'
  | 'INVALID_TIME';

/**
 * Every refusal of the policy engine: bad configuration (with the offending `key`, e.g.
 * `backoff.cap` or `deny[2]`), a malformed event, or time running backwards.
 */
export class PolicyError extends DistkitError {
  static override readonly name: string = 'PolicyError';
  override readonly name: string = 'PolicyError';
  declare readonly code: PolicyErrorCode;
  /** The configuration key or event field at fault, when there is one. */
  readonly key: string | null;

  constructor(code: PolicyErrorCode, key: string | null, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.key = key;
  }
}

/** True when `err` is a PolicyError, even one from another copy of this package. */
export function isPolicyError(err: unknown): err is PolicyError {
  return err instanceof Error && err.name === 'PolicyError' && typeof (err as PolicyError).code === 'string';
}
