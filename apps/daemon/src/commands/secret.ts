// `distkitd secret new`: a fresh cluster secret file (Serf's `keygen`, but written to a file
// 0600 instead of printed, so the secret never passes through a terminal, a scrollback or a
// shell history). Online rotation (install, use, remove across a running cluster) needs the
// kernel to take new secrets at run time; until then a new secret is rolled out by editing the
// file (new line first) and restarting the nodes one by one.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatClusterKeyring, generateClusterSecret } from '@distkit/handshake';
import { writeFileAtomic } from '../atomic-file.ts';
import { type Command, CONFIG_FILE_HELP, CONFIG_FILE_OPTIONS, JSON_HELP, JSON_OPTION, configFrom, printJson } from './command.ts';
import { DaemonError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { ensureStateDir } from '../state.ts';

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
    'handshake. Prints an id (SHA-256 of the secret) to compare copies. An existing file is never\n' +
    'replaced without --force (exit 73): the nodes using it would lose their links.\n' +
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
      throw new DaemonError('KEY_EXISTS', `${path} already exists; keeping it (use --force to replace it: every node using the old secret must get the new one)`);
    }
    const secret = generateClusterSecret();
    await writeFileAtomic(path, formatClusterKeyring([secret]), { mode: 0o600 });
    const id = `SHA256:${createHash('sha256').update(secret).digest('base64').replace(/=+$/, '').slice(0, 16)}`;
    if (ctx.values['json'] === true) printJson(ctx.io, { file: path, id });
    else {
      ctx.io.out(
        `wrote ${path} (0600), secret id ${id}\n` +
          `Copy it to every node over a secure channel, then set in each config:\n  cluster_secret_file = ${JSON.stringify(path)}\n(or run with --cluster-secret-file ${path})\n`,
      );
    }
    return EXIT.OK;
  },
};
