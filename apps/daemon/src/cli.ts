// `distkitd <command>`: argument parsing, help and exit codes. Every command has --help; a bad
// flag, like a bad config, exits 78 (EX_CONFIG) before anything is written.
import { parseArgs } from 'node:util';
import { checkConfigCommand } from './commands/check-config.ts';
import { connectCommand, disconnectCommand, eventsCommand, nodesCommand, sendCommand, statusCommand } from './commands/client.ts';
import type { Command, Io } from './commands/command.ts';
import { fingerprintCommand } from './commands/fingerprint.ts';
import { keygenCommand } from './commands/keygen.ts';
import { runCommand } from './commands/run.ts';
import { trustAddCommand, trustListCommand, trustRemoveCommand } from './commands/trust.ts';
import { DaemonError, isDaemonError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { daemonVersion } from './version.ts';

export type { Io } from './commands/command.ts';

const COMMANDS: readonly Command[] = [
  runCommand,
  checkConfigCommand,
  keygenCommand,
  fingerprintCommand,
  trustAddCommand,
  trustRemoveCommand,
  trustListCommand,
  statusCommand,
  nodesCommand,
  connectCommand,
  disconnectCommand,
  sendCommand,
  eventsCommand,
];

const EXIT_CODES_HELP = `Exit codes:
  0   success (run: stopped by SIGTERM/SIGINT)
  1   failure (a client command refused by the daemon, an unexpected error)
  69  the control API cannot be reached (is distkitd running?)
  73  the state folder is used by another distkitd, or keygen would overwrite a key
  75  run: the partition resolver decided this node must restart (after the on_restart hook)
  77  a key, token or cluster secret file is readable by group or others
  78  bad config file, DISTKIT_* variable or flag; nothing was changed on disk`;

function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

/** Runs one distkitd command line; resolves to the process exit code. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (isDaemonError(err)) {
      io.err(`distkitd: ${err.message}\n`);
      return err.exitCode;
    }
    // A coded error of another distkit package (KernelError, HandshakeError): its message is meant
    // for people, the stack is not.
    if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && /^(Kernel|Handshake|Wire)Error$/.test(err.name)) {
      const hint = /EADDRINUSE/.test(err.message) ? ' (another distkitd on this address? choose another with --listen)' : '';
      io.err(`distkitd: ${err.message}${hint}\n`);
      return EXIT.FAILURE;
    }
    io.err(`distkitd: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.FAILURE;
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? argv.slice(1).join(' ') : '';
    const command = COMMANDS.find((c) => c.name === topic);
    io.out(command ? commandHelp(command) : overview());
    return topic && !command && topic !== 'trust' ? EXIT.CONFIG : EXIT.OK;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    io.out(`distkitd ${daemonVersion()}\n`);
    return EXIT.OK;
  }
  if (first === 'trust' && (second === undefined || second === '--help' || second === '-h')) {
    io.out(trustHelp());
    return second === undefined ? EXIT.CONFIG : EXIT.OK;
  }
  const twoWords = first === 'trust' ? `trust ${second}` : first;
  const command = COMMANDS.find((c) => c.name === twoWords);
  if (command === undefined) {
    throw new DaemonError('BAD_FLAG', `unknown command "${twoWords}" (see distkitd --help)`);
  }
  const args = argv.slice(command.name.split(' ').length);
  if (args.includes('--help') || args.includes('-h')) {
    io.out(commandHelp(command));
    return EXIT.OK;
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: command.options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new DaemonError('BAD_FLAG', `${command.name}: ${message} (see distkitd ${command.name} --help)`);
  }
  const { min, max, names } = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const expected = max === 0 ? 'no arguments' : `${names}`;
    throw new DaemonError('BAD_FLAG', `${command.name}: expected ${expected}, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((p) => JSON.stringify(p)).join(' ')} (see distkitd ${command.name} --help)`);
  }
  return command.run({ io, values: parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>, positionals: parsed.positionals });
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `distkitd: the reference distkit daemon (${daemonVersion()})

Usage: distkitd <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`distkitd <command> --help\` for a command's options.
Configuration: a TOML or JSON file (-c), DISTKIT_* variables, flags; see the README.

${EXIT_CODES_HELP}
`;
}

function trustHelp(): string {
  const trust = COMMANDS.filter((c) => c.name.startsWith('trust '));
  return `Usage: distkitd trust <add|remove|list> ...

Manage authorized_nodes and known_nodes in the state folder.

${trust.map((c) => `  distkitd ${c.usage}\n      ${c.summary}`).join('\n')}
`;
}

export function commandHelp(command: Command): string {
  const options: Array<readonly [string, string]> = [...command.optionHelp, ['-h, --help', 'show this help']];
  const width = Math.max(...options.map(([flag]) => flag.length));
  return `Usage: distkitd ${command.usage}

${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.

${command.description}

Options:
${options.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join('\n')}
`;
}
