// Everything `run` needs from the disk, checked before anything is written: every file the
// configuration names and every file of the state folder is read, its mode checked and its
// content parsed, and every problem is reported at once. Only when all is well does `run` take
// the lock, create what a first start creates (identity, token) and move the incarnation. So a
// missing cluster_secret_file is one clear line and exit 78, not a crash after identity.key,
// control.token and a new incarnation were written. `check-config` runs the same checks.
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { DaemonConfig } from './config.ts';
import type { HookCommand } from './config-schema.ts';
import { DaemonError, type DaemonErrorCode, exitCodeOf } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { fingerprint, parseClusterSecrets, parsePrivateKeyFile, parseTrustFile, type Identity } from './identity.ts';
import { readIncarnation, statePaths, TOKEN_FORMAT } from './state.ts';
import { untornKnownNodes } from './trust.ts';

/** What the checks found, handed to the start so nothing is read twice. */
export interface CheckedState {
  /** null: none yet, a first start generates it. */
  readonly identity: Identity | null;
  /** null: none yet, created at the first start. */
  readonly token: string | null;
  readonly clusterSecrets: readonly Uint8Array[] | null;
  /** The incarnation on disk (0 before the first start). */
  readonly incarnation: number;
  /** One line per file checked, for check-config. */
  readonly files: readonly { readonly what: string; readonly path: string; readonly status: string }[];
}

/** Which problem decides the exit code when there are several: the configuration first. */
const PRECEDENCE: readonly number[] = [EXIT.CONFIG, EXIT.NOPERM, EXIT.DATAERR, EXIT.IOERR];

export async function checkState(config: DaemonConfig): Promise<CheckedState> {
  const problems: DaemonError[] = [];
  const files: Array<CheckedState['files'][number]> = [];
  const attempt = async <T>(fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DaemonError) problems.push(err);
      else throw err;
      return null;
    }
  };
  const paths = statePaths(config.stateDir);

  // The state folder: a directory we can write, or a path where one can be created.
  const folder = await attempt(() => checkFolder(config.stateDir));

  // Files the configuration names.
  const clusterSecrets =
    config.clusterSecretFile === null
      ? null
      : await attempt(async () => {
          const path = config.clusterSecretFile as string;
          const text = await readSecret(path, 'cluster_secret_file', 'cluster secret file', `make one with: distkitd secret new --out ${path}`);
          const secrets = parseClusterSecrets(text, path);
          files.push({ what: 'cluster_secret_file', path, status: `${secrets.length} secret${secrets.length === 1 ? '' : 's'}` });
          return secrets;
        });
  const tokenPath = config.control.tokenFile ?? paths.token;
  const token = await attempt(async () => {
    const key = config.control.tokenFile === null ? null : 'control.token_file';
    if (!(await exists(tokenPath))) {
      if (key !== null) await checkCreatable(tokenPath, key);
      files.push({ what: 'control token', path: tokenPath, status: 'created at the first start' });
      return null;
    }
    const text = await readSecret(tokenPath, key, 'control token', null);
    const value = text.trim();
    if (!TOKEN_FORMAT.test(value)) {
      throw new DaemonError('KEY_MALFORMED', `${tokenPath}: the control token must be one line of at least 16 printable characters, no spaces`);
    }
    files.push({ what: 'control token', path: tokenPath, status: 'ok' });
    return value;
  });
  for (const [key, command] of [
    ['hooks.on_restart', config.hooks.onRestart],
    ['hooks.on_nodedown', config.hooks.onNodedown],
    ['hooks.on_partition', config.hooks.onPartition],
  ] as const) {
    if (command !== null) await attempt(() => checkHook(key, command, config.stateDir));
  }
  if (config.control.listen.kind === 'unix') {
    const path = config.control.listen.path;
    await attempt(() => checkCreatable(path, 'control.listen'));
  }

  // The state folder's own files (when it exists).
  let identity: Identity | null = null;
  let incarnation = 0;
  if (folder === 'exists') {
    identity = await attempt(async () => {
      if (!(await exists(paths.identityKey))) {
        files.push({ what: 'identity', path: paths.identityKey, status: 'generated at the first start' });
        return null;
      }
      const id = parsePrivateKeyFile(await readSecret(paths.identityKey, null, 'identity key', null), paths.identityKey);
      files.push({ what: 'identity', path: paths.identityKey, status: fingerprint(id.publicKey) });
      return id;
    });
    incarnation =
      (await attempt(async () => {
        const n = await readIncarnation(paths);
        files.push({ what: 'incarnation', path: paths.incarnation, status: n === 0 ? 'first start' : String(n) });
        return n;
      })) ?? 0;
    for (const [what, path] of [
      ['authorized_nodes', paths.authorizedNodes],
      ['known_nodes', paths.knownNodes],
    ] as const) {
      await attempt(async () => {
        const text = await readStateFile(path);
        if (text === null) return;
        const usable = what === 'known_nodes' ? untornKnownNodes(text, path) : { text, torn: false };
        const entries = parseTrustFile(usable.text, path);
        files.push({ what, path, status: `${entries.length} key${entries.length === 1 ? '' : 's'}${usable.torn ? ', a torn last line to be removed' : ''}` });
      });
    }
  }

  if (problems.length > 0) throw combine(problems);
  return { identity, token, clusterSecrets, incarnation, files };
}

