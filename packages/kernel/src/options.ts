import { TrustStore, defaultProvider, parseProtocolName, type Trust } from '@distkit/handshake';
import { LINK_SUITES, type LinkSuite } from '@distkit/wire';
import { MODES } from '@distkit/policy';
import { STRATEGIES } from '@distkit/detector';
import { checkTags } from '@distkit/wire';
import type { AutoConnect, KernelPolicyOptions, NodeOptions, PeerConfig } from './api.ts';
import { KernelError } from './errors.ts';
import { hasHardwareAes } from './hardware-aes.ts';
import { DEFAULT_WINDOW_BYTES } from './machine/flow-window.ts';
import type { Address } from './transport.ts';

/** NodeOptions with every default filled in and every value checked. */
export interface ResolvedOptions {
  readonly name: string;
  readonly cluster: string;
  readonly identity: { readonly publicKey: Uint8Array; readonly privateKey: Uint8Array };
  readonly incarnation: number;
  readonly listen: Address;
  readonly heartbeatListen: Address | null;
  readonly peers: readonly PeerConfig[];
  readonly trust: NonNullable<NodeOptions['trust']>;
  readonly clusterSecrets: readonly Uint8Array[];
  /** In order of preference; every one is supported by the crypto provider. */
  readonly suites: readonly LinkSuite[];
  readonly flowWindowBytes: number;
  readonly autoConnect: AutoConnect;
  readonly reconnect: 'on-demand' | 'eager';
  readonly preventOverlappingPartitions: boolean;
  readonly connectAtStart: boolean;
  readonly hidden: boolean;
  readonly heartbeatIntervalMs: number;
  readonly tickTimeMs: number;
  readonly tickIntensity: number;
  readonly setupTimeMs: number;
  readonly firstRecordMs: number;
  readonly halfOpenPerAddress: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly strategy: NonNullable<NodeOptions['strategy']>;
  readonly referee: string | null;
  readonly quorum: number | null;
  readonly maxMessageBytes: number;
  readonly handshakesPerSecondPerAddress: number;
  readonly policy: KernelPolicyOptions;
  readonly detector: NonNullable<NodeOptions['detector']> | null;
  readonly maxQueuedMessages: number;
  readonly maxQueuedEvents: number;
  readonly maxStrangers: number;
  readonly strangerRetentionMs: number;
}

/** Erlang's defaults: net_ticktime 60 s, net_tickintensity 4 (OTP 26), net_setuptime 7 s. */
export const DEFAULTS: {
  readonly heartbeatIntervalMs: number;
  readonly tickTimeMs: number;
  readonly tickIntensity: number;
  readonly setupTimeMs: number;
  readonly maxMessageBytes: number;
  readonly handshakesPerSecondPerAddress: number;
  readonly maxQueued: number;
} = Object.freeze({
  heartbeatIntervalMs: 5_000,
  tickTimeMs: 60_000,
  tickIntensity: 4,
  setupTimeMs: 7_000,
  maxMessageBytes: 16 * 1024 * 1024,
  handshakesPerSecondPerAddress: 20,
  maxQueued: 10_000,
});

function bad(option: string, message: string): never {
  throw new KernelError('BAD_OPTION', `option ${option}: ${message}`);
}

function positive(v: unknown, option: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(option, `must be a positive number (ms), got ${String(v)}`);
  return v;
}

function address(v: unknown, option: string): Address {
  const a = v as Address;
  if (typeof a !== 'object' || a === null || typeof a.host !== 'string' || a.host.length === 0) bad(option, 'must be { host, port }');
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) bad(option, `port must be an integer 0..65535, got ${String(a.port)}`);
  return { host: a.host, port: a.port };
}

function key(v: unknown, option: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) bad(option, 'must be a 32-byte Uint8Array');
  return v;
}

function mode(v: unknown, option: string): AutoConnect {
  if (!(MODES as readonly unknown[]).includes(v)) bad(option, `must be always, once or never, got ${String(v)}`);
  return v as AutoConnect;
}

function reconnect(v: unknown, option: string): 'on-demand' | 'eager' {
  if (v !== 'on-demand' && v !== 'eager') bad(option, `must be "on-demand" or "eager", got ${String(v)}`);
  return v;
}

function count(v: unknown, option: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < 1) bad(option, `must be a positive integer, got ${String(v)}`);
  return v as number;
}

