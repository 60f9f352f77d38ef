// Is the process that wrote a pid file still the one running under that pid? A pid alone cannot
// say: after a reboot or a long uptime the number belongs to some other process, and a pid file
// judged by the pid alone then blocks the start for good. So pid files hold the pid and the
// process's start time, read from /proc/<pid>/stat (field 22, clock ticks since boot; proc(5)).
// The pair names one process for the whole uptime of the machine. A file with a pid alone (an
// older distkitd's) is judged by its age instead: a process that started after the file was
// written cannot have written it. Where /proc does not exist (macOS, the BSDs) only the pid is
// compared, as before.
import { readFileSync } from 'node:fs';

/** The start time of process `pid` as /proc prints it, or null where it cannot be read. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2, the command name, is in parentheses and may itself hold spaces or parentheses:
    // the fields after the last ')' start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[22 - 3];
    return start !== undefined && /^\d+$/.test(start) ? start : null;
  } catch {
    return null;
  }
}

/**
 * When process `pid` started, in epoch ms (to about 10 ms), or null without /proc. The tick rate
 * (USER_HZ) is not exposed to Node, so it is measured on this process, whose start is known.
 */
export function processStartedAtMs(pid: number): number | null {
  try {
    const ticks = Number(processStartTime(pid));
    const own = Number(processStartTime(process.pid));
    const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    if (!Number.isFinite(ticks) || !Number.isFinite(own) || !(uptimeS > 0)) return null;
    const bootMs = Date.now() - uptimeS * 1000;
    const ownStartMs = Date.now() - process.uptime() * 1000;
    const hz = own / ((ownStartMs - bootMs) / 1000);
    // 100 on every common Linux; the measured figure only guards against an odd kernel.
    const rate = Math.abs(hz - 100) < 5 ? 100 : hz;
    return bootMs + (ticks / rate) * 1000;
  } catch {
    return null;
  }
}

/** This process, as a pid file records it: `<pid> <start time>` (or just the pid without /proc). */
export function selfIdentity(): { readonly pid: number; readonly startTime: string | null } {
  return { pid: process.pid, startTime: processStartTime(process.pid) };
}

export type Liveness = 'running' | 'gone';

/**
 * Whether the process recorded as (pid, startTime) still runs. A live pid whose start time
 * differs is another process that reused the number: the recorded one is gone.
 */
export function recordedProcess(pid: number, startTime: string | null, writtenAtMs?: number): Liveness {
  if (!Number.isInteger(pid) || pid <= 0) return 'gone';
  if (!pidExists(pid)) return 'gone';
  if (startTime === null) {
    const startedAt = writtenAtMs === undefined ? null : processStartedAtMs(pid);
    return startedAt !== null && writtenAtMs !== undefined && startedAt > writtenAtMs ? 'gone' : 'running';
  }
  const now = processStartTime(pid);
  // No /proc entry for a live pid (another platform, or hidepid=): trust the pid.
  return now === null || now === startTime ? 'running' : 'gone';
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `<pid>[ <start time>]` as written in distkitd.pid. */
export function formatPidFile(identity: { readonly pid: number; readonly startTime: string | null }): string {
  return `${identity.pid}${identity.startTime === null ? '' : ` ${identity.startTime}`}\n`;
}

export function parsePidFile(text: string): { pid: number; startTime: string | null } | null {
  const m = /^(\d+)(?: (\d+))?\s*$/.exec(text);
  return m ? { pid: Number(m[1]), startTime: m[2] ?? null } : null;
}
