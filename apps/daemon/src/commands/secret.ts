// `distkitd secret new|install|use|remove|list`: the cluster secret file as a keyring, rotated
// online as Serf's `keys -install/-use/-remove` (cluster-keyring.ts). `new` writes a fresh file
// (0600, so the secret never passes through a terminal, a scrollback or a shell history); the
// others change the file the daemon of the state folder uses, atomically, then make it reload
// (SIGHUP: the running node takes the new list at once, every link stays up) and wait until it
// reports the new list. Rotation, on every node one step at a time: `install` the new secret
// everywhere (accepted, not yet used to dial), then `use` it everywhere (dialled with), then
// `remove` the old one everywhere.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatClusterKeyring } from '@distkit/handshake';
import { writeFileAtomic } from '../atomic-file.ts';
import { indexOfSecret, loadClusterKeyring, newClusterSecret, secretId, writeClusterKeyring } from '../cluster-keyring.ts';
import { type Command, type CommandContext, CONFIG_FILE_HELP, CONFIG_FILE_OPTIONS, JSON_HELP, JSON_OPTION, configFrom, printJson } from './command.ts';
import { callControl } from '../control-client.ts';
import { DaemonError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { parseClusterSecrets } from '../identity.ts';
import { ensureStateDir, readToken, statePaths, type ControlInfo } from '../state.ts';
import { formatTable } from '../table.ts';
import { RELOAD_HELP, RELOAD_OPTION, runningDaemon } from './daemon-signal.ts';

/** The file name `secret new` uses in the state folder when neither --out nor cluster_secret_file says. */
export const DEFAULT_SECRET_FILE = 'cluster_secret';

export const secretNewCommand: Command = {
  name: 'secret new',
  summary: 'write a fresh 32-byte cluster secret file (0600)',
  usage: 'secret new [--out FILE] [--force] [--json]',
  description:
    'Writes `distkit-cluster-secret <base64>` (32 random bytes) to FILE, mode 0600, atomically. The\n' +
    'secret itself is never printed: copy the file to every node over a secure channel and set\n' +
    'cluster_secret_file (or --cluster-secret-file) to it. Nodes without it cannot complete a\n' +
    'handshake. Prints its id (8 hex digits, the id the handshake sends) to compare copies. An\n' +
    'existing file is never replaced without --force (exit 73): the nodes using it would lose their\n' +
    'links. To change the secret of a running cluster, see `distkitd secret install`.\n' +
    'Default FILE: cluster_secret_file of the configuration, else cluster_secret in the state folder.',
  options: { ...CONFIG_FILE_OPTIONS, out: { type: 'string', short: 'o' }, force: { type: 'boolean' }, ...JSON_OPTION },
  optionHelp: [...CONFIG_FILE_HELP, ['-o, --out FILE', 'where to write the secret'], ['--force', 'replace an existing file'], JSON_HELP],
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const out = ctx.values['out'] as string | undefined;
    let path: string;
    if (out !== undefined) {
      path = resolve(ctx.io.cwd, out);
    } else {
      const config = await configFrom(ctx);
      if (config.clusterSecretFile !== null) path = config.clusterSecretFile;
      else {
        await ensureStateDir(config.stateDir);
        path = join(config.stateDir, DEFAULT_SECRET_FILE);
      }
    }
    const present = await stat(path).then(
      () => true,
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(new DaemonError('STATE_IO', `cannot examine ${path}: ${err.message}`))),
    );
    if (present && ctx.values['force'] !== true) {
      throw new DaemonError('KEY_EXISTS', `${path} already exists; keeping it (use --force to replace it: every node using the old secret must get the new one; to rotate a running cluster's secret, use distkitd secret install)`);
    }
    const secret = newClusterSecret();
    await writeFileAtomic(path, formatClusterKeyring([secret]), { mode: 0o600 });
    const id = secretId(secret);
    if (ctx.values['json'] === true) printJson(ctx.io, { file: path, id });
    else {
      ctx.io.out(
        `wrote ${path} (0600), secret id ${id}\n` +
          `Copy it to every node over a secure channel, then set in each config:\n  cluster_secret_file = ${JSON.stringify(path)}\n(or run with --cluster-secret-file ${path})\n` +
          `On a running cluster, add it to each node's keyring instead: distkitd secret install ${path}\n`,
      );
    }
    return EXIT.OK;
  },
};

