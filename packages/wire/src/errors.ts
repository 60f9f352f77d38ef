/**
 * Base class of every error distkit throws on purpose. `code` is stable and meant for matching;
 * `name` is set on the class and the instance so matching by name survives duplicated package
 * copies (js-libp2p's habit).
 */
export class DistkitError extends Error {
  static override readonly name: string = 'DistkitError';
  override readonly name: string = 'DistkitError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Why a byte string was refused by a decoder, or a value by an encoder. */
export type WireErrorCode =
  | 'MALFORMED'
  | 'UNKNOWN_TYPE'
  | 'UNSUPPORTED_VERSION'
  | 'TOO_LARGE'
  | 'TOO_DEEP'
  | 'TOO_MANY_ITEMS'
  | 'TRAILING_BYTES'
  | 'EXTENSION_TYPE'
  | 'FORBIDDEN_KEY'
  | 'INVALID_VALUE';

/** Every rejection of wire input (or of a value that cannot be put on the wire). */
export class WireError extends DistkitError {
  static override readonly name: string = 'WireError';
  override readonly name: string = 'WireError';
  declare readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** True when `err` is a WireError, even one from another copy of this package. */
export function isWireError(err: unknown): err is WireError {
  return err instanceof Error && err.name === 'WireError' && typeof (err as WireError).code === 'string';
}
