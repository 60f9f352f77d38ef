// What every distkitd command is made of, and the option sets they share.
import type { ParseArgsConfig } from 'node:util';
import { type ConfigSources, loadConfig, type DaemonConfig } from '../config.ts';

/** Where a command reads and writes: the process in production, buffers in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
}

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandContext {
  readonly io: Io;
  readonly values: Values;
  readonly positionals: readonly string[];
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** After `distkitd `, e.g. `trust add NAME KEY [options]`. */
  readonly usage: string;
  /** Paragraphs printed by --help after the usage line. */
  readonly description: string;
  readonly options: Options;
  /** [flag, explanation] lines for --help. */
  readonly optionHelp: readonly (readonly [string, string])[];
  readonly positionals: { readonly min: number; readonly max: number; readonly names: string };
  run(ctx: CommandContext): Promise<number>;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export const CONFIG_FILE_OPTIONS: Options = {
  config: { type: 'string', short: 'c' },
  'state-dir': { type: 'string' },
};

export const CONFIG_FILE_HELP: readonly (readonly [string, string])[] = [
  ['-c, --config FILE', 'TOML or JSON config file (default: DISTKIT_CONFIG, else the embedded default)'],
  ['--state-dir DIR', 'state folder (default: DISTKIT_STATE_DIR, state_dir, $STATE_DIRECTORY, /var/lib/distkit for root, ~/.local/state/distkit)'],
];

/** Flags of `run` and `check-config` that override config keys (see config.ts CONFIG_FLAGS). */
export const NODE_OPTIONS: Options = {
  ...CONFIG_FILE_OPTIONS,
  name: { type: 'string' },
  cluster: { type: 'string' },
  'cluster-secret-file': { type: 'string' },
  listen: { type: 'string' },
  'heartbeat-listen': { type: 'string' },
  control: { type: 'string' },
  peer: { type: 'string', multiple: true },
  'auto-connect': { type: 'string' },
  reconnect: { type: 'string' },
  tag: { type: 'string', multiple: true },
  strategy: { type: 'string' },
  'trust-mode': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
};

export const NODE_HELP: readonly (readonly [string, string])[] = [
  ...CONFIG_FILE_HELP,
  ['--name NAME', 'node name (default: node-<key id>@<host>)'],
  ['--cluster ID', 'cluster id; nodes of other clusters fail the handshake (default: distkit)'],
  ['--cluster-secret-file FILE', 'cluster secret (distkitd secret new): nodes without it cannot link'],
  ['--listen HOST:PORT', 'links (TCP) and heartbeats (UDP) (default: 127.0.0.1:4370)'],
  ['--heartbeat-listen HOST:PORT', 'heartbeats on another address (default: as --listen)'],
  ['--control HOST:PORT|unix:PATH', 'control API (default: 127.0.0.1:4380)'],
  ['--peer NAME=HOST:PORT[#KEY]', 'a peer, with its base64 public key to pin it; repeatable'],
  ['--auto-connect MODE', 'always | once | never (default: once)'],
  ['--reconnect WHEN', 'on-demand | eager: a lost link under `always` is made again on the next send (default) or by itself'],
  ['--tag KEY=VALUE', 'a tag carried in the hello (over the config\'s tags table); repeatable'],
  ['--strategy NAME', 'keep-majority | keep-oldest | static-quorum | keep-referee | down-all | manual'],
  ['--trust-mode MODE', 'tofu | strict (default: tofu)'],
  ['--log-level LEVEL', 'trace | debug | info | warn | error | fatal | silent (default: info)'],
  ['--log-format FORMAT', 'auto | json | pretty (default: auto: pretty on a terminal)'],
];

export const JSON_OPTION: Options = { json: { type: 'boolean' } };
export const JSON_HELP: readonly [string, string] = ['--json', 'print JSON for scripts instead of text for people'];

/** The config as the command's flags and environment give it. */
export function configFrom(ctx: CommandContext, flags: Record<string, string | readonly string[] | boolean | undefined> = {}): Promise<DaemonConfig> {
  const sources: ConfigSources = {
    file: (ctx.values['config'] as string | undefined) ?? ctx.io.env['DISTKIT_CONFIG'] ?? null,
    env: ctx.io.env,
    flags: { 'state-dir': ctx.values['state-dir'] as string | undefined, ...flags },
    cwd: ctx.io.cwd,
  };
  return loadConfig(sources);
}

/** The flags of NODE_OPTIONS that map onto config keys. */
export function nodeFlags(values: Values): Record<string, string | readonly string[] | undefined> {
  const out: Record<string, string | readonly string[] | undefined> = {};
  for (const key of Object.keys(NODE_OPTIONS)) {
    if (key === 'config') continue;
    const v = values[key];
    if (typeof v === 'string') out[key] = v;
    else if (Array.isArray(v)) out[key] = v.filter((x): x is string => typeof x === 'string');
  }
  return out;
}

export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2)}\n`);
}
