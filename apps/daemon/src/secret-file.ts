// Reading a file that holds a secret (a key, the control token, the cluster secrets): it must
// exist, be a regular file we can read, and be readable by its owner only. Errors name the config
// key that names the file (or the state folder's file) and never quote its content.
import { readFile, stat } from 'node:fs/promises';
import { DaemonError, type DaemonErrorCode } from './errors.ts';

/**
 * A secret file: it exists, is a regular file we can read, and only its owner can read it.
 * `key` is the config key that names it (null for the state folder's own files).
 */
export async function readSecret(path: string, key: string | null, what: string, howToMake: string | null): Promise<string> {
  const where = key === null ? `${what} ${path}` : `${key}: ${what} ${path}`;
  const code: DaemonErrorCode = key === null ? 'STATE_IO' : 'CONFIG_FILE';
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new DaemonError(code === 'STATE_IO' ? 'STATE_CORRUPT' : code, `${where} does not exist${howToMake ? ` (${howToMake})` : ''}`);
    throw new DaemonError(code, `${where} cannot be read: ${err.code ?? err.message}`);
  });
  if (!info.isFile()) throw new DaemonError(code, `${where} is not a regular file`);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new DaemonError('KEY_PERMISSIONS', `${where} has mode ${mode}: group or others can read it. Refusing to use it. Fix with: chmod 600 ${path}`);
  }
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new DaemonError(code, `${where} cannot be read: ${err.code === 'EACCES' ? `permission denied for uid ${process.getuid?.() ?? '?'}` : (err.code ?? err.message)}`);
  });
}

