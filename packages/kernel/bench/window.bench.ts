// The flow window's trade-off, in interleaved rounds: for each window, the 100-byte pings' p50 and
// p99 while a 16 MiB message goes on the default channel (as in kernel.bench.ts), and 64 KiB
// throughput. How DEFAULT_WINDOW_BYTES (src/machine/flow-window.ts) was chosen; rerun it when the
// data path changes. `npm run bench:window -w @distkit/kernel` (about a minute, time-bounded).
import { benchWatchdog, writeResults, type Result } from '../../../tooling/bench/report.ts';
import { kernelPair, median, percentile, pingsBehindBulk, throughput } from './link-pair.ts';

const WINDOWS = [512 * 1024, 384 * 1024, 320 * 1024];
const ROUNDS = 4;
const dog = benchWatchdog();
dog.step('setup: one kernel pair per window', 60_000);
const pairs = await Promise.all(WINDOWS.map((w) => kernelPair({ flowWindowBytes: w })));
const pings = WINDOWS.map(() => [] as number[]);
const mbps = WINDOWS.map(() => [] as number[]);
dog.step('rounds: pings behind 16 MiB and 64 KiB throughput, each window in turn', 240_000);
for (const p of pairs) await pingsBehindBulk(p, 1); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < WINDOWS.length; i++) {
    const k = pairs[i]!;
    (globalThis as { gc?: () => void }).gc?.();
    pings[i]!.push(...(await pingsBehindBulk(k, 3)).latencies);
    mbps[i]!.push((await throughput(k.pipe, 64 * 1024, 32, 400, true)) * 64 * 1024 / 1e6);
  }
}
dog.step('stopping', 10_000);
for (const p of pairs) await p.stop();
// The anchor is the first window (the default before 384 KiB), measured in the same rounds.
const results: Result[] = [];
for (let i = 0; i < WINDOWS.length; i++) {
  const kib = WINDOWS[i]! / 1024;
  const xs = pings[i]!;
  results.push(
    { name: `${kib} KiB window: 100 B behind 16 MiB, p50 (${xs.length} pings)`, value: percentile(xs, 50), unit: 'ms' },
    { name: `${kib} KiB window: 100 B behind 16 MiB, p99 (${xs.filter((x) => x > 5).length} pings over 5 ms)`, value: percentile(xs, 99), unit: 'ms' },
    { name: `${kib} KiB window: 64 KiB messages (median of rounds)`, value: median(mbps[i]!), unit: 'MB/s' },
  );
  if (i > 0) {
    results.push(
      { name: `${kib} KiB / ${WINDOWS[0]! / 1024} KiB: 100 B p99`, value: percentile(xs, 99) / percentile(pings[0]!, 99), unit: 'ratio' },
      { name: `${kib} KiB / ${WINDOWS[0]! / 1024} KiB: 64 KiB throughput (median of per-round ratios)`, value: median(mbps[i]!.map((m, r) => m / mbps[0]![r]!)), unit: 'ratio' },
    );
  }
}
writeResults('kernel-window', results, []);
process.exit(0);
