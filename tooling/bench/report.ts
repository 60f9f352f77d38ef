// Shared by every benchmark: measuring (medians of repeated samples, because these machines are
// shared and noisy) and writing `bench/results/<suite>.json` in the one format every suite uses.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWatchdog, type Watchdog } from './watchdog.ts';

/** What bounds a suite when it names no steps of its own: 15 minutes (BENCH_TIMEOUT_MS). */
const SUITE_MS = Number(process.env['BENCH_TIMEOUT_MS'] ?? 15 * 60_000);
let dog: Watchdog | undefined;

/**
 * The suite's watchdog (tooling/bench/watchdog.ts), started on first use: a suite names its steps
 * with `benchWatchdog().step(name, budgetMs)`; a hang prints the step and exits non-zero.
 */
export function benchWatchdog(): Watchdog {
  dog ??= startWatchdog(basename(process.argv[1] ?? 'bench'), { suiteMs: SUITE_MS, stepMs: SUITE_MS });
  return dog;
}

// Every suite `npm run bench` runs imports this file: each is bounded, steps named or not.
if (process.env['npm_lifecycle_event'] === 'bench') benchWatchdog();

export interface Result {
  name: string;
  value: number;
  unit: string;
}
export interface Target {
  name: string;
  value: number;
  op: '>=' | '<=';
  target: number;
  met: boolean;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Operations per second of `fn` (which performs `opsPerCall` operations): the median of `samples`
 * samples of at least `sampleMs` each, after a warm-up.
 */
export function opsPerSecond(fn: () => void, { samples = 7, sampleMs = 200, opsPerCall = 1 } = {}): number {
  const until = performance.now() + sampleMs;
  while (performance.now() < until) fn();
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) {
    let calls = 0;
    const start = performance.now();
    let now = start;
    while (now - start < sampleMs) {
      fn();
      calls++;
      if ((calls & 7) === 0 || sampleMs > 1000) now = performance.now();
    }
    now = performance.now();
    rates.push((calls * opsPerCall * 1000) / (now - start));
  }
  return median(rates);
}

/** Async variant: `fn` is awaited in sequence. */
export async function opsPerSecondAsync(fn: () => Promise<void>, { samples = 5, sampleMs = 300, opsPerCall = 1 } = {}): Promise<number> {
  const until = performance.now() + sampleMs;
  while (performance.now() < until) await fn();
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) {
    let calls = 0;
    const start = performance.now();
    while (performance.now() - start < sampleMs) {
      await fn();
      calls++;
    }
    rates.push((calls * opsPerCall * 1000) / (performance.now() - start));
  }
  return median(rates);
}

export function target(name: string, value: number, op: '>=' | '<=', goal: number): Target {
  return { name, value, op, target: goal, met: op === '>=' ? value >= goal : value <= goal };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toPrecision(3);
}

/** Prints the human table and writes `bench/results/<suite>.json`. Returns the file path. */
export function writeResults(suite: string, results: Result[], targets: Target[]): string {
  const runtime = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? 'deno' : 'node';
  const report = {
    suite,
    runtime,
    node: (globalThis as { process?: { version?: string } }).process?.version ?? null,
    date: new Date().toISOString(),
    results,
    targets,
  };
  console.log(`\n${suite} (${runtime} ${report.node ?? ''})`);
  const w = Math.max(...results.map((r) => r.name.length), 10);
  for (const r of results) console.log(`  ${r.name.padEnd(w)}  ${fmt(r.value).padStart(14)} ${r.unit}`);
  if (targets.length) console.log('  targets:');
  for (const t of targets) {
    console.log(`  ${t.met ? 'MET ' : 'MISS'} ${t.name}: ${fmt(t.value)} ${t.op} ${t.target}`);
  }
  const file = join(repoRoot, 'bench', 'results', `${suite}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`  -> ${file}`);
  dog?.done();
  return file;
}
