// The config file's schema (valibot). Keys are snake_case in TOML and JSON alike. Every message
// here says what is allowed, so an error can be fixed without opening the README.
import { isIP } from 'node:net';
import * as v from 'valibot';
import { isNodeName } from './identity.ts';
import { tagProblem, type Tags } from './tags.ts';

import { LINK_SUITES, type Address, type AutoConnect, type LinkSuite, type Reconnect } from '@distkit/kernel';

// The kernel owns these vocabularies (@distkit/policy MODES and RECONNECTS); the checks below make
// the compiler refuse a list that drifts from the kernel's types, in either direction.
const AUTO_CONNECT = ['always', 'once', 'never'] as const;
const RECONNECT = ['on-demand', 'eager'] as const;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const SAME_AUTO_CONNECT: Same<(typeof AUTO_CONNECT)[number], AutoConnect> = true;
const SAME_RECONNECT: Same<(typeof RECONNECT)[number], Reconnect> = true;
void SAME_AUTO_CONNECT;
void SAME_RECONNECT;
const STRATEGIES = ['keep-majority', 'keep-oldest', 'static-quorum', 'keep-referee', 'down-all', 'manual'] as const;
const TRUST_MODES = ['tofu', 'strict'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
const SUITES = Object.keys(LINK_SUITES) as [LinkSuite, ...LinkSuite[]];

export type Strategy = (typeof STRATEGIES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

const oneOf = <const T extends readonly [string, ...string[]]>(options: T) =>
  v.picklist(options, (issue) => `must be one of ${options.join(', ')} (got ${issue.received})`);

const text = (what: string) => v.string((issue) => `must be ${what} (got ${issue.received})`);

const nodeName = v.pipe(
  text('a node name string'),
  v.check(isNodeName, (issue) => `must be a node name: letters, digits and _ . @ : + - [ ], not starting with a punctuation mark other than _, at most 255 bytes (got ${issue.received})`),
);

/** `host:port`; IPv6 literals in brackets (`[::1]:4370`). Port 0 picks a free port. */
export const HOST_PORT: RegExp = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

const hostPort = v.pipe(
  text('a "host:port" string'),
  v.check((s) => HOST_PORT.test(s) && Number(HOST_PORT.exec(s)?.[1]) <= 65535, (issue) => `must be "host:port" with a port from 0 to 65535, IPv6 in brackets (got ${issue.received})`),
);

function isDnsServer(s: string): boolean {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:]+):(\d{1,5})$/.exec(s);
  return m ? isIP(m[1] ?? '') !== 0 && Number(m[2]) <= 65535 : isIP(s) !== 0;
}

/** Durations: milliseconds as a number, or a string with a unit: "500ms", "5s", "2m", "1h". */
export const DURATION: RegExp = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

const DURATION_MESSAGE = (issue: v.BaseIssue<unknown>): string =>
  `must be a duration: milliseconds as a positive integer, or a string like "500ms", "5s", "2m", "1h" (got ${issue.received})`;

const duration = v.union(
  [
    v.pipe(v.number(), v.integer(DURATION_MESSAGE), v.minValue(1, DURATION_MESSAGE)),
    v.pipe(v.string(), v.regex(DURATION, DURATION_MESSAGE)),
  ],
  DURATION_MESSAGE,
);

const bool = v.boolean((issue) => `must be true or false (got ${issue.received})`);

const strings = (what: string) => v.array(text(what), (issue) => `must be a list of ${what}s (got ${issue.received})`);

/** A hook: a shell command line (run with /bin/sh -c) or an argv list (run directly). */
const hookCommand = v.union(
  [v.pipe(v.string(), v.minLength(1)), v.pipe(v.array(v.string()), v.minLength(1))],
  (issue) => `must be a command line string or a non-empty list of strings (argv) (got ${issue.received})`,
);

const peer = v.strictObject({
  name: nodeName,
  address: hostPort,
  heartbeat: v.optional(hostPort),
  // The value is not quoted back: a private key pasted here by mistake must not reach a log.
  public_key: v.optional(
    v.pipe(v.string('must be a base64 public key string'), v.regex(/^[A-Za-z0-9+/]{43}=$/, 'must be a 32-byte X25519 public key in base64 (44 characters)')),
  ),
  auto_connect: v.optional(oneOf(AUTO_CONNECT)),
  reconnect: v.optional(oneOf(RECONNECT)),
});

