import { DistkitError } from '@distkit/wire';

/** Why a detector configuration or input was refused. */
export type DetectorErrorCode =
  /** A configuration key has a value outside its domain (the message names the key). */
  | 'INVALID_CONFIG'
  /** An input (time, incarnation, view, probe) is malformed. */
  | 'INVALID_INPUT';

/** Every error @distkit/detector throws on purpose. `key` names the offending configuration key or input field. */
export class DetectorError extends DistkitError {
  static override readonly name: string = 'DetectorError';
  override readonly name: string = 'DetectorError';
  declare readonly code: DetectorErrorCode;
  readonly key: string;

  constructor(code: DetectorErrorCode, key: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.key = key;
  }
}

/** True when `err` is a DetectorError, even one from another copy of this package. */
export function isDetectorError(err: unknown): err is DetectorError {
  return err instanceof Error && err.name === 'DetectorError' && typeof (err as DetectorError).code === 'string';
}
