// The kernel link benchmark alone, for any runtime: two kernels in one process, one link, 64 KiB
// and 128-byte messages. kernel.bench.ts runs it as a child under Node and under Deno, in turns,
// and reports Deno's figures as a ratio to Node's. Prints one JSON line:
// { runtime, mbps64k, msgs128 }.
//   node --import tsx packages/kernel/bench/link.bench.ts
//   node_modules/.bin/deno run -A packages/kernel/bench/link.bench.ts
import { kernelPair, median, throughput } from './link-pair.ts';

const ROUNDS = Number((globalThis as { process?: { env?: Record<string, string> } }).process?.env?.['LINK_BENCH_ROUNDS'] ?? 5);
const k = await kernelPair();
await throughput(k.pipe, 64 * 1024, 32, 300, true);
await throughput(k.pipe, 128, 256, 300, true);
const big: number[] = [];
const small: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  big.push(await throughput(k.pipe, 64 * 1024, 32, 400, true));
  small.push(await throughput(k.pipe, 128, 256, 300, true));
}
await k.stop();
const runtime = 'Deno' in globalThis ? 'deno' : 'node';
console.log(JSON.stringify({ runtime, mbps64k: (median(big) * 64 * 1024) / 1e6, msgs128: median(small) }));
// Deno keeps the process alive for the message loop's pending iterator; end it here on both.
(globalThis as { process?: { exit(code: number): void } }).process?.exit(0);
