// `distkitd <command>`: argument parsing, help and exit codes. Every command has --help; a bad
// flag, like a bad config, exits 78 (EX_CONFIG) before anything is written.
import { parseArgs } from 'node:util';
import { checkConfigCommand } from './commands/check-config.ts';
import { connectCommand, disconnectCommand, eventsCommand, nodesCommand, sendCommand, statusCommand } from './commands/client.ts';
import type { Command, Io } from './commands/command.ts';
import { fingerprintCommand } from './commands/fingerprint.ts';
import { keygenCommand } from './commands/keygen.ts';
import { forceLeaveCommand, joinCommand, leaveCommand } from './commands/membership.ts';
import { runCommand } from './commands/run.ts';
import { secretInstallCommand, secretListCommand, secretNewCommand, secretRemoveCommand, secretUseCommand } from './commands/secret.ts';
import { tagsResetCommand, tagsSetCommand } from './commands/tags.ts';
import { trustAddCommand, trustListCommand, trustRemoveCommand } from './commands/trust.ts';
import { DaemonError, isDaemonError } from './errors.ts';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.ts';
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
  secretNewCommand,
  secretInstallCommand,
  secretUseCommand,
  secretRemoveCommand,
  secretListCommand,
  statusCommand,
  nodesCommand,
  joinCommand,
  leaveCommand,
  forceLeaveCommand,
  connectCommand,
  disconnectCommand,
  sendCommand,
  tagsSetCommand,
  tagsResetCommand,
  eventsCommand,
];

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
      const bind = /EADDRINUSE|EADDRNOTAVAIL|EACCES/.exec(err.message)?.[0];
      const hint = bind === 'EADDRINUSE' ? ' (another distkitd on this address? choose another with --listen)' : '';
      io.err(`distkitd: ${err.message}${hint}\n`);
      return bind ? EXIT.OSERR : EXIT.SOFTWARE;
    }
    io.err(`distkitd: unexpected error (a bug; please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.SOFTWARE;
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? argv.slice(1).join(' ') : '';
    const command = COMMANDS.find((c) => c.name === topic);
    io.out(command ? commandHelp(command) : overview());
    return topic && !command && !GROUPS.includes(topic) ? EXIT.CONFIG : EXIT.OK;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    io.out(`distkitd ${daemonVersion()}\n`);
    return EXIT.OK;
  }
  if (first !== undefined && GROUPS.includes(first) && (second === undefined || second === '--help' || second === '-h')) {
    io.out(groupHelp(first));
    return second === undefined ? EXIT.CONFIG : EXIT.OK;
  }
  const twoWords = first !== undefined && GROUPS.includes(first) ? `${first} ${second}` : first;
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
  const { protectedArgs, restore } = negativeNumbersAsValues(args);
  try {
    const raw = parseArgs({ args: protectedArgs, options: command.options, allowPositionals: true, strict: true });
    parsed = { values: restoreValues(raw.values, restore), positionals: raw.positionals.map(restore) };
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

/**
 * A negative number is a value, never a flag: `distkitd send NODE -5` sends -5. parseArgs would
 * take `-5` for an unknown short option, so such tokens are swapped for placeholders it reads
 * as positionals (or as an option's value) and swapped back after. Anything else that starts
 * with a dash goes after `--`: `distkitd send NODE -- -x` sends the string "-x".
 */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

function negativeNumbersAsValues(args: readonly string[]): { protectedArgs: string[]; restore: (s: string) => string } {
  const saved: string[] = [];
  const end = args.indexOf('--');
  const protectedArgs = args.map((a, i) => {
    if ((end >= 0 && i > end) || !NEGATIVE_NUMBER.test(a)) return a;
    saved.push(a);
    return `\u0000${saved.length - 1}`;
  });
  const restore = (s: string): string => {
    const m = /^\u0000(\d+)$/.exec(s);
    return m ? (saved[Number(m[1])] ?? s) : s;
  };
  return { protectedArgs, restore };
}

function restoreValues(values: Record<string, unknown>, restore: (s: string) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[k] = typeof v === 'string' ? restore(v) : Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? restore(x) : x)) : v;
  return out;
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

/** Commands of two words: `trust add`, `secret new`, `tags set`. */
const GROUPS: readonly string[] = ['trust', 'secret', 'tags'];

const GROUP_SUMMARY: Readonly<Record<string, string>> = {
  trust: 'Manage authorized_nodes and known_nodes in the state folder.',
  secret:
    'Manage the cluster secret file (the Noise PSK every node of the cluster shares) as a keyring.\n' +
    'Online rotation, each step on every node before the next: install NEW, use NEW-ID, remove OLD-ID.',
  tags: "Change this node's tags at run time (the config's tags table sets them at start).",
};

function groupHelp(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return `Usage: distkitd ${group} <${members.map((c) => c.name.split(' ')[1]).join('|')}> ...

${GROUP_SUMMARY[group] ?? ''}

${members.map((c) => `  distkitd ${c.usage}\n      ${c.summary}`).join('\n')}
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
