// The watchdog's thread (see watchdog.ts). It shares one SharedArrayBuffer with the bench: the
// current step's name, when it started and its budget, and the suite's deadline. It runs beside a
// main thread that may be blocked for good (a native call that never returns, as Node 20's keygen
// deadlock was), so it never asks that thread for anything: it writes to stderr with a synchronous
// write and kills the process itself.
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const { buffer, suite } = workerData;
const nums = new Float64Array(buffer, 0, 4); // [step started, step budget, suite deadline, suite started]
const meta = new Int32Array(buffer, 32, 2); // [name length, done]
const name = new Uint8Array(buffer, 40);
const decoder = new TextDecoder();

for (;;) {
  // Sleeps 100 ms at a time; wakes early when the bench says it is done.
  Atomics.wait(meta, 1, 0, 100);
  if (Atomics.load(meta, 1) !== 0) break;
  const now = Date.now();
  const [stepStarted, stepBudget, suiteDeadline, suiteStarted] = nums;
  const stepLate = now - stepStarted > stepBudget;
  if (!stepLate && now <= suiteDeadline) continue;
  const step = decoder.decode(name.slice(0, Atomics.load(meta, 0)));
  const why = stepLate
    ? `step "${step}" has run ${((now - stepStarted) / 1000).toFixed(1)} s, over its ${(stepBudget / 1000).toFixed(1)} s budget`
    : `the suite has run ${((now - suiteStarted) / 1000).toFixed(1)} s, over its limit (during step "${step}")`;
  writeSync(2, `\nbench ${suite}: WATCHDOG: ${why}; killing the process (SIGTERM) instead of hanging\n`);
  // process.exit() here would only end this thread, and the main thread may be stuck in native
  // code where no JavaScript of ours runs again: a signal ends the process (exit status 143).
  process.kill(process.pid, 'SIGTERM');
  // SIGTERM has no handler in a bench, so the process ends; if one was installed, insist.
  Atomics.wait(meta, 1, 0, 2000);
  process.kill(process.pid, 'SIGKILL');
}
