// Operator hooks: a command run when a link is lost (on_nodedown), when a partition is seen
// (on_partition) and when the resolver decides this node must restart (on_restart). The facts go
// in DISTKIT_* environment variables. After a restart decision the daemon exits with
// EXIT.RESTART (75) unless hooks.restart_exit = false, so systemd's Restart= brings it back.
import { spawn } from 'node:child_process';
import type { KernelEvent } from '@distkit/kernel';
import type { HookCommand } from './config-schema.ts';
import { toJson } from './event-hub.ts';
import { EXIT } from './exit-codes.ts';
import type { Logger } from './log.ts';

export type HookName = 'on_restart' | 'on_nodedown' | 'on_partition';

export interface HooksConfig {
  readonly onRestart: HookCommand | null;
  readonly onNodedown: HookCommand | null;
  readonly onPartition: HookCommand | null;
  readonly timeoutMs: number;
  readonly restartExit: boolean;
}

export interface Self {
  readonly name: string;
  readonly cluster: string;
  readonly incarnation: number;
}

export interface HookResult {
  readonly hook: HookName;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly output: string;
}

/** The environment a hook sees (on top of the daemon's own). */
export function hookEnvironment(hook: HookName, event: KernelEvent, self: Self, restartExit: boolean): Record<string, string> {
  const env: Record<string, string> = {
    DISTKIT_HOOK: hook,
    DISTKIT_EVENT: event.type,
    DISTKIT_SELF: self.name,
    DISTKIT_CLUSTER: self.cluster,
    DISTKIT_SELF_INCARNATION: String(self.incarnation),
    DISTKIT_AT: String(event.at),
    DISTKIT_EVENT_JSON: toJson(event),
  };
  if ('node' in event && event.node !== null) env['DISTKIT_NODE'] = event.node;
  switch (event.type) {
    case 'decision':
      env['DISTKIT_DECISION'] = event.decision;
      env['DISTKIT_STRATEGY'] = event.strategy;
      env['DISTKIT_MINE'] = toJson(event.mine ?? null);
      env['DISTKIT_THEIRS'] = toJson(event.theirs ?? null);
      if (event.decision === 'restart' && restartExit) env['DISTKIT_EXIT_CODE'] = String(EXIT.RESTART);
      break;
    case 'nodedown':
      env['DISTKIT_REASON'] = event.reason;
      if (event.detail !== undefined) env['DISTKIT_DETAIL'] = event.detail;
      break;
    case 'partition':
    case 'restarted':
      env['DISTKIT_INCARNATION'] = String(event.incarnation);
      break;
    default:
      break;
  }
  return env;
}

const OUTPUT_LIMIT = 16 * 1024;

/** Runs one hook command; never throws (a failing hook is logged, not fatal). */
export function runHookCommand(hook: HookName, command: HookCommand, env: Record<string, string>, timeoutMs: number, cwd?: string): Promise<HookResult> {
  return new Promise((resolve) => {
    const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0] ?? '', command.slice(1)];
    let output = '';
    let timedOut = false;
    // Its own process group, so a timeout ends the whole hook (a shell and what it started).
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(cwd ? { cwd } : {}) });
    const kill = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const collect = (chunk: Buffer): void => {
      if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8').slice(0, OUTPUT_LIMIT - output.length);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 2000).unref();
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ hook, exitCode: null, signal: null, timedOut, output: `cannot run ${file}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ hook, exitCode: code, signal, timedOut, output: output.trim() });
    });
  });
}

/** Routes kernel events to the configured hooks. */
export class Hooks {
  readonly #config: HooksConfig;
  readonly #self: Self;
  readonly #log: Logger | undefined;
  readonly #cwd: string | undefined;
  /** One run at a time per hook, so a flapping link cannot fork a storm of processes. */
  readonly #chains = new Map<HookName, Promise<unknown>>();

  /** `cwd`: where hooks run (the daemon uses its state folder). */
  constructor(config: HooksConfig, self: Self, log?: Logger, cwd?: string) {
    this.#config = config;
    this.#self = self;
    this.#log = log;
    this.#cwd = cwd;
  }

  /**
   * Handles one event. Resolves to 'exit' when the daemon must now stop and exit with
   * EXIT.RESTART (after the restart hook has finished).
   */
  async handle(event: KernelEvent): Promise<'exit' | null> {
    if (event.type === 'decision' && event.decision === 'restart') {
      if (this.#config.onRestart !== null) await this.#run('on_restart', this.#config.onRestart, event);
      return this.#config.restartExit ? 'exit' : null;
    }
    if (event.type === 'nodedown' && this.#config.onNodedown !== null) void this.#run('on_nodedown', this.#config.onNodedown, event);
    if (event.type === 'partition' && this.#config.onPartition !== null) void this.#run('on_partition', this.#config.onPartition, event);
    return null;
  }

  /** Waits for hooks still running (on shutdown). */
  async settle(): Promise<void> {
    await Promise.all(this.#chains.values());
  }

  #run(hook: HookName, command: HookCommand, event: KernelEvent): Promise<HookResult> {
    const env = hookEnvironment(hook, event, this.#self, this.#config.restartExit);
    const previous = this.#chains.get(hook) ?? Promise.resolve();
    const run = previous.then(async () => {
      this.#log?.info({ hook, event: event.type, node: env['DISTKIT_NODE'] }, `running ${hook} hook`);
      const result = await runHookCommand(hook, command, env, this.#config.timeoutMs, this.#cwd);
      const fields = { hook, exitCode: result.exitCode, signal: result.signal, timedOut: result.timedOut, output: result.output || undefined };
      if (result.exitCode === 0) this.#log?.info(fields, `${hook} hook finished`);
      else this.#log?.warn(fields, `${hook} hook failed`);
      return result;
    });
    this.#chains.set(hook, run);
    return run;
  }
}
