// Telling the running daemon of a state folder that its files changed (SIGHUP), as `trust add`
// and `secret install|use|remove` do after they rewrite a file.
import type { CommandContext } from './command.ts';
import { recordedProcess } from '../process-identity.ts';
import { readControlInfo, type ControlInfo, type StatePaths } from '../state.ts';

/** The daemon running on the state folder (its control.json, when its process is alive), or null. */
export async function runningDaemon(paths: StatePaths): Promise<ControlInfo | null> {
  const info = await readControlInfo(paths);
  // A pid that now names another process must not get a signal (SIGHUP ends most programs).
  if (info === null || recordedProcess(info.pid, info.startTime ?? null, info.writtenAtMs) === 'gone') return null;
  return info;
}

/** Sends SIGHUP to the running daemon of the state folder (unless --no-reload); its pid, or null. */
export async function reloadDaemon(ctx: CommandContext, paths: StatePaths): Promise<number | null> {
  if (ctx.values['no-reload'] === true) return null;
  const info = await runningDaemon(paths);
  if (info === null) return null;
  try {
    process.kill(info.pid, 'SIGHUP');
    if (ctx.values['json'] !== true) ctx.io.out(`reloading distkitd (pid ${info.pid})\n`);
    return info.pid;
  } catch {
    // Not running any more: it reads the files at its next start.
    return null;
  }
}

export const RELOAD_OPTION = { 'no-reload': { type: 'boolean' } } as const;
export const RELOAD_HELP: readonly [string, string] = ['--no-reload', 'do not send SIGHUP to a running distkitd of this state folder'];
