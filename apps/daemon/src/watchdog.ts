// The liveness watchdog. A daemon whose main thread is wedged (a deadlock inside native code, as
// issue 17 saw in key generation, or a runaway loop) stays alive and answers nothing, so its
// supervisor never restarts it. The main thread bumps a counter in a SharedArrayBuffer every
// BEAT_MS; a worker thread, which keeps running when the main thread is stuck, checks the counter
// and, when it has not moved for `timeoutMs`, writes why on stderr and sends the process SIGABRT
// (as systemd's WatchdogSec= does: no exit code can be run by a wedged thread, and the core, where
// enabled, shows where it hung). The worker sleeps in Atomics.wait, so it needs no event loop of
// its own and costs nothing between checks.
//
// The same beats measure the event loop's lag (how late the timer fired), reported by /healthz.
import { Worker } from 'node:worker_threads';
import { WATCHDOG_SIGNAL } from './exit-codes.ts';

/** How often the main thread beats; also the lag measurement's resolution. */
const BEAT_MS = 250;
/** /healthz reports the worst lag seen over the last one to two windows. */
const LAG_WINDOW_MS = 10_000;

const BEAT = 0;
const STOP = 1;

/** Measures the main thread's event-loop lag from a timer that should fire every BEAT_MS. */
export class LoopLag {
  readonly #buffer = new SharedArrayBuffer(8);
  readonly #view = new Int32Array(this.#buffer);
  #timer: NodeJS.Timeout | null = null;
  #last = 0;
  #windowStart = 0;
  #windowMax = 0;
  #previousMax = 0;
  #current = 0;

  /** The counter the watchdog worker watches. */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  start(now: () => number = () => performance.now()): this {
    this.#last = now();
    this.#windowStart = this.#last;
    this.#timer = setInterval(() => {
      const t = now();
      this.#current = Math.max(0, t - this.#last - BEAT_MS);
      this.#last = t;
      if (t - this.#windowStart >= LAG_WINDOW_MS) {
        this.#previousMax = this.#windowMax;
        this.#windowMax = 0;
        this.#windowStart = t;
      }
      this.#windowMax = Math.max(this.#windowMax, this.#current);
      Atomics.add(this.#view, BEAT, 1);
    }, BEAT_MS);
    this.#timer.unref();
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** For /healthz: the last lag and the worst over the last 10 to 20 s, in ms. */
  health(): { loopLagMs: number; loopLagMaxMs: number } {
    return { loopLagMs: Math.round(this.#current), loopLagMaxMs: Math.round(Math.max(this.#windowMax, this.#previousMax)) };
  }
}

export interface WatchdogOptions {
  /** A main thread silent this long is stalled (ms). */
  readonly timeoutMs: number;
  /** How the limit is named in the message (the config key). */
  readonly setting: string;
}

/** The worker's code (plain CommonJS: it runs with `eval`, so the bundle needs no second entry). */
const WORKER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const view = new Int32Array(workerData.buffer);
const { timeoutMs, checkMs, setting, signal } = workerData;
let beat = Atomics.load(view, ${BEAT});
let movedAt = performance.now();
let checkedAt = movedAt;
for (;;) {
  Atomics.wait(view, ${STOP}, 0, checkMs);
  if (Atomics.load(view, ${STOP}) !== 0) break;
  const now = performance.now();
  // The worker itself was held up (the whole process stopped, e.g. SIGSTOP): not a stall of
  // the main thread alone, so start counting again.
  if (now - checkedAt > checkMs * 4 + 1000) movedAt = now;
  checkedAt = now;
  const current = Atomics.load(view, ${BEAT});
  if (current !== beat) {
    beat = current;
    movedAt = now;
    continue;
  }
  if (now - movedAt >= timeoutMs) {
    const seconds = ((now - movedAt) / 1000).toFixed(1);
    writeSync(2, 'distkitd: watchdog: the main thread has not run for ' + seconds + ' s (' + setting + ' = ' + timeoutMs + ' ms): ' +
      'the event loop is stalled (a deadlock or a busy loop); aborting (' + signal + ') so the supervisor restarts distkitd\\n');
    process.kill(process.pid, signal);
    break;
  }
}
`;

export interface Watchdog {
  stop(): Promise<void>;
}

/** Starts the worker that watches `lag`'s beats. */
export function startWatchdog(lag: LoopLag, options: WatchdogOptions): Watchdog {
  const view = new Int32Array(lag.buffer);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { buffer: lag.buffer, timeoutMs: options.timeoutMs, checkMs: Math.min(1000, Math.max(50, options.timeoutMs / 10)), setting: options.setting, signal: WATCHDOG_SIGNAL },
    // Nothing of the daemon's environment or stdin is needed in there.
    env: {},
    stdin: false,
  });
  worker.unref();
  return {
    async stop() {
      Atomics.store(view, STOP, 1);
      Atomics.notify(view, STOP);
      await worker.terminate();
    },
  };
}
