// What the node machine asks its shell to do. The shell drains these after every input, in order,
// and is the only code that touches sockets, timers or promises.
import type { Address } from '@distkit/wire';
import type { IncomingMessage, KernelEvent } from '../api.ts';
import type { KernelError } from '../errors.ts';

export type Output =
  /** Open a stream to `address`; report `dialed` or `dialFailed` with the same `conn`. */
  | { readonly type: 'dial'; readonly conn: number; readonly address: Address; readonly timeoutMs: number }
  /** Bytes for the stream `conn`, in order. */
  | { readonly type: 'write'; readonly conn: number; readonly data: readonly Uint8Array[] }
  /** Close the stream `conn`: `graceful` after pending writes, else at once. */
  | { readonly type: 'end'; readonly conn: number; readonly graceful: boolean }
  | { readonly type: 'datagram'; readonly data: Uint8Array; readonly to: Address }
  | { readonly type: 'event'; readonly event: KernelEvent }
  | { readonly type: 'message'; readonly message: IncomingMessage }
  /** The API call holding `token` is done: resolve it with `value`, or reject it with `error`. */
  | { readonly type: 'settle'; readonly token: number; readonly error: KernelError | null; readonly value?: unknown }
  /** Wait for `promise` (a trust store persisting a key), then call `resumed(token)`. */
  | { readonly type: 'await'; readonly token: number; readonly promise: Promise<unknown> };
