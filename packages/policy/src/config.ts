import { PolicyError } from './errors.ts';

/**
 * Erlang's `dist_auto_connect` values (kernel application parameter, see OTP's kernel(6) docs):
 * when this node may open a link on its own.
 */
export type Mode = 'always' | 'once' | 'never';
export const MODES: readonly Mode[] = Object.freeze(['always', 'once', 'never'] as const);

/**
 * When a lost link is made again under `always`. `on-demand` (default, as OTP): on the next need
 * (a send, an explicit connect), at once; nothing redials by itself. `eager` (distkit's addition):
 * redial on its own, with exponential backoff and full jitter, until the link is back.
 */
export type Reconnect = 'on-demand' | 'eager';
export const RECONNECTS: readonly Reconnect[] = Object.freeze(['on-demand', 'eager'] as const);

/** A node id: its 32-byte static public key, as bytes or as 64 hex characters. */
export type NodeKey = Uint8Array | string;

export interface SelfConfig {
  /** This node's name, as peers know it. */
  readonly name: string;
  /** This node's id (public key); used only to break simultaneous connects. */
  readonly id?: NodeKey | undefined;
  /** A hidden node does not take part in the mesh (`learned` is ignored). */
  readonly hidden?: boolean | undefined;
}

/** Exponential backoff with full jitter for redials under `always`. All delays in milliseconds. */
export interface BackoffConfig {
  /** Upper bound of the first redial delay. */
  readonly base: number;
  /** Growth of the bound per consecutive failure (>= 1). */
  readonly factor: number;
  /** The bound never exceeds this. */
  readonly cap: number;
  /** A link that stayed up this long resets the failure count when it drops. */
  readonly stableAfter: number;
  /** Consecutive failures after which the engine gives up (`giveUp`); null: never. */
  readonly maxAttempts: number | null;
}

export interface Limits {
  /** Links up, plus inbound links accepted, plus dials in flight. */
  readonly maxLinks: number;
  /** Dials in flight at once; further dials queue (FIFO) until one finishes. */
  readonly maxDialsInFlight: number;
  /** Inbound streams not yet identified (before the handshake names the peer). */
  readonly maxPendingInbound: number;
}

export interface PolicyConfig {
  readonly self: SelfConfig;
  /** Default mode for every peer. Default `always`, as in Erlang. */
  readonly mode?: Mode | undefined;
  /** Per-peer overrides of `mode`. */
  readonly modes?: Readonly<Record<string, Mode>> | undefined;
  /** Default `on-demand` (OTP); `eager` redials lost links by itself (under `always`). */
  readonly reconnect?: Reconnect | undefined;
  /** Per-peer overrides of `reconnect`. */
  readonly reconnects?: Readonly<Record<string, Reconnect>> | undefined;
  /** Peers dialled at `start` (under `always` and `once`). */
  readonly peers?: readonly string[] | undefined;
  /**
   * Only these nodes may link (either direction): names or glob patterns (`*`, `?`). Absent or
   * null: every node; `[]`: none.
   */
  readonly allow?: readonly string[] | null | undefined;
  /** These nodes may never link: names or glob patterns. Deny wins over allow; a name may not be in both. */
  readonly deny?: readonly string[] | undefined;
  /** Nodes known to be hidden: never learned transitively, never reached through the mesh. */
  readonly hidden?: readonly string[] | undefined;
  /** Erlang's `connect_all`: a node learned from a peer is auto-connected, subject to its mode. */
  readonly mesh?: boolean | undefined;
  readonly backoff?: Partial<BackoffConfig> | undefined;
  readonly limits?: Partial<Limits> | undefined;
}

/** What `configure` may change: everything but `self`. Lists given replace the old ones. */
export type PolicyUpdate = Omit<PolicyConfig, 'self'>;

/** A validated configuration with every default filled in. */
export interface ResolvedConfig {
  readonly self: { readonly name: string; readonly id: string | null; readonly hidden: boolean };
  readonly mode: Mode;
  readonly modes: ReadonlyMap<string, Mode>;
  readonly reconnect: Reconnect;
  readonly reconnects: ReadonlyMap<string, Reconnect>;
  readonly peers: readonly string[];
  readonly allow: ReadonlySet<string> | null;
  readonly deny: ReadonlySet<string>;
  readonly hidden: ReadonlySet<string>;
  readonly mesh: boolean;
  readonly backoff: BackoffConfig;
  readonly limits: Limits;
}

/**
 * Defaults from gRPC's connection-backoff spec (doc/connection-backoff.md: initial 1 s, multiplier
 * 1.6, max 120 s). `stableAfter` is Erlang's default `net_ticktime` (60 s): a link that survived
 * a full tick period was not flapping.
 */
