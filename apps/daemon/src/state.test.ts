import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-file.ts';
import { type DaemonError, isDaemonError } from './errors.ts';
import { processStartTime } from './process-identity.ts';
import { fingerprint, generateIdentity, parseTrustFile } from './identity.ts';
import {
  acquireLock, bumpIncarnation, ensureStateDir, loadOrCreateIdentity, loadOrCreateToken, readIdentity, removeStaleTempFiles, removeTrustEntry,
  statePaths, upsertTrustEntry,
} from './state.ts';

async function fresh(): Promise<ReturnType<typeof statePaths>> {
  const dir = join(await mkdtemp(join(tmpdir(), 'distkitd-state-')), 'state');
  await ensureStateDir(dir);
  return statePaths(dir);
}

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('state folder', () => {
  it('is created 0700; the identity key 0600, the public key 0644, and reused on the next start', async () => {
    const paths = await fresh();
    expect(await mode(paths.dir)).toBe(0o700);
    const first = await loadOrCreateIdentity(paths);
    expect(first.created).toBe(true);
    expect(await mode(paths.identityKey)).toBe(0o600);
    expect(await mode(paths.identityPub)).toBe(0o644);
    expect((await readFile(paths.identityKey, 'utf8')).trim().split('\n')).toHaveLength(1);
    const second = await loadOrCreateIdentity(paths);
    expect(second.created).toBe(false);
    expect(fingerprint(second.identity.publicKey)).toBe(fingerprint(first.identity.publicKey));
  });

  it('refuses a group- or world-readable key and says the exact chmod', async () => {
    const paths = await fresh();
    await loadOrCreateIdentity(paths);
    await chmod(paths.identityKey, 0o640);
    try {
      await readIdentity(paths.identityKey);
      expect.unreachable();
    } catch (err) {
      expect(isDaemonError(err) && err.code).toBe('KEY_PERMISSIONS');
      expect((err as Error).message).toContain(`has mode 0640`);
      expect((err as Error).message).toContain(`Fix with: chmod 600 ${paths.identityKey}`);
    }
  });

  it('refuses a malformed key file', async () => {
    const paths = await fresh();
    await writeFile(paths.identityKey, 'not a key\n', { mode: 0o600 });
    await expect(readIdentity(paths.identityKey)).rejects.toThrow(`${paths.identityKey}: private key file must start with 'distkit-x25519-private'`);
  });

  it('incarnation: 1 on first start, +1 on every start', async () => {
    const paths = await fresh();
    expect(await bumpIncarnation(paths)).toBe(1);
    expect(await bumpIncarnation(paths)).toBe(2);
    expect(await bumpIncarnation(paths)).toBe(3);
    expect((await readFile(paths.incarnation, 'utf8')).trim()).toBe('3');
  });

  it('a corrupt incarnation file stops the start instead of restarting at 1', async () => {
    const paths = await fresh();
    await writeFile(paths.incarnation, 'garbage');
    await expect(bumpIncarnation(paths)).rejects.toThrow(/expected a decimal number/);
    expect(await readFile(paths.incarnation, 'utf8')).toBe('garbage');
  });

  it('control token: 0600, stable across starts', async () => {
    const paths = await fresh();
    const a = await loadOrCreateToken(paths.token);
    expect(await mode(paths.token)).toBe(0o600);
    expect(await loadOrCreateToken(paths.token)).toBe(a);
    await chmod(paths.token, 0o644);
    await expect(loadOrCreateToken(paths.token)).rejects.toThrow(/chmod 600/);
  });

  it('trust files: add, replace, remove, round trip', async () => {
    const paths = await fresh();
    const a = generateIdentity().publicKey;
    const b = generateIdentity().publicKey;
    await upsertTrustEntry(paths.authorizedNodes, { name: 'alpha', key: a, options: {} }, 'authorized');
    await upsertTrustEntry(paths.authorizedNodes, { name: 'beta', key: a, options: { hidden: true } }, 'authorized');
    await upsertTrustEntry(paths.authorizedNodes, { name: 'beta', key: b, options: {} }, 'authorized');
    const text = await readFile(paths.authorizedNodes, 'utf8');
    const entries = parseTrustFile(text, 'x');
    expect(entries.map((e) => [e.name, fingerprint(e.key)])).toEqual([
      ['alpha', fingerprint(a)],
      ['beta', fingerprint(b)],
    ]);
    expect(await removeTrustEntry(paths.authorizedNodes, 'alpha', 'authorized')).toBe(true);
    expect(await removeTrustEntry(paths.authorizedNodes, 'alpha', 'authorized')).toBe(false);
    expect(parseTrustFile(await readFile(paths.authorizedNodes, 'utf8'), 'x').map((e) => e.name)).toEqual(['beta']);
  });

  it('trust files: a bad line is refused with file and line', () => {
    expect(() => parseTrustFile('# c\nalpha notakey\n', '/s/authorized_nodes')).toThrow("/s/authorized_nodes line 2: key of 'alpha'");
    expect(() => parseTrustFile('alpha\n', '/s/a')).toThrow('/s/a line 1: expected `name key [options]`');
  });

  it('one daemon per folder: a live holder is refused, a dead one is taken over', async () => {
    const paths = await fresh();
    // The parent of this test worker is alive and is not us.
    await writeFile(paths.lock, `${process.ppid} ${processStartTime(process.ppid)}\n`);
    await expect(acquireLock(paths)).rejects.toThrow(`another distkitd (pid ${process.ppid}) is using the state folder`);
    // An older distkitd's lock (a pid alone), written after its process started: still held.
    await writeFile(paths.lock, `${process.ppid}\n`);
    await expect(acquireLock(paths)).rejects.toThrow(`another distkitd (pid ${process.ppid}) is using the state folder`);
    await writeFile(paths.lock, '999999999\n');
    const release = await acquireLock(paths);
    expect((await readFile(paths.lock, 'utf8')).trim()).toBe(`${process.pid} ${processStartTime(process.pid)}`);
    await expect(acquireLock(paths)).rejects.toThrow('this process already runs a distkitd');
    await release();
    expect(await readdir(paths.dir)).toEqual([]);
  });
});

