import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, CONFIG_FILE_HELP, CONFIG_FILE_OPTIONS, JSON_HELP, JSON_OPTION, configFrom, printJson } from './command.ts';
import { DaemonError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { encodePublicKey, fingerprint, generateIdentity } from '../identity.ts';
import { ensureStateDir, statePaths, writeIdentity } from '../state.ts';

export const keygenCommand: Command = {
  name: 'keygen',
  summary: "generate a node identity (X25519 key pair)",
  usage: 'keygen [--state-dir DIR | --out FILE] [--force] [--comment TEXT] [--json]',
  description:
    "Writes a new private key (one line, mode 0600, atomically) and its public key line beside it\n" +
    '(FILE.pub, 0644). Without --out it is the identity of the node in the state folder. An existing\n' +
    'key is never replaced without --force: peers that pinned it would refuse the node.',
  options: { ...CONFIG_FILE_OPTIONS, out: { type: 'string', short: 'o' }, force: { type: 'boolean' }, comment: { type: 'string' }, ...JSON_OPTION },
  optionHelp: [
    ...CONFIG_FILE_HELP,
    ['-o, --out FILE', 'write FILE and FILE.pub instead of the state folder identity'],
    ['--force', 'replace an existing key'],
    ['--comment TEXT', 'comment on the public key line (default: none)'],
    JSON_HELP,
  ],
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    let keyPath: string;
    let pubPath: string;
    const out = ctx.values['out'] as string | undefined;
    if (out !== undefined) {
      keyPath = resolve(ctx.io.cwd, out);
      pubPath = `${keyPath}.pub`;
    } else {
      const config = await configFrom(ctx);
      await ensureStateDir(config.stateDir);
      const paths = statePaths(config.stateDir);
      keyPath = paths.identityKey;
      pubPath = paths.identityPub;
    }
    if (ctx.values['force'] !== true && (await exists(keyPath))) {
      throw new DaemonError('KEY_EXISTS', `${keyPath} already exists; keeping it (use --force to replace the identity: peers that pinned its key will refuse it)`);
    }
    const identity = generateIdentity();
    const comment = ctx.values['comment'] as string | undefined;
    await writeIdentity(keyPath, pubPath, identity, comment);
    const result = { privateKeyFile: keyPath, publicKeyFile: pubPath, publicKey: encodePublicKey(identity.publicKey), fingerprint: fingerprint(identity.publicKey) };
    if (ctx.values['json'] === true) printJson(ctx.io, result);
    else ctx.io.out(`wrote ${keyPath} (0600) and ${pubPath}\n${result.fingerprint}\npublic key: ${result.publicKey}\n`);
    return EXIT.OK;
  },
};

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
