// Runs every scenario against both systems and compares them row by row, for the differential
// test (otp-differential.node.test.ts). Scenarios run in parallel, a few at a time, each on a
// system of its own (own epmd, cookie and ports; own keys, cluster secret and ports).
import type { System } from './controlled-node.test-support.ts';
import type { Observation, Scenario } from './otp-scenarios.test-support.ts';

export interface Run {
  readonly observations: readonly Observation[];
  /** A failure of the scenario itself (a process died, a command was refused), if any. */
  readonly error?: string;
  readonly version: string;
  readonly ms: number;
  /** System.notes(): events beyond OTP's vocabulary, shown, never compared. */
  readonly notes: readonly string[];
}

export interface RowResult {
  readonly scenario: Scenario;
  readonly otp: Run;
  readonly distkit: Run;
}

/** A documented difference: a value distkit reports under another name than OTP, and why. */
export interface NameMapping {
  readonly kind: 'reason';
  readonly distkit: string;
  readonly otp: string;
  readonly why: string;
}

export interface StepComparison {
  readonly step: string;
  readonly otp: string;
  readonly distkit: string;
  readonly agree: boolean;
  /** The mapping that made the two agree, if one did. */
  readonly mapped?: NameMapping;
}

export async function runScenario(scenario: Scenario, create: () => Promise<System>): Promise<Run> {
  const t0 = performance.now();
  const observations: Observation[] = [];
  let system: System | null = null;
  let error: string | undefined;
  let notes: string[] = [];
  try {
    system = await create();
    await scenario.run(system, (o) => observations.push(o));
  } catch (err) {
    error = (err as Error).message;
  } finally {
    notes = system?.notes() ?? [];
    await system?.close();
  }
  return { observations, ...(error !== undefined ? { error } : {}), version: system?.version ?? '?', ms: performance.now() - t0, notes };
}

/** Runs `jobs` with at most `limit` at a time; results in the jobs' order. */
export async function pool<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

export function compareSteps(row: RowResult, mappings: readonly NameMapping[]): StepComparison[] {
  const { otp, distkit } = row;
  const n = Math.max(otp.observations.length, distkit.observations.length);
  const out: StepComparison[] = [];
  for (let i = 0; i < n; i++) {
    const o = otp.observations[i];
    const d = distkit.observations[i];
    const step = o?.step ?? d?.step ?? '?';
    if (!o || !d || o.step !== d.step) {
      out.push({ step, otp: o ? `${o.step}: ${shown(o)}` : '(no step)', distkit: d ? `${d.step}: ${shown(d)}` : '(no step)', agree: false });
      continue;
    }
    if (o.value === d.value) {
      out.push({ step, otp: shown(o), distkit: shown(d), agree: true });
      continue;
    }
    const mapped = d.kind === 'reason' ? mappings.find((m) => m.kind === 'reason' && m.distkit === d.value && m.otp === o.value) : undefined;
    out.push({ step, otp: shown(o), distkit: shown(d), agree: mapped !== undefined, ...(mapped ? { mapped } : {}) });
  }
  if (otp.error) out.push({ step: 'error', otp: otp.error, distkit: distkit.error ?? '', agree: false });
  if (distkit.error) out.push({ step: 'error', otp: otp.error ?? '', distkit: distkit.error, agree: false });
  return out;
}

const shown = (o: Observation): string => o.shown ?? o.value;

export function rowAgrees(steps: readonly StepComparison[]): boolean {
  return steps.length > 0 && steps.every((s) => s.agree);
}

/** `a: send to b → ok; a: disconnect b → true; ...` */
export function summary(run: Run): string {
  const parts = run.observations.map((o) => `${o.step} → ${shown(o)}`);
  if (run.error) parts.push(`ERROR: ${firstLine(run.error)}`);
  const text = parts.join('; ');
  return run.notes.length > 0 ? `${text} [also reported: ${run.notes.join('; ')}]` : text;
}

const firstLine = (s: string): string => s.split('\n')[0]!;
const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The whole comparison as a markdown table: row, OTP result, distkit result, agree?. */
export function comparisonTable(rows: readonly RowResult[], mappings: readonly NameMapping[]): string {
  const version = rows.find((r) => r.otp.version !== '?')?.otp.version ?? 'OTP';
  const lines = [`| # | row | ${version} | distkit | agree? |`, '|---|---|---|---|---|'];
  rows.forEach((r, i) => {
    const steps = compareSteps(r, mappings);
    const used = [...new Set(steps.flatMap((s) => (s.mapped ? [`${s.mapped.distkit} = ${s.mapped.otp}`] : [])))];
    const agree = rowAgrees(steps) ? (used.length ? `yes (mapped: ${used.join(', ')})` : 'yes') : 'NO';
    lines.push(`| ${i + 1} | ${cell(r.scenario.row)} | ${cell(summary(r.otp))} | ${cell(summary(r.distkit))} | ${agree} |`);
  });
  return lines.join('\n');
}

/** Step-by-step detail of the rows that disagree: what the kernel must change. */
export function differences(rows: readonly RowResult[], mappings: readonly NameMapping[]): string {
  const out: string[] = [];
  rows.forEach((r, i) => {
    const steps = compareSteps(r, mappings);
    if (rowAgrees(steps)) return;
    out.push(`#${i + 1} ${r.scenario.row}`);
    for (const s of steps) {
      if (!s.agree) out.push(`    ✗ ${s.step}: OTP ${firstLine(s.otp)} | distkit ${firstLine(s.distkit)}`);
    }
  });
  return out.join('\n');
}

/** The OTP column alone, for docs/otp-semantics.md (the reference as measured). */
export function otpTable(rows: readonly RowResult[]): string {
  const version = rows.find((r) => r.otp.version !== '?')?.otp.version ?? 'OTP';
  const lines = [`| row | ${version}, as measured |`, '|---|---|'];
  for (const r of rows) lines.push(`| ${cell(r.scenario.row)} | ${cell(summary(r.otp))} |`);
  return lines.join('\n');
}
