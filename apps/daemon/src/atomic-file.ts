// Every file distkitd writes goes through here: a reader (or a crash) sees the old content or the
// new one, never a torn mix. The classic recipe: write a temp file in the same directory (rename
// is only atomic within one file system), fsync it, rename over the target, fsync the directory
// so the rename itself survives a power cut.
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DaemonError } from './errors.ts';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o644). Applied at creation, so it is never briefly wider. */
  readonly mode?: number;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  try {
    await write(path, data, options);
  } catch (err) {
    // Disk full, read-only file system, permissions: the state folder's fault, not a bug.
    if (typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).syscall !== undefined) {
      throw new DaemonError('STATE_IO', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}

async function write(path: string, data: string | Uint8Array, options: AtomicWriteOptions): Promise<void> {
  const mode = options.mode ?? 0o644;
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    // The umask may have narrowed `mode` at creation; set it exactly.
    await handle.chmod(mode);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  await syncDirectory(dir);
}

/** fsync a directory so a rename or create in it is durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
