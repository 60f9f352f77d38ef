// Runs distkitd as a separate process and snapshots folders so tests can prove that nothing on
// disk changed. The process is the published entry (bin/distkitd.js on dist/) when the build is
// newer than every source file, as in `npm test` where turbo builds first; otherwise the source
// itself through tsx, so a test run never uses a stale build.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/distkitd.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const ENTRY = fileURLToPath(new URL('./distkitd-entry.test-support.ts', import.meta.url));
// tsx's "import" entry (its loader), as a file URL so it resolves from any cwd.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function newestSource(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newestSource(join(dir, e.name)) : /\.test(-support)?\.ts$/.test(e.name) ? 0 : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
}

/** True when dist/ is newer than every source file (as after `npm run build`). */
export function buildIsFresh(): boolean {
  try {
    return statSync(DIST).mtimeMs >= newestSource(SRC);
  } catch {
    return false;
  }
}

/** How distkitd is started: [node arguments before the distkitd arguments]. */
export const CLI_ENTRY: readonly string[] = buildIsFresh() ? [BIN] : ['--import', TSX, ENTRY];

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A clean environment: no DISTKIT_* from the outer shell, HOME in `home`. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DISTKIT_') && k !== 'STATE_DIRECTORY' && k !== 'XDG_STATE_HOME') env[k] = v;
  return { ...env, HOME: home, NO_COLOR: '1', ...extra };
}

export function runCli(args: readonly string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ENTRY, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Names, modes, sizes, mtimes and contents of every file under `dir` (null if it does not exist). */
export async function snapshot(dir: string): Promise<Record<string, string> | null> {
  const out: Record<string, string> = {};
  async function walk(d: string): Promise<void> {
    for (const entry of (await readdir(d)).sort()) {
      const path = join(d, entry);
      const s = await stat(path);
      const mode = (s.mode & 0o7777).toString(8);
      if (s.isDirectory()) {
        out[path] = `dir ${mode} ${s.mtimeMs}`;
        await walk(path);
      } else out[path] = `file ${mode} ${s.mtimeMs} ${await readFile(path, 'base64')}`;
    }
  }
  try {
    await walk(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return out;
}