/**
 * Operator tags (`role = "db"`): a table of strings, each key and value checked by the wire's own
 * rules (@distkit/wire checkTags), so a tag the config accepts is one the hello can carry.
 */
const tags = v.pipe(
  v.record(v.string(), v.unknown(), (issue) => `must be a table of tags, e.g. role = "db" (got ${issue.received})`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const value = dataset.value as Record<string, unknown>;
    for (const [key, tag] of Object.entries(value)) {
      const message = tagProblem(key, tag);
      if (message !== null) addIssue({ message, path: [{ type: 'object', origin: 'value', input: value, key, value: tag }] });
    }
    const whole = tagProblem(null, value);
    if (whole !== null) addIssue({ message: whole });
  }),
);

const controlListen = v.pipe(
  text('"host:port" or "unix:/path"'),
  v.check(
    (s) => (s.startsWith('unix:') ? s.length > 'unix:'.length : HOST_PORT.test(s)),
    (issue) => `must be "host:port" (loopback unless control.allow_remote = true) or "unix:/path/to/socket" (got ${issue.received})`,
  ),
);

const CONFIG_SCHEMA = v.strictObject({
  name: v.optional(nodeName),
  cluster: v.optional(
    v.pipe(text('a cluster id string'), v.regex(/^[A-Za-z0-9._-]{1,64}$/, (issue) => `must be 1 to 64 letters, digits, . _ - (got ${issue.received})`)),
    'distkit',
  ),
  state_dir: v.optional(v.pipe(text('a directory path'), v.minLength(1, 'must not be empty'))),
  listen: v.optional(hostPort, '127.0.0.1:4370'),
  heartbeat_listen: v.optional(hostPort),
  auto_connect: v.optional(oneOf(AUTO_CONNECT), 'once'),
  reconnect: v.optional(oneOf(RECONNECT), 'on-demand'),
  tags: v.optional(tags, {}),
  hidden: v.optional(bool, false),
  heartbeat_interval: v.optional(duration, '5s'),
  tick_time: v.optional(duration, '60s'),
  setup_time: v.optional(duration, '7s'),
  strategy: v.optional(oneOf(STRATEGIES), 'keep-majority'),
  referee: v.optional(nodeName),
  quorum: v.optional(v.pipe(v.number((i) => `must be a positive integer (got ${i.received})`), v.integer('must be a positive integer'), v.minValue(1, 'must be a positive integer'))),
  cluster_secret_file: v.optional(text('a file path')),
  suites: v.optional(
    v.pipe(
      v.array(oneOf(SUITES), (issue) => `must be a list of suites in order of preference (got ${issue.received})`),
      v.minLength(1, `must name at least one suite (${SUITES.join(', ')})`),
      v.check((l) => new Set(l).size === l.length, 'must not name a suite twice'),
    ),
  ),
  detector: v.optional(
    v.strictObject({
      threshold: v.optional(v.pipe(v.number((i) => `must be a number (got ${i.received})`), v.minValue(0.5, 'must be at least 0.5'))),
      max_silence: v.optional(duration),
      acceptable_pause: v.optional(v.union([v.literal(0), duration], DURATION_MESSAGE)),
      stable_after: v.optional(duration),
      probes: v.optional(v.pipe(v.number((i) => `must be an integer >= 0 (got ${i.received})`), v.integer('must be an integer >= 0'), v.minValue(0, 'must be an integer >= 0'))),
      fanout: v.optional(
        v.union([v.literal('all'), v.pipe(v.number(), v.integer(), v.minValue(1))], (i) => `must be "all" or a positive integer (got ${i.received})`),
      ),
    }),
    {},
  ),
  peers: v.optional(v.array(peer, (issue) => `must be a list of peer tables ([[peers]]) (got ${issue.received})`), []),
  trust: v.optional(
    v.strictObject({
      mode: v.optional(oneOf(TRUST_MODES), 'tofu'),
      allow_strangers: v.optional(bool, false),
      allow: v.optional(strings('node name or pattern'), []),
      deny: v.optional(strings('node name or pattern'), []),
    }),
    {},
  ),
  discovery: v.optional(
    v.strictObject({
      dns: v.optional(
        v.strictObject({
          srv: v.optional(strings('SRV record name'), []),
          a: v.optional(strings('"host" or "host:port"'), []),
          port: v.optional(v.pipe(v.number('must be a port number'), v.integer('must be a port number'), v.minValue(1, 'must be 1 to 65535'), v.maxValue(65535, 'must be 1 to 65535')), 4370),
          servers: v.optional(
            v.array(
              v.pipe(text('a DNS server address'), v.check(isDnsServer, (issue) => `must be a DNS server as "ip", "ip:port" or "[ipv6]:port" (got ${issue.received})`)),
              (issue) => `must be a list of DNS server addresses (got ${issue.received})`,
            ),
            [],
          ),
          refresh: v.optional(duration, '30s'),
          name: v.optional(
            v.pipe(text('a name template'), v.check((s) => s.includes('{host}'), 'must contain {host} (the SRV target or the A record address)')),
            '{host}',
          ),
        }),
      ),
    }),
    {},
  ),
  watchdog: v.optional(
    v.strictObject({
      timeout: v.optional(v.union([v.literal(0), duration], DURATION_MESSAGE), '20s'),
    }),
    {},
  ),
  control: v.optional(
    v.strictObject({
      listen: v.optional(controlListen, '127.0.0.1:4380'),
      allow_remote: v.optional(bool, false),
      token_file: v.optional(text('a file path')),
      ui: v.optional(bool, true),
    }),
    {},
  ),
  log: v.optional(
    v.strictObject({
      level: v.optional(oneOf(LOG_LEVELS), 'info'),
      format: v.optional(oneOf(LOG_FORMATS), 'auto'),
    }),
    {},
  ),
  hooks: v.optional(
    v.strictObject({
      on_restart: v.optional(hookCommand),
      on_nodedown: v.optional(hookCommand),
      on_partition: v.optional(hookCommand),
      timeout: v.optional(duration, '30s'),
      restart_exit: v.optional(bool, true),
      restart_delay: v.optional(duration),
    }),
    {},
  ),
});