describe('stale state from an earlier life', () => {
  // A process that is alive now but is not the one that wrote the lock: the pid was reused.
  async function otherProcess(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    return child;
  }

  it.skipIf(processStartTime(process.pid) === null)('a pid file whose pid now belongs to another process does not block the start', async () => {
    const paths = await fresh();
    const other = await otherProcess();
    try {
      const pid = other.pid as number;
      // Written by a distkitd that ran with this pid before: its start time differs.
      await writeFile(paths.lock, `${pid} 1\n`);
      const release = await acquireLock(paths);
      await release();
      // An older distkitd's lock holds the pid alone, and is older than the live process.
      await writeFile(paths.lock, `${pid}\n`);
      const past = new Date(Date.now() - 3_600_000);
      await utimes(paths.lock, past, past);
      await (await acquireLock(paths))();
      // The live process itself recorded: refused.
      await writeFile(paths.lock, `${pid} ${processStartTime(pid)}\n`);
      await expect(acquireLock(paths)).rejects.toThrow(`another distkitd (pid ${pid}) is using the state folder`);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('temp files of a crashed write are removed at start; those of a live writer are kept', async () => {
    const paths = await fresh();
    await writeFile(join(paths.dir, '.known_nodes.999999999.0123456789ab.tmp'), 'half');
    await writeFile(join(paths.dir, `.authorized_nodes.${process.ppid}.0123456789ab.tmp`), 'writing');
    await writeFile(join(paths.dir, 'known_nodes'), '');
    expect(await removeStaleTempFiles(paths.dir)).toEqual(['.known_nodes.999999999.0123456789ab.tmp']);
    expect((await readdir(paths.dir)).sort()).toEqual([`.authorized_nodes.${process.ppid}.0123456789ab.tmp`, 'known_nodes']);
  });

  it('a missing, unreadable or garbled incarnation next to an identity refuses to start, with the fix', async () => {
    const paths = await fresh();
    await loadOrCreateIdentity(paths);
    const refusal = await bumpIncarnation(paths).catch((err: unknown) => err as DaemonError);
    expect(isDaemonError(refusal) && refusal.code).toBe('STATE_CORRUPT');
    expect(isDaemonError(refusal) && refusal.exitCode).toBe(65);
    expect((refusal as Error).message).toContain(`${paths.incarnation} is missing, but ${paths.identityKey} exists`);
    expect((refusal as Error).message).toContain(`date +%s > ${paths.incarnation}`);
    await expect(stat(paths.incarnation)).rejects.toThrow();
    await writeFile(paths.incarnation, '');
    await expect(bumpIncarnation(paths)).rejects.toThrow(/expected a decimal number, got ""\. this node ran before/);
    // Unreadable (here: a directory, which even root cannot read as a file): refused too.
    await unlink(paths.incarnation);
    await mkdir(paths.incarnation);
    await expect(bumpIncarnation(paths)).rejects.toThrow(`${paths.incarnation} cannot be read (EISDIR), but ${paths.identityKey} exists`);
  });
});

describe('atomic writes', () => {
  it('replaces the whole file, leaves no temp files, applies the mode exactly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-atomic-'));
    const path = join(dir, 'f');
    await writeFileAtomic(path, 'one', { mode: 0o600 });
    await writeFileAtomic(path, 'two', { mode: 0o640 });
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await mode(path)).toBe(0o640);
    expect(await readdir(dir)).toEqual(['f']);
  });

  it('a reader racing many writers always sees one whole version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-atomic-'));
    const path = join(dir, 'f');
    const versions = Array.from({ length: 30 }, (_, i) => `${String(i).repeat(2000)}\n`);
    await writeFileAtomic(path, versions[0] ?? '');
    const seen = new Set<string>();
    const writes = Promise.all(versions.map((v) => writeFileAtomic(path, v)));
    for (let i = 0; i < 60; i++) seen.add(await readFile(path, 'utf8'));
    await writes;
    for (const text of seen) expect(versions).toContain(text);
  });

  it('a failed write leaves the old file and no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-atomic-'));
    const path = join(dir, 'f');
    await writeFileAtomic(path, 'old');
    await expect(writeFileAtomic(join(dir, 'missing-dir', 'f'), 'new')).rejects.toThrow();
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['f']);
  });
});
