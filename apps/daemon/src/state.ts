// The state folder: the node's identity key, trust files, incarnation counter, control token and
// the running daemon's control address. Every write is atomic (atomic-file.ts); secrets are 0600
// and refused when group or others could read them.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { DaemonError } from './errors.ts';
import {
  encodePrivateKeyFile, generateIdentity, parsePrivateKeyFile, parseTrustFile, publicKeyLine, serializeTrustFile,
  type Identity, type TrustEntry,
} from './identity.ts';

export interface StatePaths {
  readonly dir: string;
  /** Private key, one line, 0600. */
  readonly identityKey: string;
  /** Public key line (`distkit-x25519 <base64>`), 0644: what a peer's `distkitd trust add` takes. */
  readonly identityPub: string;
  /** Decimal, grows by one on every start. */
  readonly incarnation: string;
  /** Peers allowed in (strict mode) or pinned (tofu mode): `name key [options]`. */
  readonly authorizedNodes: string;
  /** Keys learned on first use (tofu mode). */
  readonly knownNodes: string;
  /** Bearer token of the control API, 0600. */
  readonly token: string;
  /** Where the running daemon's control API is (JSON: url, pid), for the client commands. */
  readonly controlInfo: string;
  /** Holds the pid of the daemon using this folder. */
  readonly lock: string;
}

export function statePaths(dir: string): StatePaths {
  return {
    dir,
    identityKey: join(dir, 'identity.key'),
    identityPub: join(dir, 'identity.pub'),
    incarnation: join(dir, 'incarnation'),
    authorizedNodes: join(dir, 'authorized_nodes'),
    knownNodes: join(dir, 'known_nodes'),
    token: join(dir, 'control.token'),
    controlInfo: join(dir, 'control.json'),
    lock: join(dir, 'distkitd.pid'),
  };
}

/** Creates the folder (0700) if needed. */
export async function ensureStateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new DaemonError('STATE_IO', `cannot create the state folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const info = await stat(dir);
  if (!info.isDirectory()) throw new DaemonError('STATE_IO', `state folder ${dir} is not a directory`);
}

/** Refuses a secret file that group or others can read, saying how to fix it. */
export async function checkPrivateFile(path: string, what: string): Promise<void> {
  const info = await stat(path);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new DaemonError(
      'KEY_PERMISSIONS',
      `${what} ${path} has mode ${mode}: group or others can read it. Refusing to use it. Fix with: chmod 600 ${path}`,
    );
  }
}

export async function readIdentity(path: string): Promise<Identity> {
  await checkPrivateFile(path, 'identity key');
  return parsePrivateKeyFile(await readFile(path, 'utf8'), path);
}

/** Writes a key pair: the private key 0600, the public key line beside it 0644. */
export async function writeIdentity(keyPath: string, pubPath: string, identity: Identity, comment?: string): Promise<void> {
  await writeFileAtomic(keyPath, encodePrivateKeyFile(identity), { mode: 0o600 });
  await writeFileAtomic(pubPath, publicKeyLine(identity.publicKey, comment), { mode: 0o644 });
}

/** The node's identity; a fresh one is generated and saved on first start. */
export async function loadOrCreateIdentity(paths: StatePaths): Promise<{ identity: Identity; created: boolean }> {
  if (await exists(paths.identityKey)) return { identity: await readIdentity(paths.identityKey), created: false };
  const identity = generateIdentity();
  await writeIdentity(paths.identityKey, paths.identityPub, identity);
  return { identity, created: true };
}

export async function readIncarnation(paths: StatePaths): Promise<number> {
  if (!(await exists(paths.incarnation))) return 0;
  const text = (await readFile(paths.incarnation, 'utf8')).trim();
  if (!/^\d{1,15}$/.test(text)) {
    throw new DaemonError('STATE_IO', `${paths.incarnation}: expected a decimal number, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Number(text);
}

