// Every benchmark suite is time-bounded: a watchdog on its own thread knows which step the suite is
// in, and when a step overruns its budget (or the whole suite its limit) it prints the step's name
// and ends the process with a non-zero status instead of letting `npm run bench` hang. It lives on
// a worker thread because the hangs worth catching block the main thread itself (a native call
// that never returns, a promise nobody settles while sockets keep the loop alive).
//
//   const dog = startWatchdog('kernel', { suiteMs: 10 * 60_000 });
//   dog.step('64 KiB throughput', 120_000);
//   ...
//   dog.done();
import { Worker } from 'node:worker_threads';

export interface Watchdog {
  /** Enters a step: its name is what the watchdog prints if the step does not end in `budgetMs`. */
  step(name: string, budgetMs?: number): void;
  /** The suite finished: the watchdog stops (it never keeps the process alive anyway). */
  done(): void;
}

const NAME_BYTES = 256;

export function startWatchdog(suite: string, options: { suiteMs: number; stepMs?: number }): Watchdog {
  const defaultStep = options.stepMs ?? 120_000;
  const buffer = new SharedArrayBuffer(40 + NAME_BYTES);
  const nums = new Float64Array(buffer, 0, 4);
  const meta = new Int32Array(buffer, 32, 2);
  const name = new Uint8Array(buffer, 40);
  const encoder = new TextEncoder();
  const started = Date.now();
  nums[2] = started + options.suiteMs;
  nums[3] = started;
  const step = (label: string, budgetMs = defaultStep): void => {
    const bytes = encoder.encode(label).subarray(0, NAME_BYTES);
    name.set(bytes);
    Atomics.store(meta, 0, bytes.length);
    nums[0] = Date.now();
    nums[1] = budgetMs;
  };
  step('start');
  // Plain JavaScript with no loader: the bench's own flags (--import tsx, -e) are not for it.
  const worker = new Worker(new URL('./watchdog-worker.mjs', import.meta.url), { workerData: { buffer, suite }, execArgv: [] });
  // Never the reason the process stays up: a finished bench exits on its own.
  worker.unref();
  return {
    step,
    done(): void {
      Atomics.store(meta, 1, 1);
      Atomics.notify(meta, 1);
      void worker.terminate();
    },
  };
}