export const DEFAULT_BACKOFF: BackoffConfig = Object.freeze({
  base: 1_000,
  factor: 1.6,
  cap: 120_000,
  stableAfter: 60_000,
  maxAttempts: null,
});

/** No cap on links (Erlang has none); dials and half-open inbound are bounded against storms. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxLinks: Infinity,
  maxDialsInFlight: 32,
  maxPendingInbound: 64,
});

const TOP_KEYS = new Set(['self', 'mode', 'modes', 'reconnect', 'reconnects', 'peers', 'allow', 'deny', 'hidden', 'mesh', 'backoff', 'limits']);
const SELF_KEYS = new Set(['name', 'id', 'hidden']);
const BACKOFF_KEYS = new Set(Object.keys(DEFAULT_BACKOFF));
const LIMIT_KEYS = new Set(Object.keys(DEFAULT_LIMITS));

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function checkKeys(obj: Record<string, unknown>, known: Set<string>, prefix: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.has(k)) throw new PolicyError('UNKNOWN_KEY', prefix + k, `unknown configuration key "${prefix}${k}"`);
  }
}

function checkName(v: unknown, key: string): string {
  if (typeof v !== 'string' || v.length === 0) {
    throw new PolicyError('INVALID_NODE', key, `${key} must be a non-empty node name, got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkMode(v: unknown, key: string): Mode {
  if (v !== 'always' && v !== 'once' && v !== 'never') {
    throw new PolicyError('UNKNOWN_MODE', key, `${key} must be "always", "once" or "never", got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkReconnect(v: unknown, key: string): Reconnect {
  if (v !== 'on-demand' && v !== 'eager') {
    throw new PolicyError('INVALID_VALUE', key, `${key} must be "on-demand" or "eager", got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkList(v: unknown, key: string, selfName: string): Set<string> {
  if (!Array.isArray(v)) throw new PolicyError('INVALID_VALUE', key, `${key} must be an array of node names`);
  const out = new Set<string>();
  v.forEach((n, i) => {
    const name = checkName(n, `${key}[${i}]`);
    if (name === selfName) throw new PolicyError('INVALID_NODE', `${key}[${i}]`, `${key}[${i}] names this node itself`);
    out.add(name);
  });
  return out;
}

const HEX_ID = /^[0-9a-fA-F]{64}$/;

/** A node id as 64 lowercase hex characters; throws INVALID_ID naming `key` otherwise. */
export function normalizeNodeId(id: unknown, key: string): string {
  if (id instanceof Uint8Array) {
    if (id.length !== 32) throw new PolicyError('INVALID_ID', key, `${key} must be 32 bytes, got ${id.length}`);
    let hex = '';
    for (const b of id) hex += (b < 16 ? '0' : '') + b.toString(16);
    return hex;
  }
  if (typeof id === 'string' && HEX_ID.test(id)) return id.toLowerCase();
  throw new PolicyError('INVALID_ID', key, `${key} must be 32 bytes or 64 hex characters`);
}

function checkDelay(v: unknown, key: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new PolicyError('INVALID_DELAY', key, `${key} must be a finite number of milliseconds >= 0, got ${String(v)}`);
  }
  return v;
}

function checkLimit(v: unknown, key: string, min: number): number {
  if (typeof v !== 'number' || !(v === Infinity || (Number.isInteger(v) && v >= min))) {
    throw new PolicyError('INVALID_LIMIT', key, `${key} must be an integer >= ${min} or Infinity, got ${String(v)}`);
  }
  return v;
}

/**
 * Validates `update` on top of `base` (or a full `config` when `base` is null) and returns the
 * resolved configuration. Throws a PolicyError naming the offending key; never half-applies.
 */
