// Child processes for the cross-runtime tests: stdout read as JSON lines, conditions waited for
// with a deadline (never a fixed sleep), and a kill that always runs in `finally`.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT: string = fileURLToPath(new URL('../../../', import.meta.url));
export const DENO: string = `${ROOT}node_modules/.bin/deno`;
export const CLIENT_SOURCE: string = fileURLToPath(new URL('./main.ts', import.meta.url));
export const CLIENT_BUILT: string = fileURLToPath(new URL('../dist/main.js', import.meta.url));
export const DISTKITD: string = `${ROOT}apps/daemon/bin/distkitd.js`;
/** What the client needs under Deno; nothing more (no --allow-run, no --allow-all). */
export const DENO_PERMISSIONS: readonly string[] = ['--allow-net', '--allow-read', '--allow-write', '--allow-env', '--allow-sys'];
export const ENV: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };

export type Line = Record<string, unknown>;

export interface Proc {
  readonly child: ChildProcess;
  readonly lines: Line[];
  stderr(): string;
  /**
   * Resolves with the first stdout line (already seen or still to come) matching; rejects past
   * `ms` or when the process exits first. Re-checked on every stdout or stderr chunk.
   */
  waitFor(what: string, match: (line: Line) => boolean, ms?: number): Promise<Line>;
  /** Resolves once stderr matches `pattern`; same deadline rules as `waitFor`. */
  waitForStderr(what: string, pattern: RegExp, ms?: number): Promise<void>;
  readonly exited: Promise<number | null>;
  /** SIGKILL if still running (for `finally`). */
  kill(): void;
}

export function start(command: string, args: readonly string[], cwd: string = ROOT, env: Record<string, string> = {}): Proc {
  const child = spawn(command, args, { cwd, env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  let err = '';
  let buffer = '';
  let done = false;
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(text) as Line);
      } catch {
        lines.push({ text });
      }
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    for (const w of waiters) w(); // a condition may be about stderr
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    done = true;
    for (const w of waiters) w();
    resolve(code);
  }));
  const until = <T>(what: string, found: () => T | undefined, ms = 45_000) => new Promise<T>((resolve, reject) => {
    const check = () => {
      const value = found();
      if (value === undefined && !done) return;
      waiters.delete(check);
      clearTimeout(timer);
      if (value !== undefined) resolve(value);
      else reject(new Error(`${command} ${args.join(' ')} exited before ${what}${describe()}`));
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}${describe()}`));
    }, ms);
    waiters.add(check);
    check();
  });
  const describe = () => `\nstdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${err}`;
  return {
    child, lines, exited,
    stderr: () => err,
    waitFor: (what, match, ms) => until(what, () => lines.find(match), ms),
    waitForStderr: async (what, pattern, ms) => {
      await until(what, () => (pattern.test(err) ? true : undefined), ms);
    },
    kill: () => {
      if (!done) child.kill('SIGKILL');
    },
  };
}

/** Exit code within `ms`, else an error (the caller's `finally` kills the process). */
export async function exitCode(proc: Proc, ms = 30_000): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms; stderr:\n${proc.stderr()}`)), ms);
  });
  try {
    return await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
