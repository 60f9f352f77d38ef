import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, type CommandContext, CONFIG_FILE_HELP, CONFIG_FILE_OPTIONS, JSON_HELP, JSON_OPTION, configFrom, printJson } from './command.ts';
import { DaemonError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { encodePublicKey, fingerprint, isNodeName, parsePublicKey } from '../identity.ts';
import { formatTable } from '../table.ts';
import { ensureStateDir, readTrustFile, removeTrustEntry, statePaths, upsertTrustEntry, type StatePaths } from '../state.ts';
import { RELOAD_HELP, RELOAD_OPTION, reloadDaemon } from './daemon-signal.ts';

export const trustAddCommand: Command = {
  name: 'trust add',
  summary: 'authorize a node: add NAME and its key to authorized_nodes',
  usage: 'trust add NAME KEY [--option OPT]... [--no-reload]',
  description:
    'KEY is a base64 public key, a public key line (distkit-x25519 <base64>), or @FILE to read one\n' +
    "(another node's identity.pub). A name already present gets the new key. The file is rewritten\n" +
    'atomically; a running daemon of this state folder reloads its trust (SIGHUP) at once.',
  options: { ...CONFIG_FILE_OPTIONS, option: { type: 'string', multiple: true }, ...RELOAD_OPTION, ...JSON_OPTION },
  optionHelp: [...CONFIG_FILE_HELP, ['--option OPT', 'an option for the line (e.g. revoked); repeatable'], RELOAD_HELP, JSON_HELP],
  positionals: { min: 2, max: 2, names: 'NAME KEY' },
  async run(ctx) {
    const [name = '', keyArg = ''] = ctx.positionals;
    if (!isNodeName(name)) throw new DaemonError('BAD_FLAG', `${JSON.stringify(name)} is not a node name (letters, digits, _ . @ : + - [ ])`);
    const keyText = keyArg.startsWith('@') ? await readFile(resolve(ctx.io.cwd, keyArg.slice(1)), 'utf8') : keyArg;
    let key: Uint8Array;
    try {
      key = parsePublicKey(keyText, keyArg.startsWith('@') ? keyArg.slice(1) : 'KEY');
    } catch (err) {
      throw new DaemonError('BAD_FLAG', (err as Error).message);
    }
    const options: Record<string, string | true> = {};
    for (const o of (ctx.values['option'] as string[] | undefined) ?? []) {
      const [k = '', v] = o.split('=', 2);
      options[k] = v ?? true;
    }
    const paths = await trustPaths(ctx);
    await upsertTrustEntry(paths.authorizedNodes, { name, key, options }, 'authorized');
    const entry = { name, fingerprint: fingerprint(key), publicKey: encodePublicKey(key), file: paths.authorizedNodes };
    if (ctx.values['json'] === true) printJson(ctx.io, entry);
    else ctx.io.out(`authorized ${name} ${entry.fingerprint} in ${paths.authorizedNodes}\n`);
    await reloadDaemon(ctx, paths);
    return EXIT.OK;
  },
};

export const trustRemoveCommand: Command = {
  name: 'trust remove',
  summary: 'forget a node: remove NAME from authorized_nodes and known_nodes',
  usage: 'trust remove NAME [--no-reload]',
  description:
    'Removes every line for NAME from both trust files (like ssh-keygen -R). Links to NAME stay up\n' +
    'in tofu mode until they drop; in strict mode the reload closes them.',
  options: { ...CONFIG_FILE_OPTIONS, ...RELOAD_OPTION, ...JSON_OPTION },
  optionHelp: [...CONFIG_FILE_HELP, RELOAD_HELP, JSON_HELP],
  positionals: { min: 1, max: 1, names: 'NAME' },
  async run(ctx) {
    const name = ctx.positionals[0] ?? '';
    const paths = await trustPaths(ctx);
    const fromAuthorized = await removeTrustEntry(paths.authorizedNodes, name, 'authorized');
    const fromKnown = await removeTrustEntry(paths.knownNodes, name, 'known');
    if (ctx.values['json'] === true) printJson(ctx.io, { name, authorized: fromAuthorized, known: fromKnown });
    else if (!fromAuthorized && !fromKnown) ctx.io.out(`${name} was not in authorized_nodes or known_nodes\n`);
    else ctx.io.out(`removed ${name} from ${[fromAuthorized && 'authorized_nodes', fromKnown && 'known_nodes'].filter(Boolean).join(' and ')}\n`);
    if (fromAuthorized || fromKnown) await reloadDaemon(ctx, paths);
    return fromAuthorized || fromKnown ? EXIT.OK : EXIT.REFUSED;
  },
};

export const trustListCommand: Command = {
  name: 'trust list',
  summary: 'list authorized and known nodes with their fingerprints',
  usage: 'trust list [--json]',
  description: 'Prints authorized_nodes (peers allowed in, pinned) and known_nodes (keys learned on first use).',
  options: { ...CONFIG_FILE_OPTIONS, ...JSON_OPTION },
  optionHelp: [...CONFIG_FILE_HELP, JSON_HELP],
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const paths = statePaths((await configFrom(ctx)).stateDir);
    const rows = [
      ...(await readTrustFile(paths.authorizedNodes)).map((e) => ({ ...e, source: 'authorized' })),
      ...(await readTrustFile(paths.knownNodes)).map((e) => ({ ...e, source: 'known' })),
    ].map((e) => ({ name: e.name, source: e.source, fingerprint: fingerprint(e.key), publicKey: encodePublicKey(e.key), options: e.options }));
    if (ctx.values['json'] === true) {
      printJson(ctx.io, rows);
      return EXIT.OK;
    }
    if (rows.length === 0) {
      ctx.io.out(`no trusted nodes in ${paths.dir} (add one with: distkitd trust add NAME KEY)\n`);
      return EXIT.OK;
    }
    ctx.io.out(
      `${formatTable(
        ['NAME', 'SOURCE', 'FINGERPRINT', 'OPTIONS'],
        rows.map((r) => [r.name, r.source, r.fingerprint, Object.entries(r.options).map(([k, v]) => (v === true ? k : `${k}=${v}`)).join(',')]),
      )}\n`,
    );
    return EXIT.OK;
  },
};

async function trustPaths(ctx: CommandContext): Promise<StatePaths> {
  const config = await configFrom(ctx);
  await ensureStateDir(config.stateDir);
  return statePaths(config.stateDir);
}

