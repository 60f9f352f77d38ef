// How the release rehearsal reports: each step's title and time, each command it runs with its
// time, and on a failure the step, the package concerned and the exact command (with its folder,
// exit status and the end of its output), so a red CI log says what broke without a re-run.
import { spawn } from 'node:child_process';

const secs = (ms) => (ms / 1000).toFixed(1);
const tail = (text, n = 40) => text.trim().split('\n').slice(-n).join('\n');

/** A command the rehearsal ran failed. `pkg` is the package it concerns (null when none is named). */
export class CommandFailed extends Error {
  static name = 'CommandFailed';
  name = 'CommandFailed';
  code = 'COMMAND_FAILED';
  constructor({ pkg, command, cwd, status, output, why }) {
    super(`${pkg ?? '(no package named in the output)'}: \`${command}\` ${why ?? `failed (exit ${status})`}, in ${cwd}`);
    Object.assign(this, { pkg, command, cwd, status, output });
  }
}

/** A check on what a command produced failed (the command itself succeeded). */
export class CheckFailed extends Error {
  static name = 'CheckFailed';
  name = 'CheckFailed';
  code = 'CHECK_FAILED';
  constructor(problems, { command = null, output = '' } = {}) {
    super(problems.join('\n'));
    Object.assign(this, { problems, command, output });
  }
}

/**
 * The candidates named on lines of `output` that report a failure, in order of appearance; if
 * no such line names one, those named in the last lines (where a failing tool stops).
 */
export function packagesBlamed(output, candidates) {
  // A whole name: @t/wire must not be blamed for a line about @t/wire-format.
  const named = (line) => candidates.filter((c) => new RegExp(`${c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?![\\w-])`).test(line));
  const blamed = new Set();
  const lines = output.trimEnd().split('\n');
  let failedList = false;
  for (const line of lines) {
    // changesets prints "packages failed to publish:" and then one package per line.
    if (/packages failed to publish/i.test(line)) failedList = true;
    if (failedList || /error|fail|refusing|cannot|✗/i.test(line)) for (const c of named(line)) blamed.add(c);
  }
  if (blamed.size === 0) for (const line of lines.slice(-10)) for (const c of named(line)) blamed.add(c);
  return [...blamed];
}

/**
 * Runs a command; resolves with { stdout, out } when it exits 0, else rejects with
 * CommandFailed. `pkg` names the package concerned, or `blame` lists candidates to find in the
 * output of a command that covers several. Logs `$ command (time)`.
 */
export function run(cmd, args, { cwd, env, pkg = null, blame = [], log = console.log, timeoutMs = 600_000, show = `${cmd} ${args.join(' ')}` }) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let out = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      out += d;
    });
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const fail = (status, why) => {
      log(`  ✗ $ ${show} (${secs(performance.now() - t0)} s)`);
      const named = pkg ?? packagesBlamed(out, blame).join(', ');
      reject(new CommandFailed({ pkg: named || null, command: show, cwd, status, output: out, why }));
    };
    child.on('error', (err) => {
      clearTimeout(timer);
      out += err.message;
      fail(-1, `could not start (${err.message})`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        log(`  $ ${show} (${secs(performance.now() - t0)} s)`);
        resolve({ stdout, out });
      } else {
        fail(code ?? signal, signal === 'SIGKILL' && performance.now() - t0 >= timeoutMs ? `timed out after ${secs(timeoutMs)} s` : undefined);
      }
    });
  });
}

/** Numbered steps with their times; `summary()` is the closing table. */
export function createReport(log = console.log) {
  const done = [];
  const started = performance.now();
  return {
    log,
    async step(title, fn) {
      const n = done.length + 1;
      log(`\n── ${n}. ${title}`);
      const t0 = performance.now();
      try {
        const result = await fn();
        done.push({ n, title, ms: performance.now() - t0, ok: true });
        log(`✓ ${n}. ${title} (${secs(performance.now() - t0)} s)`);
        return result;
      } catch (err) {
        done.push({ n, title, ms: performance.now() - t0, ok: false });
        log(`✗ ${n}. ${title} failed after ${secs(performance.now() - t0)} s`);
        err.step = `${n}. ${title}`;
        throw err;
      }
    },
    /** What failed and where, for the end of the log. */
    describe(err) {
      const lines = [`✗ release rehearsal failed at step ${err.step ?? '(setup)'}`];
      if (err instanceof CommandFailed) {
        lines.push(`  package: ${err.pkg ?? '(none named in the output; see below)'}`, `  command: ${err.command}`, `  in:      ${err.cwd}`, `  exit:    ${err.status}`);
        if (err.output.trim()) lines.push('  output (end):', ...tail(err.output).split('\n').map((l) => `    ${l}`));
      } else if (err instanceof CheckFailed) {
        lines.push(...err.problems.map((p) => `  - ${p}`));
        if (err.command) lines.push(`  after: ${err.command}`);
        if (err.output.trim()) lines.push('  output (end):', ...tail(err.output).split('\n').map((l) => `    ${l}`));
      } else {
        lines.push(`  ${err.stack ?? err}`);
      }
      return lines.join('\n');
    },
    summary() {
      const width = Math.max(...done.map((d) => `${d.n}. ${d.title}`.length));
      const rows = done.map((d) => `  ${d.ok ? '✓' : '✗'} ${`${d.n}. ${d.title}`.padEnd(width)}  ${secs(d.ms).padStart(6)} s`);
      return [...rows, `  total ${secs(performance.now() - started)} s`].join('\n');
    },
  };
}
