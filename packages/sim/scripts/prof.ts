import { scale } from '../src/index.ts';
const t = performance.now();
console.log(await scale({ n: 200, seed: 1, duration: 60_000 }), performance.now() - t);