type RawConfig = v.InferOutput<typeof CONFIG_SCHEMA>;

export interface PeerSpec {
  readonly name: string;
  readonly address: Address;
  readonly heartbeat: Address | null;
  readonly publicKey: string | null;
  readonly autoConnect: AutoConnect | null;
  readonly reconnect: Reconnect | null;
}

export type ControlListen = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/** A hook command: a shell line or an argv list. */
export type HookCommand = string | readonly string[];

/** The validated config, before the state folder is resolved (see config.ts). */
export interface FileConfig {
  readonly name: string | null;
  readonly cluster: string;
  readonly stateDir: string | null;
  readonly listen: Address;
  readonly heartbeatListen: Address | null;
  readonly autoConnect: AutoConnect;
  /** When a lost link is made again under `always`: on the next need (OTP) or by itself. */
  readonly reconnect: Reconnect;
  /** Operator metadata carried in the hello (`role = "db"`). */
  readonly tags: Tags;
  readonly hidden: boolean;
  readonly heartbeatIntervalMs: number;
  readonly tickTimeMs: number;
  readonly setupTimeMs: number;
  readonly strategy: Strategy;
  readonly referee: string | null;
  readonly quorum: number | null;
  readonly clusterSecretFile: string | null;
  /** Noise suites accepted, in order of preference; null: the kernel's default (AES-GCM first where the CPU has AES). */
  readonly suites: readonly LinkSuite[] | null;
  /** Partition detector tuning, passed to the kernel as NodeOptions.detector (absent keys: its defaults). */
  readonly detector: {
    readonly threshold?: number;
    readonly maxSilence?: number;
    readonly acceptablePause?: number;
    readonly stableAfter?: number;
    readonly probes?: number;
    readonly fanout?: 'all' | number;
  };
  readonly peers: readonly PeerSpec[];
  readonly trust: {
    readonly mode: 'tofu' | 'strict';
    /** Accept unknown keys on first use on a non-loopback `listen` without a cluster secret. */
    readonly allowStrangers: boolean;
    readonly allow: readonly string[];
    readonly deny: readonly string[];
  };
  /** The liveness watchdog: a main thread stalled this long kills the process (0: off). */
  readonly watchdog: { readonly timeoutMs: number };
  readonly dns: {
    readonly srv: readonly string[];
    readonly a: readonly string[];
    readonly port: number;
    readonly servers: readonly string[];
    readonly refreshMs: number;
    readonly name: string;
  } | null;
  /** `ui`: serve the cluster page at /ui (on a loopback TCP address only). */
  readonly control: { readonly listen: ControlListen; readonly allowRemote: boolean; readonly tokenFile: string | null; readonly ui: boolean };
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  readonly hooks: {
    readonly onRestart: HookCommand | null;
    readonly onNodedown: HookCommand | null;
    readonly onPartition: HookCommand | null;
    readonly timeoutMs: number;
    readonly restartExit: boolean;
    /** How long the node keeps running after a restart decision before it exits (default 2 heartbeat intervals). */
    readonly restartDelayMs: number;
  };
}

