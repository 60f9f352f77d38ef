// Loading the daemon's configuration: an optional TOML or JSON file, then DISTKIT_* environment
// variables, then command-line flags (each layer overrides the one before), validated as a whole.
// Errors name the key, where it came from (file and line, variable or flag) and what is allowed.
// Nothing here writes to disk, so a bad config never changes the state folder.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { findNodeAtLocation, type Node as JsonNode, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import { parse as parseToml, TomlError } from 'smol-toml';
import { type FileConfig, type SchemaIssue, validateConfig } from './config-schema.ts';
import { DaemonError } from './errors.ts';

/** Where a config value can come from, for the environment and flag layers. */
type ValueKind = 'string' | 'number' | 'bool' | 'duration' | 'list' | 'peers' | 'tags';

interface Override {
  readonly path: readonly string[];
  readonly kind: ValueKind;
}

/**
 * DISTKIT_* environment variables: the key path in upper case joined with `_`; the
 * `discovery.dns` table is shortened to DNS_. Lists are comma-separated. DISTKIT_PEERS adds peers
 * (`name=host:port[#key]`, comma-separated) to the file's; DISTKIT_TAGS sets tags (`key=value`,
 * comma-separated) over the file's.
 */
export const ENV_VARS: Readonly<Record<string, Override>> = Object.freeze({
  DISTKIT_NAME: { path: ['name'], kind: 'string' },
  DISTKIT_CLUSTER: { path: ['cluster'], kind: 'string' },
  DISTKIT_STATE_DIR: { path: ['state_dir'], kind: 'string' },
  DISTKIT_LISTEN: { path: ['listen'], kind: 'string' },
  DISTKIT_HEARTBEAT_LISTEN: { path: ['heartbeat_listen'], kind: 'string' },
  DISTKIT_AUTO_CONNECT: { path: ['auto_connect'], kind: 'string' },
  DISTKIT_RECONNECT: { path: ['reconnect'], kind: 'string' },
  DISTKIT_TAGS: { path: ['tags'], kind: 'tags' },
  DISTKIT_HIDDEN: { path: ['hidden'], kind: 'bool' },
  DISTKIT_HEARTBEAT_INTERVAL: { path: ['heartbeat_interval'], kind: 'duration' },
  DISTKIT_TICK_TIME: { path: ['tick_time'], kind: 'duration' },
  DISTKIT_SETUP_TIME: { path: ['setup_time'], kind: 'duration' },
  DISTKIT_STRATEGY: { path: ['strategy'], kind: 'string' },
  DISTKIT_REFEREE: { path: ['referee'], kind: 'string' },
  DISTKIT_QUORUM: { path: ['quorum'], kind: 'number' },
  DISTKIT_CLUSTER_SECRET_FILE: { path: ['cluster_secret_file'], kind: 'string' },
  DISTKIT_SUITES: { path: ['suites'], kind: 'list' },
  DISTKIT_PEERS: { path: ['peers'], kind: 'peers' },
  DISTKIT_DETECTOR_THRESHOLD: { path: ['detector', 'threshold'], kind: 'number' },
  DISTKIT_DETECTOR_MAX_SILENCE: { path: ['detector', 'max_silence'], kind: 'duration' },
  DISTKIT_DETECTOR_ACCEPTABLE_PAUSE: { path: ['detector', 'acceptable_pause'], kind: 'duration' },
  DISTKIT_DETECTOR_STABLE_AFTER: { path: ['detector', 'stable_after'], kind: 'duration' },
  DISTKIT_DETECTOR_PROBES: { path: ['detector', 'probes'], kind: 'number' },
  DISTKIT_DETECTOR_FANOUT: { path: ['detector', 'fanout'], kind: 'number' },
  DISTKIT_TRUST_MODE: { path: ['trust', 'mode'], kind: 'string' },
  DISTKIT_TRUST_ALLOW_STRANGERS: { path: ['trust', 'allow_strangers'], kind: 'bool' },
  DISTKIT_TRUST_ALLOW: { path: ['trust', 'allow'], kind: 'list' },
  DISTKIT_TRUST_DENY: { path: ['trust', 'deny'], kind: 'list' },
  DISTKIT_DNS_SRV: { path: ['discovery', 'dns', 'srv'], kind: 'list' },
  DISTKIT_DNS_A: { path: ['discovery', 'dns', 'a'], kind: 'list' },
  DISTKIT_DNS_PORT: { path: ['discovery', 'dns', 'port'], kind: 'number' },
  DISTKIT_DNS_SERVERS: { path: ['discovery', 'dns', 'servers'], kind: 'list' },
  DISTKIT_DNS_REFRESH: { path: ['discovery', 'dns', 'refresh'], kind: 'duration' },
  DISTKIT_DNS_NAME: { path: ['discovery', 'dns', 'name'], kind: 'string' },
  DISTKIT_WATCHDOG_TIMEOUT: { path: ['watchdog', 'timeout'], kind: 'duration' },
  DISTKIT_CONTROL_LISTEN: { path: ['control', 'listen'], kind: 'string' },
  DISTKIT_CONTROL_ALLOW_REMOTE: { path: ['control', 'allow_remote'], kind: 'bool' },
  DISTKIT_CONTROL_TOKEN_FILE: { path: ['control', 'token_file'], kind: 'string' },
  DISTKIT_CONTROL_UI: { path: ['control', 'ui'], kind: 'bool' },
  DISTKIT_LOG_LEVEL: { path: ['log', 'level'], kind: 'string' },
  DISTKIT_LOG_FORMAT: { path: ['log', 'format'], kind: 'string' },
  DISTKIT_HOOKS_ON_RESTART: { path: ['hooks', 'on_restart'], kind: 'string' },
  DISTKIT_HOOKS_ON_NODEDOWN: { path: ['hooks', 'on_nodedown'], kind: 'string' },
  DISTKIT_HOOKS_ON_PARTITION: { path: ['hooks', 'on_partition'], kind: 'string' },
  DISTKIT_HOOKS_TIMEOUT: { path: ['hooks', 'timeout'], kind: 'duration' },
  DISTKIT_HOOKS_RESTART_EXIT: { path: ['hooks', 'restart_exit'], kind: 'bool' },
  DISTKIT_HOOKS_RESTART_DELAY: { path: ['hooks', 'restart_delay'], kind: 'duration' },
});