function combine(problems: readonly DaemonError[]): DaemonError {
  if (problems.length === 1) return problems[0] as DaemonError;
  const rank = (e: DaemonError): number => {
    const i = PRECEDENCE.indexOf(exitCodeOf(e.code));
    return i < 0 ? PRECEDENCE.length : i;
  };
  const first = [...problems].sort((a, b) => rank(a) - rank(b))[0] as DaemonError;
  return new DaemonError(first.code, `cannot start (${problems.length} problems):\n${problems.map((p) => `  ${p.message.replace(/\n/g, '\n    ')}`).join('\n')}`);
}

async function checkFolder(dir: string): Promise<'exists' | 'to-create'> {
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new DaemonError('CONFIG_FILE', `state_dir: ${dir} cannot be examined: ${err.message}`);
  });
  if (info === null) {
    await checkCreatable(dir, 'state_dir');
    return 'to-create';
  }
  if (!info.isDirectory()) throw new DaemonError('CONFIG_FILE', `state_dir: ${dir} is not a directory`);
  await access(dir, constants.R_OK | constants.W_OK | constants.X_OK).catch(() => {
    throw new DaemonError('CONFIG_FILE', `state_dir: ${dir} is not writable by this user (uid ${process.getuid?.() ?? '?'}): fix its owner or mode, or choose another --state-dir`);
  });
  return 'exists';
}

/** A file or folder `path` can be created: its nearest existing ancestor is a writable directory. */
async function checkCreatable(path: string, key: string): Promise<void> {
  let dir = dirname(path);
  for (;;) {
    const info = await stat(dir).catch(() => null);
    if (info !== null) {
      if (!info.isDirectory()) throw new DaemonError('CONFIG_FILE', `${key}: cannot create ${path}: ${dir} is not a directory`);
      await access(dir, constants.W_OK | constants.X_OK).catch(() => {
        throw new DaemonError('CONFIG_FILE', `${key}: cannot create ${path}: ${dir} is not writable by this user (uid ${process.getuid?.() ?? '?'})`);
      });
      return;
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/**
 * A secret file: it exists, is a regular file we can read, and only its owner can read it.
 * `key` is the config key that names it (null for the state folder's own files).
 */
async function readSecret(path: string, key: string | null, what: string, howToMake: string | null): Promise<string> {
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

/** A state folder file that may be absent (null); one that exists must be readable. */
async function readStateFile(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new DaemonError('STATE_IO', `${path} cannot be read: ${code ?? (err as Error).message}`);
  }
}

/** A hook's program can be run: /bin/sh for a command line, argv[0] (on PATH or a path) for a list. */
async function checkHook(key: string, command: HookCommand, cwd: string): Promise<void> {
  const program = typeof command === 'string' ? '/bin/sh' : (command[0] ?? '');
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : resolve(cwd, program)]
    : (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, program));
  for (const file of candidates) {
    const ok = await access(file, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (ok && (await stat(file)).isFile()) return;
  }
  throw new DaemonError('CONFIG_FILE', `${key}: ${program} ${program.includes('/') ? 'is not an executable file' : 'is not found on PATH'}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new DaemonError('STATE_IO', `${path} cannot be examined: ${(err as Error).message}`);
  }
}
