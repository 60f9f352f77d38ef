import { DistkitError } from '@distkit/wire';
import { EXIT } from './exit-codes.ts';

export type DaemonErrorCode =
  | 'BAD_FLAG'
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_SYNTAX'
  | 'CONFIG_INVALID'
  | 'KEY_PERMISSIONS'
  | 'KEY_MALFORMED'
  | 'STATE_LOCKED'
  | 'KEY_EXISTS'
  | 'STATE_IO'
  | 'TRUST_FILE'
  | 'CONTROL_UNREACHABLE'
  | 'CONTROL_REFUSED'
  | 'CONTROL_BIND'
  | 'KERNEL_MISSING';

/** Every error distkitd reports on purpose; `exitCode` is what the process exits with. */
export class DaemonError extends DistkitError {
  static override readonly name: string = 'DaemonError';
  override readonly name: string = 'DaemonError';
  declare readonly code: DaemonErrorCode;

  constructor(code: DaemonErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  get exitCode(): number {
    return exitCodeFor(this.code);
  }
}

function exitCodeFor(code: DaemonErrorCode): number {
  switch (code) {
    case 'BAD_FLAG':
    case 'CONFIG_NOT_FOUND':
    case 'CONFIG_SYNTAX':
    case 'CONFIG_INVALID':
    case 'TRUST_FILE':
      return EXIT.CONFIG;
    case 'KEY_PERMISSIONS':
    case 'KEY_MALFORMED':
      return EXIT.NOPERM;
    case 'CONTROL_UNREACHABLE':
      return EXIT.UNAVAILABLE;
    case 'STATE_LOCKED':
    case 'KEY_EXISTS':
      return EXIT.CANTCREAT;
    default:
      return EXIT.FAILURE;
  }
}

/** True when `err` is a DaemonError, even one from another copy of this package. */
export function isDaemonError(err: unknown): err is DaemonError {
  return err instanceof Error && err.name === 'DaemonError' && typeof (err as DaemonError).code === 'string';
}
