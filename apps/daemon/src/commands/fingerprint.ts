import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, CONFIG_FILE_HELP, CONFIG_FILE_OPTIONS, JSON_HELP, JSON_OPTION, configFrom, printJson } from './command.ts';
import { DaemonError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { encodePublicKey, fingerprint, parsePrivateKeyFile, parsePublicKey } from '../identity.ts';
import { readIdentity, statePaths } from '../state.ts';

export const fingerprintCommand: Command = {
  name: 'fingerprint',
  summary: "print a key's SHA256 fingerprint (this node's by default)",
  usage: 'fingerprint [FILE | KEY] [--state-dir DIR] [--json]',
  description:
    'Prints SHA256:<base64>, as `ssh-keygen -l` does. FILE may be a private key file, a public key\n' +
    'file (distkit-x25519 <base64>) or hold a bare base64 key; KEY is a base64 public key. Without an\n' +
    "argument: the identity of the node in the state folder.",
  options: { ...CONFIG_FILE_OPTIONS, ...JSON_OPTION },
  optionHelp: [...CONFIG_FILE_HELP, JSON_HELP],
  positionals: { min: 0, max: 1, names: '[FILE | KEY]' },
  async run(ctx) {
    const arg = ctx.positionals[0];
    let publicKey: Uint8Array;
    let source: string;
    if (arg === undefined) {
      const paths = statePaths((await configFrom(ctx)).stateDir);
      publicKey = (await readIdentity(paths.identityKey).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new DaemonError('STATE_IO', `no identity in ${paths.dir} yet: run distkitd keygen or distkitd run`);
        }
        throw err;
      })).publicKey;
      source = paths.identityKey;
    } else {
      const path = resolve(ctx.io.cwd, arg);
      const text = await readFile(path, 'utf8').catch(() => null);
      if (text === null) {
        publicKey = parsePublicKey(arg, 'KEY');
        source = 'argument';
      } else {
        publicKey = text.startsWith('distkit-x25519-private ') ? parsePrivateKeyFile(text, path).publicKey : parsePublicKey(text, path);
        source = path;
      }
    }
    const result = { fingerprint: fingerprint(publicKey), publicKey: encodePublicKey(publicKey), source };
    if (ctx.values['json'] === true) printJson(ctx.io, result);
    else ctx.io.out(`${result.fingerprint}\n`);
    return EXIT.OK;
  },
};
