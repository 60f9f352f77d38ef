import { DistkitError } from '@distkit/wire';

export type KernelErrorCode =
  | 'BAD_OPTION'
  | 'NOT_STARTED'
  | 'ALREADY_STARTED'
  | 'STOPPED'
  | 'LISTEN_FAILED'
  | 'CONNECT_FAILED'
  /** allow/deny (or a limit) of the connection policy forbids this link. */
  | 'REFUSED'
  | 'NOT_CONNECTED'
  | 'AUTO_CONNECT_REFUSED'
  | 'UNKNOWN_NODE'
  | 'SETUP_FAILED'
  | 'SEND_FAILED'
  /** A channel name that is not a string of 1 to 64 UTF-8 bytes. */
  | 'BAD_CHANNEL'
  /** A link carries at most 253 named channels in each direction. */
  | 'TOO_MANY_CHANNELS';

/** Every error the kernel throws or rejects with on purpose. */
export class KernelError extends DistkitError {
  static override readonly name: string = 'KernelError';
  override readonly name: string = 'KernelError';
  declare readonly code: KernelErrorCode;

  constructor(code: KernelErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
