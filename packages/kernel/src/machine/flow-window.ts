// Flow control of a link's user data. The reader acknowledges the record bytes it has read (an
// `ack` control frame every ACK_BYTES); the writer sends user data only while what is not yet
// acknowledged stays under a window. Without one, a large message fills the sockets' kernel
// buffers (megabytes on loopback) and a small message on another channel, though scheduled first,
// still reaches the reader only after all of it: the window bounds that wait to about
// window / reader speed. It also bounds throughput to window / round trip, so a long fat path
// wants a larger one (NodeOptions.flowWindowBytes).
//
// A window that follows the path (BBR-style bandwidth x round-trip estimates) was tried and left
// out: when reader and writer share one event loop, the round trip grows with what is in flight,
// and any gain above one drives the window to its cap.

import { MAX_RECORD_BYTES } from '@distkit/wire';

/**
 * The default window: under a millisecond of a local link at full speed. Measured in the kernel
 * benchmark's 16 MiB transfer with 100-byte pings on another channel (paired runs, this repo's
 * 2-core machine): 512 KiB gave a ping p50 of 1.0-1.2 ms and p99 of 6.6-9.2 ms, 384 KiB 0.26-0.34
 * and 5.2-5.3 ms, 320 KiB 0.33-0.38 and 5.1-5.7 ms, with 64 KiB messages as fast as at 512 KiB.
 * `npm run bench:window -w @distkit/kernel` reruns the comparison (bench/window.bench.ts).
 */
export const DEFAULT_WINDOW_BYTES: number = 384 * 1024;
/** The reader acknowledges at least this often. */
export const ACK_BYTES: number = 128 * 1024;

/**
 * The least a writer keeps in flight whatever its window: the reader acknowledges only once it has
 * read ACK_BYTES, so a window below that (plus the record that crosses it) would wait for an ack
 * that never comes.
 */
const LEAST_IN_FLIGHT: number = ACK_BYTES + MAX_RECORD_BYTES;

export class FlowWindow {
  readonly size: number;
  /** The window in effect: `size`, or LEAST_IN_FLIGHT if that is more. */
  readonly effective: number;
  #written = 0;
  #acked = 0;

  constructor(size: number = DEFAULT_WINDOW_BYTES) {
    this.size = size;
    this.effective = Math.max(size, LEAST_IN_FLIGHT);
  }

  /** Record bytes written and not acknowledged. */
  get inFlight(): number {
    return this.#written - this.#acked;
  }

  get written(): number {
    return this.#written;
  }

  /** User data may go. */
  get open(): boolean {
    return this.#written - this.#acked < this.effective;
  }

  /** `bytes` of records went out. */
  wrote(bytes: number): void {
    this.#written += bytes;
  }

  /** The peer has read `bytes` in all. False when that is impossible (backwards, or more than was written). */
  acked(bytes: number): boolean {
    if (bytes < this.#acked || bytes > this.#written) return false;
    this.#acked = bytes;
    return true;
  }
}
