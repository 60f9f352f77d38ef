import { DistkitError } from '@distkit/wire';
import { EXIT } from './exit-codes.ts';

/** Every condition distkitd reports on purpose; each maps to exactly one exit code. */
export type DaemonErrorCode =
  // 78: the configuration (file, DISTKIT_* variables, flags) is wrong.
  | 'BAD_FLAG'
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_SYNTAX'
  | 'CONFIG_INVALID'
  /** A file the configuration names (cluster_secret_file, control.token_file...) is missing or unreadable. */
  | 'CONFIG_FILE'
  // 77
  | 'KEY_PERMISSIONS'
  // 65: a file's content does not parse, or the state folder is inconsistent.
  | 'KEY_MALFORMED'
  | 'TRUST_FILE'
  | 'STATE_CORRUPT'
  // 73
  | 'STATE_LOCKED'
  | 'KEY_EXISTS'
  // 74
  | 'STATE_IO'
  // 69
  | 'CONTROL_UNREACHABLE'
  | 'DAEMON_NOT_RUNNING'
  // 1
  | 'CONTROL_REFUSED'
  /** `secret use|remove ID`: no secret with that id in the file. */
  | 'SECRET_UNKNOWN'
  /** `secret remove ID`: the secret is the one used to dial, or the last one. */
  | 'SECRET_IN_USE'
  /** `force-leave NAME`: NAME is linked (it is not gone). */
  | 'NODE_LINKED'
  /** `force-leave NAME`: no such node. */
  | 'UNKNOWN_NODE'
  /** `connect` / `join`: the kernel gave no answer within setup_time (and a margin). */
  | 'CONNECT_TIMEOUT'
  // 71
  | 'CONTROL_BIND'
  | 'ADDRESS_UNAVAILABLE'
  // 70
  | 'KERNEL_MISSING'
  | 'INTERNAL';

const EXIT_OF: Readonly<Record<DaemonErrorCode, number>> = {
  BAD_FLAG: EXIT.CONFIG,
  CONFIG_NOT_FOUND: EXIT.CONFIG,
  CONFIG_SYNTAX: EXIT.CONFIG,
  CONFIG_INVALID: EXIT.CONFIG,
  CONFIG_FILE: EXIT.CONFIG,
  KEY_PERMISSIONS: EXIT.NOPERM,
  KEY_MALFORMED: EXIT.DATAERR,
  TRUST_FILE: EXIT.DATAERR,
  STATE_CORRUPT: EXIT.DATAERR,
  STATE_LOCKED: EXIT.CANTCREAT,
  KEY_EXISTS: EXIT.CANTCREAT,
  STATE_IO: EXIT.IOERR,
  CONTROL_UNREACHABLE: EXIT.UNAVAILABLE,
  DAEMON_NOT_RUNNING: EXIT.UNAVAILABLE,
  CONTROL_REFUSED: EXIT.REFUSED,
  SECRET_UNKNOWN: EXIT.REFUSED,
  SECRET_IN_USE: EXIT.REFUSED,
  NODE_LINKED: EXIT.REFUSED,
  UNKNOWN_NODE: EXIT.REFUSED,
  CONNECT_TIMEOUT: EXIT.REFUSED,
  CONTROL_BIND: EXIT.OSERR,
  ADDRESS_UNAVAILABLE: EXIT.OSERR,
  KERNEL_MISSING: EXIT.SOFTWARE,
  INTERNAL: EXIT.SOFTWARE,
};

/** Every error distkitd reports on purpose; `exitCode` is what the process exits with. */
export class DaemonError extends DistkitError {
  static override readonly name: string = 'DaemonError';
  override readonly name: string = 'DaemonError';
  declare readonly code: DaemonErrorCode;

  constructor(code: DaemonErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  get exitCode(): number {
    return exitCodeOf(this.code);
  }
}

export function exitCodeOf(code: DaemonErrorCode): number {
  return EXIT_OF[code];
}

/** True when `err` is a DaemonError, even one from another copy of this package. */
export function isDaemonError(err: unknown): err is DaemonError {
  return err instanceof Error && err.name === 'DaemonError' && typeof (err as DaemonError).code === 'string';
}