const KEYRING_OPTIONS = { ...CONFIG_FILE_OPTIONS, file: { type: 'string' }, ...RELOAD_OPTION, ...JSON_OPTION } as const;
const KEYRING_HELP: readonly (readonly [string, string])[] = [
  ...CONFIG_FILE_HELP,
  ['--file FILE', "the keyring (default: the running daemon's cluster secret file, else cluster_secret_file of the config)"],
  RELOAD_HELP,
  JSON_HELP,
];
const KEYRING_NOTE =
  '\nThe keyring is the cluster secret file: the file the running daemon of the state folder uses,\n' +
  'else cluster_secret_file of the configuration, else --file. It is rewritten atomically (0600),\n' +
  'then the daemon reloads it (SIGHUP) and the command waits until it reports the new list.';

export const secretInstallCommand: Command = {
  name: 'secret install',
  summary: "add a secret to this node's keyring without using it yet (online rotation, step 1)",
  usage: 'secret install [FILE | --generate] [--file KEYRING] [--no-reload] [--json]',
  description:
    'Adds the secrets of FILE (a secret file, e.g. from `distkitd secret new --out FILE`, or another\n' +
    "node's keyring) that the keyring lacks, after the ones it has: the node accepts links and\n" +
    'heartbeats made with them at once, and still dials with its first secret, so no link drops.\n' +
    'With --generate, a fresh secret is added instead (copy the keyring to the other nodes, then\n' +
    'install it there from that copy). Next, once every node has it: `distkitd secret use ID`.' +
    KEYRING_NOTE,
  options: { ...KEYRING_OPTIONS, generate: { type: 'boolean' } },
  optionHelp: [['--generate', 'add a fresh random secret'], ...KEYRING_HELP],
  positionals: { min: 0, max: 1, names: '[FILE]' },
  async run(ctx) {
    const source = ctx.positionals[0];
    const generate = ctx.values['generate'] === true;
    if ((source === undefined) === !generate) throw new DaemonError('BAD_FLAG', 'secret install: give a secret FILE or --generate (one of the two)');
    let incoming: Uint8Array[];
    if (source !== undefined) {
      const path = resolve(ctx.io.cwd, source);
      const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new DaemonError('BAD_FLAG', `secret install: cannot read ${path}: ${err.code ?? err.message}`);
      });
      incoming = parseClusterSecrets(text, path);
    } else incoming = [newClusterSecret()];
    return changeKeyring(ctx, (secrets) => {
      const have = new Set(secrets.map(secretId));
      const added = incoming.filter((s) => !have.has(secretId(s)));
      const first = secrets[0];
      const said =
        added.length === 0
          ? `every secret of ${source} is installed already`
          : first === undefined
            ? `created the keyring with ${added.map(secretId).join(', ')}`
            : `installed ${added.map(secretId).join(', ')} (accepted; still dialling with ${secretId(first)})`;
      return { secrets: [...secrets, ...added], said };
    }, true);
  },
};