/** Checks one peer (from `peers[i]` or `addPeer`); `option` names it in the error. */
export function checkPeer(p: PeerConfig, option: string, self: string): PeerConfig {
  if (typeof p !== 'object' || p === null) bad(option, 'must be { name, address }');
  if (typeof p.name !== 'string' || p.name.length === 0 || p.name.length > 255) bad(`${option}.name`, 'must be a non-empty string');
  if (p.name === self) bad(`${option}.name`, 'is this node itself');
  address(p.address, `${option}.address`);
  if (p.heartbeat !== undefined) address(p.heartbeat, `${option}.heartbeat`);
  if (p.publicKey !== undefined) key(p.publicKey, `${option}.publicKey`);
  if (p.autoConnect !== undefined) mode(p.autoConnect, `${option}.autoConnect`);
  if (p.reconnect !== undefined) reconnect(p.reconnect, `${option}.reconnect`);
  return p;
}

/** A trust store is a shape, not a class: `explain`, `keyFor`, `learn` (two package copies work together). */
export function checkTrust(v: unknown, option: string): Trust {
  const t = v as Partial<Trust> | null;
  if (typeof t !== 'object' || t === null || typeof t.explain !== 'function' || typeof t.keyFor !== 'function' || typeof t.learn !== 'function') {
    bad(option, 'must have explain(name, key), keyFor(name) and learn(name, key) (a TrustStore from @distkit/handshake will do)');
  }
  return t as Trust;
}

const SUITE_NAMES = Object.keys(LINK_SUITES) as LinkSuite[];

/** Whether the crypto provider in use runs this suite (Node and Deno 2 run both). */
function supported(suite: LinkSuite): boolean {
  const spec = parseProtocolName(`Noise_XX_${suite}`);
  const p = defaultProvider();
  return Boolean(p.dh(spec.dh) && p.cipher(spec.cipher) && p.hash(spec.hash));
}

/** The default preference: AES-GCM first where the CPU has AES instructions (see hardware-aes.ts). */
export function defaultSuites(hardwareAes: boolean = hasHardwareAes()): LinkSuite[] {
  const order: LinkSuite[] = hardwareAes
    ? ['25519_AESGCM_SHA256', '25519_ChaChaPoly_SHA256']
    : ['25519_ChaChaPoly_SHA256', '25519_AESGCM_SHA256'];
  return order.filter(supported);
}

function suites(v: unknown): LinkSuite[] {
  if (v === undefined) return defaultSuites();
  if (!Array.isArray(v) || v.length === 0) bad('suites', `must be a non-empty list of suites, in order of preference (known: ${SUITE_NAMES.join(', ')})`);
  const seen = new Set<string>();
  for (const [i, s] of v.entries()) {
    if (!(SUITE_NAMES as unknown[]).includes(s)) bad(`suites[${i}]`, `unknown suite ${JSON.stringify(s)} (known: ${SUITE_NAMES.join(', ')})`);
    if (seen.has(s)) bad(`suites[${i}]`, `${s} is listed twice`);
    if (!supported(s as LinkSuite)) bad(`suites[${i}]`, `${s} is not available from the crypto provider on this runtime`);
    seen.add(s);
  }
  return v as LinkSuite[];
}

function windowBytes(v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 64 * 1024 || (v as number) > 1024 * 1024 * 1024) bad('flowWindowBytes', `must be an integer from 65536 to 1 GiB, got ${String(v)}`);
  return v as number;
}

function tags(v: unknown): Readonly<Record<string, string>> {
  if (v === undefined) return {};
  try {
    return { ...checkTags(v) };
  } catch (err) {
    return bad('tags', (err as Error).message);
  }
}

const POLICY_KEYS = new Set(['allow', 'deny', 'mesh', 'backoff', 'limits']);

function policyOptions(v: unknown): KernelPolicyOptions {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('policy', 'must be an object');
  for (const k of Object.keys(v)) if (!POLICY_KEYS.has(k)) bad(`policy.${k}`, `unknown key (known: ${[...POLICY_KEYS].join(', ')})`);
  return v as KernelPolicyOptions;
}

