import { kernelPair, percentile, median, pingsBehindBulk, throughput } from './link-pair.ts';
const variants = process.argv.slice(2).map(Number);
const pairs = await Promise.all(variants.map((w) => kernelPair({ flowWindowBytes: w })));
const lat: number[][] = variants.map(() => []), tp: number[][] = variants.map(() => []), sm: number[][] = variants.map(() => []);
for (let r = 0; r < 6; r++) for (const [i, k] of pairs.entries()) {
  tp[i]!.push(await throughput(k.pipe, 65536, 32, 400, true) * 65536 / 1e6);
  if (process.env.LAT) { const d = await pingsBehindBulk(k, 1); lat[i]!.push(...d.latencies); }
}
for (const [i, v] of variants.entries()) console.log(v, '64K MB/s', median(tp[i]!).toFixed(0), process.env.LAT ? `p50 ${percentile(lat[i]!, 50).toFixed(2)} p99 ${percentile(lat[i]!, 99).toFixed(2)} n ${lat[i]!.length}` : '');
process.exit(0);