export const secretUseCommand: Command = {
  name: 'secret use',
  summary: 'dial with the secret ID from now on (online rotation, step 2)',
  usage: 'secret use ID [--file KEYRING] [--no-reload] [--json]',
  description:
    'Moves the secret ID first in the keyring: new links are made with it; every secret of the\n' +
    'keyring is still accepted, so links stay up and nodes that have not switched yet still link.\n' +
    'Do it once every node has the secret installed (a node without it refuses the new links).\n' +
    'Next, once every node uses it: `distkitd secret remove OLD-ID`.' +
    KEYRING_NOTE,
  options: KEYRING_OPTIONS,
  optionHelp: KEYRING_HELP,
  positionals: { min: 1, max: 1, names: 'ID' },
  run: (ctx) =>
    changeKeyring(ctx, (secrets, path) => {
      const i = indexOfSecret(secrets, ctx.positionals[0] ?? '', path);
      const chosen = secrets[i] as Uint8Array;
      return { secrets: [chosen, ...secrets.filter((_, j) => j !== i)], said: i === 0 ? `already dialling with ${secretId(chosen)}` : `now dialling with ${secretId(chosen)}` };
    }),
};

export const secretRemoveCommand: Command = {
  name: 'secret remove',
  summary: 'drop the secret ID from the keyring (online rotation, step 3)',
  usage: 'secret remove ID [--file KEYRING] [--no-reload] [--json]',
  description:
    'Removes the secret ID: links and heartbeats made with it are refused from then on (links up now\n' +
    'stay up). The secret this node dials with (the first) and the last one cannot be removed:\n' +
    '`distkitd secret use` another first.' +
    KEYRING_NOTE,
  options: KEYRING_OPTIONS,
  optionHelp: KEYRING_HELP,
  positionals: { min: 1, max: 1, names: 'ID' },
  run: (ctx) =>
    changeKeyring(ctx, (secrets, path) => {
      const i = indexOfSecret(secrets, ctx.positionals[0] ?? '', path);
      const id = secretId(secrets[i] as Uint8Array);
      if (secrets.length === 1) throw new DaemonError('SECRET_IN_USE', `${id} is the only secret in ${path}: a node needs one (install another first)`);
      if (i === 0) throw new DaemonError('SECRET_IN_USE', `${id} is the secret this node dials with: run distkitd secret use ID with another one first`);
      return { secrets: secrets.filter((_, j) => j !== i), said: `removed ${id}: links made with it are refused from now on` };
    }),
};

export const secretListCommand: Command = {
  name: 'secret list',
  summary: 'list the ids of the keyring (never the secrets) and which one dials',
  usage: 'secret list [--file KEYRING] [--json]',
  description:
    'Prints each secret of the keyring by its id (8 hex digits, the same on every node holding the\n' +
    'secret): the first dials, every one is accepted. With a running daemon, also the list it\n' +
    'uses now (it differs from the file until the daemon reloads).' +
    KEYRING_NOTE.split('\n').slice(0, 3).join('\n'),
  options: { ...CONFIG_FILE_OPTIONS, file: { type: 'string' }, ...JSON_OPTION },
  optionHelp: [...CONFIG_FILE_HELP, KEYRING_HELP[CONFIG_FILE_HELP.length] as readonly [string, string], JSON_HELP],
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const { path, daemon } = await keyringOf(ctx);
    const ids = (await loadClusterKeyring(path, null)).map(secretId);
    const inUse = daemon === null ? null : await daemonSecrets(daemon.info, daemon.tokenFile).catch(() => null);
    if (ctx.values['json'] === true) {
      printJson(ctx.io, { file: path, secrets: ids.map((id, i) => ({ id, dials: i === 0 })), daemon: daemon === null ? null : { pid: daemon.info.pid, secrets: inUse } });
      return EXIT.OK;
    }
    ctx.io.out(`${path}\n${formatTable(['ID', 'USE'], ids.map((id, i) => [id, i === 0 ? 'dials and accepts' : 'accepts']))}\n`);
    if (daemon !== null && inUse !== null && inUse.join() !== ids.join()) {
      ctx.io.out(`the running distkitd (pid ${daemon.info.pid}) uses ${inUse.join(', ') || 'no secret'}: it takes the file at its next reload (kill -HUP ${daemon.info.pid})\n`);
    }
    return EXIT.OK;
  },
};

interface Keyring {
  readonly path: string;
  /** The running daemon of the state folder, and where its token is. */
  readonly daemon: { readonly info: ControlInfo; readonly tokenFile: string } | null;
}

