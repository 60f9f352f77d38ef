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
import { DaemonError, exitCodeOf } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { loadClusterKeyring } from './cluster-keyring.ts';
import { fingerprint, parsePrivateKeyFile, parseTrustFile, type Identity } from './identity.ts';
import { type JoinedNode, parseJoinedNodes } from './joined-nodes.ts';
import { readSecret } from './secret-file.ts';
import { effectiveTags, NO_OVERRIDES, parseTagOverrides, tagProblem, type TagOverrides } from './tags.ts';
import { exists, readIncarnation, statePaths, TOKEN_FORMAT } from './state.ts';
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
  /** Peers `distkitd join` added (joined_nodes). */
  readonly joined: readonly JoinedNode[];
  /** Run-time tag changes (tags.json). */
  readonly tagOverrides: TagOverrides;
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
          const secrets = await loadClusterKeyring(path, 'cluster_secret_file');
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

  let joined: JoinedNode[] = [];
  let tagOverrides: TagOverrides = NO_OVERRIDES;
  if (folder === 'exists') {
    joined =
      (await attempt(async () => {
        const text = await readStateFile(paths.joinedNodes);
        if (text === null) return [];
        const entries = parseJoinedNodes(text, paths.joinedNodes);
        files.push({ what: 'joined_nodes', path: paths.joinedNodes, status: `${entries.length} peer${entries.length === 1 ? '' : 's'}` });
        return entries;
      })) ?? [];
    tagOverrides =
      (await attempt(async () => {
        const text = await readStateFile(paths.tags);
        if (text === null) return NO_OVERRIDES;
        const overrides = parseTagOverrides(text, paths.tags);
        files.push({ what: 'tags.json', path: paths.tags, status: `${Object.keys(overrides.set).length} set, ${overrides.remove.length} removed at run time` });
        const tooMany = tagProblem(null, effectiveTags(config.tags, overrides));
        if (tooMany !== null) throw new DaemonError('CONFIG_INVALID', `tags: ${tooMany}: the config's tags table with the run-time changes in ${paths.tags} (edit or delete that file, or put fewer tags in the config)`);
        return overrides;
      })) ?? NO_OVERRIDES;
  }

  if (problems.length > 0) throw combine(problems);
  return { identity, token, clusterSecrets, incarnation, joined, tagOverrides, files };
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