/** One schema problem: where (key path) and what. */
export interface SchemaIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export type SchemaResult = { readonly ok: true; readonly config: FileConfig } | { readonly ok: false; readonly issues: readonly SchemaIssue[] };

/** Validates a parsed config object (from TOML, JSON, environment and flags). */
export function validateConfig(input: unknown): SchemaResult {
  const result = v.safeParse(CONFIG_SCHEMA, input);
  if (!result.success) {
    return {
      ok: false,
      issues: result.issues.map((issue) => {
        const path = (issue.path ?? []).map((p) => p.key as string | number);
        return { path, message: describeIssue(issue, path) };
      }),
    };
  }
  const issues: SchemaIssue[] = [];
  const config = resolve(result.output, issues);
  return issues.length === 0 ? { ok: true, config } : { ok: false, issues };
}

function describeIssue(issue: v.BaseIssue<unknown>, path: readonly (string | number)[]): string {
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const allowed = allowedKeysAt(path.slice(0, -1));
    return `unknown key${allowed ? ` (allowed here: ${allowed.join(', ')})` : ''}`;
  }
  if (issue.type === 'strict_object' && issue.received === 'undefined' && path.length > 0) return 'is required but missing';
  if (issue.type === 'strict_object' && issue.expected === 'Object') return `must be a table/object (got ${issue.received})`;
  return issue.message;
}

/** The keys a table at `path` accepts, read from the schema itself. */
export function allowedKeysAt(path: readonly (string | number)[]): string[] | null {
  let schema: unknown = CONFIG_SCHEMA;
  for (const key of path) {
    schema = unwrap(schema);
    if (typeof key === 'number') schema = (schema as { item?: unknown }).item;
    else schema = (schema as { entries?: Record<string, unknown> }).entries?.[key];
    if (schema === undefined) return null;
  }
  const entries = (unwrap(schema) as { entries?: Record<string, unknown> }).entries;
  return entries ? Object.keys(entries) : null;
}

function unwrap(schema: unknown): unknown {
  let s = schema as { type?: string; wrapped?: unknown };
  while (s && (s.type === 'optional' || s.type === 'nullable') && s.wrapped) s = s.wrapped as typeof s;
  return s;
}

export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = DURATION.exec(value);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m?.[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m?.[1] ?? Number.NaN) * unit);
}

export function parseHostPort(text: string): Address {
  const m = HOST_PORT.exec(text);
  if (!m) throw new Error(`not host:port: ${text}`);
  const host = text.slice(0, text.length - (m[1] ?? '').length - 1).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(m[1]) };
}