/** Which file: --file, else the running daemon's, else the config's cluster_secret_file. */
async function keyringOf(ctx: CommandContext): Promise<Keyring> {
  const config = await configFrom(ctx);
  const paths = statePaths(config.stateDir);
  const info = await runningDaemon(paths);
  const daemon = info === null ? null : { info, tokenFile: config.control.tokenFile ?? paths.token };
  const flag = ctx.values['file'] as string | undefined;
  const path = flag !== undefined ? resolve(ctx.io.cwd, flag) : (info?.clusterSecretFile ?? config.clusterSecretFile);
  if (path === null || path === undefined) {
    throw new DaemonError(
      'CONFIG_FILE',
      `no cluster secret file: neither a running distkitd of ${config.stateDir} nor the configuration (cluster_secret_file) names one. ` +
        'Give --file FILE, or start the cluster with one (distkitd secret new --out FILE, then cluster_secret_file = "FILE" on every node)',
    );
  }
  return { path, daemon };
}

async function daemonSecrets(info: ControlInfo, tokenFile: string): Promise<string[]> {
  const status = (await callControl({ url: info.url, token: await readToken(tokenFile), tokenFile }, 'GET', '/v1/status')) as { clusterSecrets?: unknown };
  return Array.isArray(status.clusterSecrets) ? status.clusterSecrets.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * Reads the keyring, changes it, writes it (atomically, 0600), makes the running daemon reload it
 * and waits until the daemon reports the new list. `create`: a missing keyring file is created.
 */
async function changeKeyring(
  ctx: CommandContext,
  change: (secrets: readonly Uint8Array[], path: string) => { secrets: Uint8Array[]; said: string },
  create = false,
): Promise<number> {
  const { path, daemon } = await keyringOf(ctx);
  const exists = await stat(path).then(() => true, () => false);
  let before: Uint8Array[] = [];
  if (exists || !create) before = await loadClusterKeyring(path, null);
  const { secrets, said } = change(before, path);
  const ids = secrets.map(secretId);
  const changed = ids.join() !== before.map(secretId).join();
  if (changed) await writeClusterKeyring(path, secrets);
  let reloaded: { pid: number; secrets: string[] } | null = null;
  const usesThisFile = daemon !== null && (daemon.info.clusterSecretFile ?? null) === path;
  if (usesThisFile && ctx.values['no-reload'] !== true) {
    const current = await daemonSecrets(daemon.info, daemon.tokenFile).catch(() => null);
    if (current !== null && current.join() !== ids.join()) {
      process.kill(daemon.info.pid, 'SIGHUP');
      // SIGHUP is asynchronous: the change is done when the daemon says so.
      const end = Date.now() + 10_000;
      let seen: string[] | null = current;
      while (seen?.join() !== ids.join() && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await daemonSecrets(daemon.info, daemon.tokenFile).catch(() => null);
      }
      if (seen?.join() !== ids.join()) {
        throw new DaemonError(
          'CONTROL_REFUSED',
          `wrote ${path}, but the running distkitd (pid ${daemon.info.pid}) did not take it within 10 s (it uses ${seen?.join(', ') ?? '?'}): see its log for "reload failed"`,
        );
      }
    }
    reloaded = { pid: daemon.info.pid, secrets: ids };
  }
  if (ctx.values['json'] === true) printJson(ctx.io, { file: path, secrets: ids, changed, daemon: reloaded });
  else {
    ctx.io.out(`${said}\n${path}: ${ids.join(', ')} (dials with ${ids[0]})\n`);
    if (reloaded) ctx.io.out(`the running distkitd (pid ${reloaded.pid}) uses it now\n`);
    else if (daemon !== null && !usesThisFile) ctx.io.out(`note: the running distkitd (pid ${daemon.info.pid}) uses ${daemon.info.clusterSecretFile ?? 'no cluster secret file'}, not this file\n`);
  }
  return EXIT.OK;
}