export function resolveOptions(o: NodeOptions): ResolvedOptions {
  if (typeof o !== 'object' || o === null) bad('options', 'must be an object');
  if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 255) bad('name', 'must be a non-empty string (at most 255 characters)');
  if (typeof o.cluster !== 'string' || o.cluster.length === 0 || o.cluster.length > 64) bad('cluster', 'must be a non-empty string (at most 64 characters)');
  if (typeof o.identity !== 'object' || o.identity === null) bad('identity', 'must be { publicKey, privateKey }');
  key(o.identity.publicKey, 'identity.publicKey');
  key(o.identity.privateKey, 'identity.privateKey');
  if (!Number.isSafeInteger(o.incarnation) || o.incarnation < 0) bad('incarnation', 'must be an integer >= 0');
  if (o.autoConnect !== undefined) mode(o.autoConnect, 'autoConnect');
  if (o.strategy !== undefined && !STRATEGIES.includes(o.strategy)) bad('strategy', `must be one of ${STRATEGIES.join(', ')}`);
  const names = new Set<string>();
  const peers = (o.peers ?? []).map((p, i) => {
    checkPeer(p, `peers[${i}]`, o.name);
    if (names.has(p.name)) bad(`peers[${i}].name`, `duplicate peer ${p.name}`);
    names.add(p.name);
    return p;
  });
  const trust = o.trust ?? { store: new TrustStore({ mode: 'tofu' }) };
  checkTrust(trust.store, 'trust.store');
  if (trust.onLearned !== undefined && typeof trust.onLearned !== 'function') bad('trust.onLearned', 'must be a function');
  const secrets = (o.clusterSecrets ?? []).map((s, i) => key(s, `clusterSecrets[${i}]`));
  const tickIntensity = o.tickIntensity ?? DEFAULTS.tickIntensity;
  // OTP accepts 4..1000 for net_tickintensity.
  if (!Number.isInteger(tickIntensity) || tickIntensity < 4 || tickIntensity > 1000) bad('tickIntensity', `must be an integer 4..1000, got ${String(o.tickIntensity)}`);
  const tickTimeMs = positive(o.tickTimeMs, 'tickTimeMs', DEFAULTS.tickTimeMs);
  if (o.strategy === 'keep-referee' && !o.referee) bad('referee', 'is required with strategy keep-referee');
  if (o.strategy === 'static-quorum' && !(Number.isInteger(o.quorum) && (o.quorum ?? 0) > 0)) bad('quorum', 'must be a positive integer with strategy static-quorum');
  return {
    name: o.name,
    cluster: o.cluster,
    identity: o.identity,
    incarnation: o.incarnation,
    listen: o.listen === undefined ? { host: '127.0.0.1', port: 0 } : address(o.listen, 'listen'),
    heartbeatListen: o.heartbeatListen === undefined ? null : address(o.heartbeatListen, 'heartbeatListen'),
    peers,
    trust,
    clusterSecrets: secrets,
    suites: suites(o.suites),
    flowWindowBytes: o.flowWindowBytes === undefined ? DEFAULT_WINDOW_BYTES : windowBytes(o.flowWindowBytes),
    autoConnect: o.autoConnect ?? 'always',
    reconnect: o.reconnect === undefined ? 'on-demand' : reconnect(o.reconnect, 'reconnect'),
    preventOverlappingPartitions: o.preventOverlappingPartitions ?? true,
    connectAtStart: o.connectAtStart ?? true,
    hidden: o.hidden ?? false,
    heartbeatIntervalMs: positive(o.heartbeatIntervalMs, 'heartbeatIntervalMs', DEFAULTS.heartbeatIntervalMs),
    tickTimeMs,
    tickIntensity,
    setupTimeMs: positive(o.setupTimeMs, 'setupTimeMs', DEFAULTS.setupTimeMs),
    firstRecordMs: positive(o.firstRecordMs, 'firstRecordMs', 1000),
    halfOpenPerAddress: count(o.halfOpenPerAddress, 'halfOpenPerAddress', 16),
    tags: tags(o.tags),
    strategy: o.strategy ?? 'keep-majority',
    referee: o.referee ?? null,
    quorum: o.quorum ?? null,
    maxMessageBytes: DEFAULTS.maxMessageBytes,
    handshakesPerSecondPerAddress: positive(o.handshakesPerSecondPerAddress, 'handshakesPerSecondPerAddress', DEFAULTS.handshakesPerSecondPerAddress),
    policy: policyOptions(o.policy),
    detector: o.detector ?? null,
    maxQueuedMessages: count(o.maxQueuedMessages, 'maxQueuedMessages', DEFAULTS.maxQueued),
    maxQueuedEvents: count(o.maxQueuedEvents, 'maxQueuedEvents', DEFAULTS.maxQueued),
    maxStrangers: count(o.maxStrangers, 'maxStrangers', 256),
    strangerRetentionMs: positive(o.strangerRetentionMs, 'strangerRetentionMs', 60_000),
  };
}
