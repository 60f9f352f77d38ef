// Starts `distkitd run` as a separate process (real kernel, real sockets) and follows its JSON log.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_ENTRY } from './cli-process.test-support.ts';
import type { ControlTarget } from './control-client.ts';

export interface LogLine {
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface RunningDaemon {
  readonly process: ChildProcess;
  readonly logs: LogLine[];
  readonly stderr: () => string;
  /** The `ready` log line. */
  readonly ready: LogLine & { name: string; control: string; incarnation: number; fingerprint: string; publicKey: string; listen: string };
  waitForLog(match: (line: LogLine) => boolean, ms?: number): Promise<LogLine>;
  target(): Promise<ControlTarget>;
  /** SIGTERM (or another signal) and the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
  /** The signal that ended the process, once it has exited (null: it exited with a code). */
  signal(): NodeJS.Signals | null;
}

export async function startDaemon(
  args: readonly string[],
  options: {
    cwd: string;
    env: Record<string, string>;
    stateDir: string;
    /** A command the daemon runs under, e.g. nsenter into a network namespace. */
    wrap?: readonly string[];
    /** node options before the entry (e.g. --import of a test preload). */
    nodeArgs?: readonly string[];
  },
): Promise<RunningDaemon> {
  const argv = [process.execPath, ...(options.nodeArgs ?? []), ...CLI_ENTRY, 'run', ...args];
  const [file, ...rest] = [...(options.wrap ?? []), ...argv] as [string, ...string[]];
  const child = spawn(file, rest, { cwd: options.cwd, env: { ...options.env, DISTKIT_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
      for (const w of waiters) w();
    }
  });
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLog = (match: (line: LogLine) => boolean, ms = 20_000): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = logs.find(match);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for a log line; stderr:\n${stderr}\nlogs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`));
      }, ms);
      waiters.add(check);
      void exited.then(() => setTimeout(check, 10));
      check();
    });
  const ready = (await Promise.race([
    waitForLog((l) => l.msg === 'ready'),
    exited.then((code) => {
      throw new Error(`distkitd run exited with ${code} before it was ready:\n${stderr}`);
    }),
  ])) as RunningDaemon['ready'];
  return {
    process: child,
    logs,
    stderr: () => stderr,
    ready,
    waitForLog,
    exited,
    signal: () => child.signalCode,
    async target() {
      return { url: ready.control, token: (await readFile(join(options.stateDir, 'control.token'), 'utf8')).trim() };
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

import { freePort } from './free-port.ts';

/** A port free for both TCP and UDP on 127.0.0.1 (links and heartbeats share it). */
export { freePort };