/** Flags of `run` and `check-config` that set config keys (flags beat the environment). */
export const CONFIG_FLAGS: Readonly<Record<string, Override>> = Object.freeze({
  'state-dir': { path: ['state_dir'], kind: 'string' },
  name: { path: ['name'], kind: 'string' },
  cluster: { path: ['cluster'], kind: 'string' },
  'cluster-secret-file': { path: ['cluster_secret_file'], kind: 'string' },
  listen: { path: ['listen'], kind: 'string' },
  'heartbeat-listen': { path: ['heartbeat_listen'], kind: 'string' },
  control: { path: ['control', 'listen'], kind: 'string' },
  peer: { path: ['peers'], kind: 'peers' },
  'auto-connect': { path: ['auto_connect'], kind: 'string' },
  reconnect: { path: ['reconnect'], kind: 'string' },
  tag: { path: ['tags'], kind: 'tags' },
  strategy: { path: ['strategy'], kind: 'string' },
  'trust-mode': { path: ['trust', 'mode'], kind: 'string' },
  'log-level': { path: ['log', 'level'], kind: 'string' },
  'log-format': { path: ['log', 'format'], kind: 'string' },
});

export interface ConfigSources {
  /** --config, else DISTKIT_CONFIG; null: the embedded default. */
  readonly file: string | null;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Parsed flag values by flag name (without dashes); `peer` may repeat. */
  readonly flags: Readonly<Record<string, string | readonly string[] | boolean | undefined>>;
  readonly cwd: string;
  /** For the default state folder. */
  readonly uid?: number;
}

export interface DaemonConfig extends FileConfig {
  /** Absolute. */
  readonly stateDir: string;
  /** The config file, or null when running on the embedded default. */
  readonly source: string | null;
}

/**
 * The default state folder: systemd's $STATE_DIRECTORY when set (StateDirectory=), else
 * /var/lib/distkit for root, else $XDG_STATE_HOME/distkit or ~/.local/state/distkit.
 */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>, uid: number): string {
  const systemd = env['STATE_DIRECTORY']?.split(':')[0];
  if (systemd) return systemd;
  if (uid === 0) return '/var/lib/distkit';
  const xdg = env['XDG_STATE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(env['HOME'] ?? homedir(), '.local', 'state'), 'distkit');
}

export async function loadConfig(sources: ConfigSources): Promise<DaemonConfig> {
  const file = sources.file === null ? null : resolve(sources.cwd, sources.file);
  const text = file === null ? null : await readConfigFile(file);
  const format = file === null ? 'toml' : formatOf(file, text ?? '');
  const raw: Record<string, unknown> = file === null || text === null ? {} : parseConfigText(text, file, format);

  // Which layer set each key path, so errors can point at the variable or flag.
  const origin = new Map<string, string>();
  const problems: string[] = [];
  for (const [variable, override] of Object.entries(ENV_VARS)) {
    const value = sources.env[variable];
    if (value === undefined || value === '') continue;
    applyOverride(raw, override, value, variable, origin, problems);
  }
  for (const [flag, override] of Object.entries(CONFIG_FLAGS)) {
    const value = sources.flags[flag];
    if (value === undefined || typeof value === 'boolean') continue;
    for (const one of typeof value === 'string' ? [value] : value) applyOverride(raw, override, one, `--${flag}`, origin, problems);
  }
  if (problems.length > 0) throw configError(problems);

  const result = validateConfig(raw);
  if (!result.ok) {
    // In the order a reader meets them: the file's problems by line, then variables and flags.
    const located = result.issues.map((issue, i) => ({ ...locate(issue, origin, file, text, format), i }));
    located.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) || a.i - b.i);
    throw configError(located.map((l) => l.text));
  }
  const config = result.config;
  const base = (path: string[]): string => (origin.has(path.join('.')) || file === null ? sources.cwd : dirname(file));
  const stateDir =
    config.stateDir === null ? defaultStateDir(sources.env, sources.uid ?? process.getuid?.() ?? -1) : resolve(base(['state_dir']), config.stateDir);
  return {
    ...config,
    stateDir,
    clusterSecretFile: config.clusterSecretFile === null ? null : resolve(base(['cluster_secret_file']), config.clusterSecretFile),
    control: {
      ...config.control,
      tokenFile: config.control.tokenFile === null ? null : resolve(base(['control', 'token_file']), config.control.tokenFile),
      listen:
        config.control.listen.kind === 'unix'
          ? { kind: 'unix', path: resolve(base(['control', 'listen']), config.control.listen.path) }
          : config.control.listen,
    },
    source: file,
  };
}