export function resolveConfig(config: unknown, base: ResolvedConfig | null = null): ResolvedConfig {
  if (!isObject(config)) throw new PolicyError('INVALID_CONFIG', null, 'the policy configuration must be an object');
  checkKeys(config, TOP_KEYS, '');
  let self: ResolvedConfig['self'];
  if (base === null) {
    const s = config['self'];
    if (!isObject(s)) throw new PolicyError('INVALID_CONFIG', 'self', 'self must be an object with at least a name');
    checkKeys(s, SELF_KEYS, 'self.');
    const hidden = s['hidden'] ?? false;
    if (typeof hidden !== 'boolean') throw new PolicyError('INVALID_VALUE', 'self.hidden', 'self.hidden must be a boolean');
    self = {
      name: checkName(s['name'], 'self.name'),
      id: s['id'] === undefined ? null : normalizeNodeId(s['id'], 'self.id'),
      hidden,
    };
  } else {
    if (config['self'] !== undefined) throw new PolicyError('INVALID_CONFIG', 'self', 'self cannot be changed by configure');
    self = base.self;
  }

  const mode = config['mode'] === undefined ? (base?.mode ?? 'always') : checkMode(config['mode'], 'mode');

  let modes: Map<string, Mode>;
  if (config['modes'] === undefined) modes = new Map(base?.modes ?? []);
  else {
    const m = config['modes'];
    if (!isObject(m)) throw new PolicyError('INVALID_VALUE', 'modes', 'modes must be an object of node name -> mode');
    modes = new Map();
    for (const [node, v] of Object.entries(m)) {
      if (node === self.name) throw new PolicyError('INVALID_NODE', `modes.${node}`, `modes.${node} names this node itself`);
      checkName(node, `modes.${node}`);
      modes.set(node, checkMode(v, `modes.${node}`));
    }
  }

  const reconnect = config['reconnect'] === undefined ? (base?.reconnect ?? 'on-demand') : checkReconnect(config['reconnect'], 'reconnect');
  let reconnects: Map<string, Reconnect>;
  if (config['reconnects'] === undefined) reconnects = new Map(base?.reconnects ?? []);
  else {
    const m = config['reconnects'];
    if (!isObject(m)) throw new PolicyError('INVALID_VALUE', 'reconnects', 'reconnects must be an object of node name -> "on-demand" | "eager"');
    reconnects = new Map();
    for (const [node, v] of Object.entries(m)) {
      checkName(node, `reconnects.${node}`);
      reconnects.set(node, checkReconnect(v, `reconnects.${node}`));
    }
  }

  const list = (key: 'peers' | 'deny' | 'hidden', old: Iterable<string> | undefined): Set<string> =>
    config[key] === undefined ? new Set(old ?? []) : checkList(config[key], key, self.name);
  const peers = list('peers', base?.peers);
  const deny = list('deny', base?.deny);
  const hidden = list('hidden', base?.hidden);
  let allow: Set<string> | null;
  if (config['allow'] === undefined) allow = base?.allow ? new Set(base.allow) : null;
  else allow = config['allow'] === null ? null : checkList(config['allow'], 'allow', self.name);
  if (allow !== null) {
    let i = 0;
    for (const n of deny) {
      if (allow.has(n)) throw new PolicyError('OVERLAPPING_LISTS', `deny[${i}]`, `deny[${i}] "${n}" is also in allow`);
      i++;
    }
  }

  const mesh = config['mesh'] === undefined ? (base?.mesh ?? false) : config['mesh'];
  if (typeof mesh !== 'boolean') throw new PolicyError('INVALID_VALUE', 'mesh', 'mesh must be a boolean');

  const b = config['backoff'] ?? {};
  if (!isObject(b)) throw new PolicyError('INVALID_VALUE', 'backoff', 'backoff must be an object');
  checkKeys(b, BACKOFF_KEYS, 'backoff.');
  const ob = base?.backoff ?? DEFAULT_BACKOFF;
  const factor = b['factor'] ?? ob.factor;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    throw new PolicyError('INVALID_VALUE', 'backoff.factor', `backoff.factor must be a finite number >= 1, got ${String(factor)}`);
  }
  const maxAttempts = b['maxAttempts'] === undefined ? ob.maxAttempts : b['maxAttempts'];
  if (maxAttempts !== null && (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 1)) {
    throw new PolicyError('INVALID_LIMIT', 'backoff.maxAttempts', `backoff.maxAttempts must be an integer >= 1 or null, got ${String(maxAttempts)}`);
  }
  const backoff: BackoffConfig = {
    base: checkDelay(b['base'] ?? ob.base, 'backoff.base'),
    factor,
    cap: checkDelay(b['cap'] ?? ob.cap, 'backoff.cap'),
    stableAfter: checkDelay(b['stableAfter'] ?? ob.stableAfter, 'backoff.stableAfter'),
    maxAttempts,
  };

  const l = config['limits'] ?? {};
  if (!isObject(l)) throw new PolicyError('INVALID_VALUE', 'limits', 'limits must be an object');
  checkKeys(l, LIMIT_KEYS, 'limits.');
  const ol = base?.limits ?? DEFAULT_LIMITS;
  const limits: Limits = {
    maxLinks: checkLimit(l['maxLinks'] ?? ol.maxLinks, 'limits.maxLinks', 0),
    maxDialsInFlight: checkLimit(l['maxDialsInFlight'] ?? ol.maxDialsInFlight, 'limits.maxDialsInFlight', 1),
    maxPendingInbound: checkLimit(l['maxPendingInbound'] ?? ol.maxPendingInbound, 'limits.maxPendingInbound', 0),
  };

  return { self, mode, modes, reconnect, reconnects, peers: [...peers], allow, deny, hidden, mesh, backoff, limits };
}
