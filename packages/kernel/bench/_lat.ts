import { kernelPair, percentile, median, pingsBehindBulk } from './link-pair.ts';
const k = await kernelPair();
await pingsBehindBulk(k, 1);
const d = await pingsBehindBulk(k, 6);
console.log('pings', d.latencies.length, 'p50', percentile(d.latencies, 50).toFixed(2), 'p99', percentile(d.latencies, 99).toFixed(2), 'max', Math.max(...d.latencies).toFixed(2), 'bulk ms', d.bulkMs.map((x) => x.toFixed(0)).join(' '));
await k.stop(); process.exit(0);
