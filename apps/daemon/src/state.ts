// The state folder: the node's identity key, trust files, incarnation counter, control token and
// the running daemon's control address. Every write is atomic (atomic-file.ts); secrets are 0600
// and refused when group or others could read them.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { DaemonError } from './errors.ts';
import { formatPidFile, parsePidFile, recordedProcess, selfIdentity } from './process-identity.ts';
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
  /** Peers added by `distkitd join` (joined-nodes.ts). */
  readonly joinedNodes: string;
  /** Run-time tag changes of `distkitd tags set|reset` (tags.ts). */
  readonly tags: string;
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
    joinedNodes: join(dir, 'joined_nodes'),
    tags: join(dir, 'tags.json'),
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

/**
 * The incarnation saved by the last start; 0 when this is the node's first start. A node that has
 * an identity has run before, so a missing or unreadable counter is refused rather than reset to
 * 1: its peers remember the last incarnation and would drop every heartbeat of a lower one as a
 * replay, and show the node `down` while it is linked.
 */
export async function readIncarnation(paths: StatePaths): Promise<number> {
  let text: string;
  try {
    text = await readFile(paths.incarnation, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !(await exists(paths.identityKey))) return 0;
    const what = code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? (err as Error).message})`;
    throw new DaemonError(code === 'ENOENT' ? 'STATE_CORRUPT' : 'STATE_IO', `${paths.incarnation} ${what}, but ${paths.identityKey} exists: ${INCARNATION_FIX(paths)}`);
  }
  const trimmed = text.trim();
  if (!/^\d{1,15}$/.test(trimmed)) {
    throw new DaemonError('STATE_CORRUPT', `${paths.incarnation}: expected a decimal number, got ${JSON.stringify(trimmed.slice(0, 40))}. ${INCARNATION_FIX(paths)}`);
  }
  return Number(trimmed);
}

const INCARNATION_FIX = (paths: StatePaths): string =>
  'this node ran before, and its peers remember its last incarnation; starting again at 1 would make them drop its ' +
  "heartbeats as replays. Write a number larger than any it used (the time in seconds is), then start again:\n" +
  `  date +%s > ${shellQuote(paths.incarnation)}`;

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
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

/** What a token file may hold: one line of printable ASCII without spaces, 16 characters or more. */
export const TOKEN_FORMAT: RegExp = /^[\x21-\x7e]{16,}$/;

export async function readToken(path: string): Promise<string> {
  await checkPrivateFile(path, 'control token');
  const token = (await readFile(path, 'utf8')).trim();
  // Never quote the content: it is a credential.
  if (!TOKEN_FORMAT.test(token)) throw new DaemonError('KEY_MALFORMED', `${path}: the control token must be one line of at least 16 printable characters, no spaces`);
  return token;
}

export interface ControlInfo {
  /** http://127.0.0.1:4380 or unix:/path/to/socket */
  readonly url: string;
  readonly pid: number;
  /** The daemon's process start time (/proc/<pid>/stat), so a client can tell it from a reused pid. */
  readonly startTime?: string | null;
  readonly name: string;
  /** The cluster secret file the daemon uses (a path, not a secret), for `distkitd secret`. */
  readonly clusterSecretFile?: string | null;
}

export async function writeControlInfo(paths: StatePaths, info: ControlInfo): Promise<void> {
  await writeFileAtomic(paths.controlInfo, `${JSON.stringify(info)}\n`, { mode: 0o644 });
}

/** control.json, with the time it was written (to judge a pid without a start time); null when absent or unreadable. */
export async function readControlInfo(paths: StatePaths): Promise<(ControlInfo & { readonly writtenAtMs: number }) | null> {
  try {
    const [text, info] = await Promise.all([readFile(paths.controlInfo, 'utf8'), stat(paths.controlInfo)]);
    const parsed = JSON.parse(text) as ControlInfo;
    if (typeof parsed.url !== 'string' || typeof parsed.pid !== 'number') return null;
    return { ...parsed, writtenAtMs: info.mtimeMs };
  } catch {
    return null;
  }
}

/** Locks held by this process (a lock file with our own pid may be a stale one from a past life). */
const HELD = new Set<string>();

/**
 * Takes the folder for this process: one daemon per state folder, or two would hand out the same
 * incarnation. The lock file holds the pid and the process start time (process-identity.ts), so a
 * lock left by a dead process, or one whose pid now belongs to another process, is taken over.
 * Returns the release function.
 */
export async function acquireLock(paths: StatePaths): Promise<() => Promise<void>> {
  if (HELD.has(paths.lock)) throw new DaemonError('STATE_LOCKED', `this process already runs a distkitd on the state folder ${paths.dir}`);
  const self = selfIdentity();
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(paths.lock, 'wx', 0o644);
      await handle.writeFile(formatPidFile(self));
      await handle.sync();
      await handle.close();
      HELD.add(paths.lock);
      return async () => {
        HELD.delete(paths.lock);
        await unlink(paths.lock).catch(() => {});
        await unlink(paths.controlInfo).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw stateIo(err, `cannot create the lock ${paths.lock}`);
      const seen = await readLock(paths.lock);
      if (seen === null) continue; // removed meanwhile: try again
      const holder = parsePidFile(seen.text);
      if (holder !== null && holder.pid !== process.pid && recordedProcess(holder.pid, holder.startTime, seen.mtimeMs) === 'running') {
        throw new DaemonError('STATE_LOCKED', `another distkitd (pid ${holder.pid}) is using the state folder ${paths.dir}`);
      }
      // Stale. Remove it only if it is still the file judged stale: a second daemon starting at
      // the same moment may have taken it over already.
      const again = await readLock(paths.lock);
      if (again !== null && again.text === seen.text && again.mtimeMs === seen.mtimeMs) await unlink(paths.lock).catch(() => {});
    }
  }
  throw new DaemonError('STATE_LOCKED', `cannot take the lock ${paths.lock} (another distkitd is starting on the state folder ${paths.dir}?)`);
}

async function readLock(path: string): Promise<{ text: string; mtimeMs: number } | null> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mtimeMs: info.mtimeMs };
  } catch {
    return null;
  }
}

/** Temp files of atomic writes (atomic-file.ts) left by a process that crashed mid-write. */
const TEMP_FILE = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temp files a crash left in the state folder. A temp file of a process still alive
 * (a `distkitd trust add` writing right now) is kept. Returns the names removed.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = TEMP_FILE.exec(name);
    if (!m) continue;
    const info = await stat(join(dir, name)).catch(() => null);
    if (info === null || recordedProcess(Number(m[1]), null, info.mtimeMs) === 'running') continue;
    await unlink(join(dir, name)).then(
      () => removed.push(name),
      () => {},
    );
  }
  return removed;
}

function stateIo(err: unknown, what: string): DaemonError {
  return new DaemonError('STATE_IO', `${what}: ${(err as Error).message}`, { cause: err });
}

/** Whether `path` exists; any failure other than "not there" is a STATE_IO error naming it. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw stateIo(err, `${path} cannot be examined`);
  }
}