/** Reads, increments and durably saves the incarnation before the node starts; 1 on first start. */
export async function bumpIncarnation(paths: StatePaths): Promise<number> {
  const next = (await readIncarnation(paths)) + 1;
  await writeFileAtomic(paths.incarnation, `${next}\n`, { mode: 0o644 });
  return next;
}

export async function readTrustFile(path: string): Promise<TrustEntry[]> {
  if (!(await exists(path))) return [];
  return parseTrustFile(await readFile(path, 'utf8'), path);
}

const AUTHORIZED_HEADER = 'distkit authorized_nodes: name key [options], one per line (distkitd trust add|remove)';
const KNOWN_HEADER = 'distkit known_nodes: keys learned on first use; delete a line to forget a key';

export async function writeTrustFile(path: string, entries: readonly TrustEntry[], kind: 'authorized' | 'known'): Promise<void> {
  await writeFileAtomic(path, serializeTrustFile(entries, kind === 'authorized' ? AUTHORIZED_HEADER : KNOWN_HEADER), { mode: 0o644 });
}

/** Adds or replaces one entry of a trust file, atomically. */
export async function upsertTrustEntry(path: string, entry: TrustEntry, kind: 'authorized' | 'known'): Promise<void> {
  const entries = (await readTrustFile(path)).filter((e) => e.name !== entry.name);
  await writeTrustFile(path, [...entries, entry], kind);
}

/** Removes a name from a trust file; false when it was not there. */
export async function removeTrustEntry(path: string, name: string, kind: 'authorized' | 'known'): Promise<boolean> {
  const entries = await readTrustFile(path);
  const kept = entries.filter((e) => e.name !== name);
  if (kept.length === entries.length) return false;
  await writeTrustFile(path, kept, kind);
  return true;
}

/** The control API's bearer token: 32 random bytes, base64url, created once, 0600. */
export async function loadOrCreateToken(path: string): Promise<string> {
  if (await exists(path)) return readToken(path);
  const token = randomBytes(32).toString('base64url');
  await writeFileAtomic(path, `${token}\n`, { mode: 0o600 });
  return token;
}

export async function readToken(path: string): Promise<string> {
  await checkPrivateFile(path, 'control token');
  const token = (await readFile(path, 'utf8')).trim();
  if (token.length < 16) throw new DaemonError('STATE_IO', `${path}: the control token is too short (at least 16 characters)`);
  return token;
}

export interface ControlInfo {
  /** http://127.0.0.1:4380 or unix:/path/to/socket */
  readonly url: string;
  readonly pid: number;
  readonly name: string;
}

export async function writeControlInfo(paths: StatePaths, info: ControlInfo): Promise<void> {
  await writeFileAtomic(paths.controlInfo, `${JSON.stringify(info)}\n`, { mode: 0o644 });
}

export async function readControlInfo(paths: StatePaths): Promise<ControlInfo | null> {
  try {
    return JSON.parse(await readFile(paths.controlInfo, 'utf8')) as ControlInfo;
  } catch {
    return null;
  }
}

/** Locks held by this process (a lock file with our own pid may be a stale one from a past life). */
const HELD = new Set<string>();

/**
 * Takes the folder for this process: one daemon per state folder, or two would hand out the same
 * incarnation. A lock left by a dead process is taken over. Returns the release function.
 */
export async function acquireLock(paths: StatePaths): Promise<() => Promise<void>> {
  if (HELD.has(paths.lock)) throw new DaemonError('STATE_LOCKED', `this process already runs a distkitd on the state folder ${paths.dir}`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(paths.lock, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      HELD.add(paths.lock);
      return async () => {
        HELD.delete(paths.lock);
        await unlink(paths.lock).catch(() => {});
        await unlink(paths.controlInfo).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(paths.lock, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DaemonError('STATE_LOCKED', `another distkitd (pid ${pid}) is using the state folder ${paths.dir}`);
      }
      await unlink(paths.lock).catch(() => {});
    }
  }
  throw new DaemonError('STATE_LOCKED', `cannot take the lock ${paths.lock}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