export function parseControlListen(text: string): ControlListen {
  if (text.startsWith('unix:')) return { kind: 'unix', path: text.slice('unix:'.length) };
  const { host, port } = parseHostPort(text);
  return { kind: 'tcp', host, port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function resolve(raw: RawConfig, issues: SchemaIssue[]): FileConfig {
  const control = parseControlListen(raw.control.listen);
  if (control.kind === 'tcp' && !isLoopback(control.host) && !raw.control.allow_remote) {
    issues.push({
      path: ['control', 'listen'],
      message: `${control.host} is not a loopback address: the control API stays on 127.0.0.1, ::1 or a Unix socket unless control.allow_remote = true`,
    });
  }
  const links = parseHostPort(raw.listen);
  if (!isLoopback(links.host) && raw.trust.mode === 'tofu' && raw.cluster_secret_file === undefined && !raw.trust.allow_strangers) {
    issues.push({
      path: ['listen'],
      message:
        `${links.host} is reachable from other hosts, and trust.mode = "tofu" without a cluster secret lets any stranger link in ` +
        'and be trusted on first use. Either set cluster_secret_file (make one with: distkitd secret new), or set ' +
        'trust.mode = "strict" (only the peers in authorized_nodes), or, to accept strangers on purpose, trust.allow_strangers = true',
    });
  }
  if (raw.strategy === 'keep-referee' && raw.referee === undefined) {
    issues.push({ path: ['referee'], message: 'is required when strategy = "keep-referee" (the node whose side stays)' });
  }
  if (raw.strategy === 'static-quorum' && raw.quorum === undefined) {
    issues.push({ path: ['quorum'], message: 'is required when strategy = "static-quorum" (the smallest side that may stay)' });
  }
  const names = new Set<string>();
  raw.peers.forEach((p, i) => {
    if (names.has(p.name)) issues.push({ path: ['peers', i, 'name'], message: `${p.name} is listed twice in peers` });
    names.add(p.name);
  });
  const dns = raw.discovery.dns;
  return {
    name: raw.name ?? null,
    cluster: raw.cluster,
    stateDir: raw.state_dir ?? null,
    listen: parseHostPort(raw.listen),
    heartbeatListen: raw.heartbeat_listen === undefined ? null : parseHostPort(raw.heartbeat_listen),
    autoConnect: raw.auto_connect,
    reconnect: raw.reconnect,
    tags: raw.tags as Tags,
    hidden: raw.hidden,
    heartbeatIntervalMs: parseDuration(raw.heartbeat_interval),
    tickTimeMs: parseDuration(raw.tick_time),
    setupTimeMs: parseDuration(raw.setup_time),
    strategy: raw.strategy,
    referee: raw.referee ?? null,
    quorum: raw.quorum ?? null,
    clusterSecretFile: raw.cluster_secret_file ?? null,
    suites: raw.suites ?? null,
    detector: {
      ...(raw.detector.threshold !== undefined ? { threshold: raw.detector.threshold } : {}),
      ...(raw.detector.max_silence !== undefined ? { maxSilence: parseDuration(raw.detector.max_silence) } : {}),
      ...(raw.detector.acceptable_pause !== undefined ? { acceptablePause: parseDuration(raw.detector.acceptable_pause) } : {}),
      ...(raw.detector.stable_after !== undefined ? { stableAfter: parseDuration(raw.detector.stable_after) } : {}),
      ...(raw.detector.probes !== undefined ? { probes: raw.detector.probes } : {}),
      ...(raw.detector.fanout !== undefined ? { fanout: raw.detector.fanout } : {}),
    },
    peers: raw.peers.map((p) => ({
      name: p.name,
      address: parseHostPort(p.address),
      heartbeat: p.heartbeat === undefined ? null : parseHostPort(p.heartbeat),
      publicKey: p.public_key ?? null,
      autoConnect: p.auto_connect ?? null,
      reconnect: p.reconnect ?? null,
    })),
    trust: { mode: raw.trust.mode, allowStrangers: raw.trust.allow_strangers, allow: raw.trust.allow, deny: raw.trust.deny },
    watchdog: { timeoutMs: raw.watchdog.timeout === 0 ? 0 : parseDuration(raw.watchdog.timeout) },
    dns:
      dns === undefined
        ? null
        : { srv: dns.srv, a: dns.a, port: dns.port, servers: dns.servers, refreshMs: parseDuration(dns.refresh), name: dns.name },
    control: { listen: control, allowRemote: raw.control.allow_remote, tokenFile: raw.control.token_file ?? null, ui: raw.control.ui },
    log: { level: raw.log.level, format: raw.log.format },
    hooks: {
      onRestart: raw.hooks.on_restart ?? null,
      onNodedown: raw.hooks.on_nodedown ?? null,
      onPartition: raw.hooks.on_partition ?? null,
      timeoutMs: parseDuration(raw.hooks.timeout),
      restartExit: raw.hooks.restart_exit,
      restartDelayMs: raw.hooks.restart_delay === undefined ? 2 * parseDuration(raw.heartbeat_interval) : parseDuration(raw.hooks.restart_delay),
    },
  };
}