async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DaemonError('CONFIG_NOT_FOUND', `config file ${file} does not exist`);
    if (code === 'EISDIR') throw new DaemonError('CONFIG_NOT_FOUND', `config file ${file} is a directory`);
    throw new DaemonError('CONFIG_NOT_FOUND', `config file ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

type Format = 'toml' | 'json';

function formatOf(file: string, text: string): Format {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.toml') return 'toml';
  return text.trimStart().startsWith('{') ? 'json' : 'toml';
}

/** Parses TOML or JSON text; syntax errors carry file:line:column. */
export function parseConfigText(text: string, file: string, format: Format): Record<string, unknown> {
  if (format === 'toml') {
    try {
      return parseToml(text) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof TomlError) {
        const message = err.message.split('\n')[0] ?? 'syntax error';
        throw new DaemonError('CONFIG_SYNTAX', `${file}:${err.line}:${err.column}: TOML syntax error: ${message}`, { cause: err });
      }
      throw err;
    }
  }
  // jsonc-parser (strict JSON: no comments, no trailing commas) for the positions of syntax
  // errors; JSON.parse then gives the value with JSON's own semantics.
  const errors: ParseError[] = [];
  parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first !== undefined) {
    // The first only: after a syntax error a parser's later complaints are mostly echoes of it.
    const where = lineColumn(text, first.offset);
    throw new DaemonError('CONFIG_SYNTAX', `${file}:${where.line}:${where.column}: JSON syntax error: ${describeJsonError(printParseErrorCode(first.error))}`);
  }
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DaemonError('CONFIG_INVALID', `${file}: the top level must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** "PropertyNameExpected" -> "property name expected". */
function describeJsonError(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

function applyOverride(raw: Record<string, unknown>, override: Override, value: string, label: string, origin: Map<string, string>, problems: string[]): void {
  const parent = tableAt(raw, override.path.slice(0, -1));
  const key = override.path.at(-1) ?? '';
  if (parent === null) {
    problems.push(`${label}: cannot set ${override.path.join('.')}: the config file's ${override.path.slice(0, -1).join('.')} is not a table`);
    return;
  }
  const dotted = override.path.join('.');
  if (override.kind === 'peers') {
    const list = Array.isArray(parent[key]) ? (parent[key] as unknown[]) : [];
    parent[key] = list;
    for (const spec of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const peer = parsePeerSpec(spec);
      if (peer === null) {
        problems.push(`${label}: ${JSON.stringify(spec)} is not a peer: expected name=host:port or name=host:port#base64-public-key`);
        continue;
      }
      origin.set(`${dotted}.${list.length}`, label);
      list.push(peer);
    }
    return;
  }
  if (override.kind === 'tags') {
    const existing = parent[key];
    if (existing !== undefined && (typeof existing !== 'object' || existing === null || Array.isArray(existing))) {
      problems.push(`${label}: cannot set tags: the config file's tags is not a table`);
      return;
    }
    const table = (existing ?? {}) as Record<string, unknown>;
    parent[key] = table;
    for (const spec of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const eq = spec.indexOf('=');
      if (eq <= 0) {
        problems.push(`${label}: ${JSON.stringify(spec)} is not a tag: expected key=value (e.g. role=db)`);
        continue;
      }
      const tag = spec.slice(0, eq);
      origin.set(`${dotted}.${tag}`, label);
      table[tag] = spec.slice(eq + 1);
    }
    return;
  }
  origin.set(dotted, `${label}${label.startsWith('DISTKIT_') ? ` (${dotted})` : ''}`);
  parent[key] = coerce(value, override.kind);
}

/** `name=host:port[#key]`, the peer syntax of --peer and DISTKIT_PEERS. */
export function parsePeerSpec(spec: string): { name: string; address: string; public_key?: string } | null {
  const eq = spec.indexOf('=');
  if (eq <= 0) return null;
  const name = spec.slice(0, eq);
  const [address, key] = spec.slice(eq + 1).split('#', 2);
  if (!address) return null;
  return key === undefined ? { name, address } : { name, address, public_key: key };
}

function coerce(value: string, kind: ValueKind): unknown {
  switch (kind) {
    case 'bool':
      return /^(true|1|yes|on)$/i.test(value) ? true : /^(false|0|no|off)$/i.test(value) ? false : value;
    case 'number':
    case 'duration':
      return /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    case 'list':
      return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    default:
      return value;
  }
}

function tableAt(raw: Record<string, unknown>, path: readonly string[]): Record<string, unknown> | null {
  let table = raw;
  for (const key of path) {
    const next = table[key];
    if (next === undefined) table[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) return null;
    table = table[key] as Record<string, unknown>;
  }
  return table;
}

function configError(lines: readonly string[]): DaemonError {
  const head = lines.length === 1 ? 'invalid configuration' : `invalid configuration (${lines.length} problems)`;
  return new DaemonError('CONFIG_INVALID', `${head}:\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

/** "peers[1].address" */
export function dottedPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(top level)';
}

/** The problem's text, and its line in the file (null: from a variable or flag, or no line). */
function locate(issue: SchemaIssue, origin: Map<string, string>, file: string | null, text: string | null, format: Format): { text: string; line: number | null } {
  const dotted = dottedPath(issue.path);
  for (let n = issue.path.length; n > 0; n--) {
    const label = origin.get(issue.path.slice(0, n).join('.'));
    // After every line of the file.
    if (label !== undefined) return { text: `${label}: ${dotted}: ${issue.message}`, line: Number.MAX_SAFE_INTEGER };
  }
  if (file === null || text === null) return { text: `${dotted}: ${issue.message}`, line: null };
  const line = format === 'toml' ? tomlKeyLine(text, issue.path) : jsonKeyLine(text, issue.path);
  return { text: `${file}${line ? `:${line}` : ''}: ${dotted}: ${issue.message}`, line };
}

/**
 * The line that best matches a key path in TOML text: a simple scan that follows [table] and
 * [[array]] headers and `key = ` lines, and keeps the line with the longest matching prefix
 * (so a key inside an inline table points at its parent's line).
 */
export function tomlKeyLine(text: string, path: readonly (string | number)[]): number | null {
  const want = path.map(String);
  let table: string[] = [];
  const arrayCounts = new Map<string, number>();
  let best: { line: number; depth: number } | null = null;
  const consider = (keyPath: string[], line: number): void => {
    let depth = 0;
    while (depth < keyPath.length && depth < want.length && keyPath[depth] === want[depth]) depth++;
    if (depth === keyPath.length && depth > 0 && (best === null || depth > best.depth)) best = { line, depth };
  };
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const arrayHeader = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(line);
    const header = arrayHeader ? null : /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (arrayHeader) {
      const name = splitKey(arrayHeader[1] ?? '');
      const id = name.join('.');
      const index = arrayCounts.get(id) ?? 0;
      arrayCounts.set(id, index + 1);
      table = [...name, String(index)];
      consider(table, i + 1);
    } else if (header) {
      table = splitKey(header[1] ?? '');
      consider(table, i + 1);
    } else {
      const assignment = /^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/.exec(line);
      if (assignment) consider([...table, ...splitKey(assignment[1] ?? '')], i + 1);
    }
  });
  return (best as { line: number } | null)?.line ?? null;
}

function splitKey(key: string): string[] {
  return (key.match(/"[^"]*"|'[^']*'|[^.\s]+/g) ?? []).map((k) => k.replace(/^["']|["']$/g, ''));
}

/**
 * For JSON: the line of `path` in the parsed tree (jsonc-parser keeps every node's offset): the
 * key's line for an object member, the value's for an array item. A path that does not exist (a
 * required key missing) points at the deepest part that does.
 */
export function jsonKeyLine(text: string, path: readonly (string | number)[]): number | null {
  const tree = parseTree(text);
  if (tree === undefined) return null;
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? tree : findNodeAtLocation(tree, path.slice(0, n) as (string | number)[]);
    if (node === undefined) continue;
    const at: JsonNode = node.parent?.type === 'property' ? (node.parent.children?.[0] ?? node) : node;
    return lineColumn(text, at.offset).line;
  }
  return null;
}
