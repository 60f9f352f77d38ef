// The trust store, in the spirit of ssh: `authorized_nodes` (strict: only these peers) and
// `known_nodes` (trust on first use). Pure parse/serialize and decisions; the caller does the I/O.
import { MAX_NAME_BYTES } from '@distkit/wire';
import { decodeKey, encodeKey, KEY_BYTES } from './identity.ts';
import { HandshakeError } from './errors.ts';

/** What to do with a peer presenting `key` under `name`. */
export type TrustDecision =
  /** The name is bound to this key: accept. */
  | 'trusted'
  /** TOFU mode, never seen: the caller may accept and `learn` it. */
  | 'unknown'
  /** The name is bound to a different key: never accept silently (possible impersonation). */
  | 'changed'
  /** Strict mode and not authorized, a revoked key, or a malformed name or key. */
  | 'refused';

export type TrustMode = 'strict' | 'tofu';

/** One `name key [options]` line. Options: comma-separated `flag` or `key=value` tokens. */
export interface TrustEntry {
  readonly name: string;
  readonly key: Uint8Array;
  readonly options: Readonly<Record<string, string | true>>;
}

/** A parsed file, comments and blank lines kept so that serializing gives the same text back. */
export type TrustFileLine = { readonly entry: TrustEntry; readonly text: string } | { readonly entry: null; readonly text: string };

/** Node names: like Erlang's `name@host`, printable ASCII without spaces, commas or `#`. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@:+\-[\]]*$/;
const OPTION = /^([a-z][a-z0-9-]*)(?:=([^\s,=#]+))?$/;
/** The option that marks a key as revoked in either file (ssh's @revoked, as an option). */
export const REVOKED_OPTION = 'revoked';

export function isValidNodeName(name: unknown): name is string {
  return typeof name === 'string' && NAME.test(name) && new TextEncoder().encode(name).length <= MAX_NAME_BYTES;
}

/** Parses `authorized_nodes` or `known_nodes`; MALFORMED_TRUST_FILE names the file and line. */
export function parseTrustFile(text: string, file = 'trust file'): TrustFileLine[] {
  if (typeof text !== 'string') throw new HandshakeError('MALFORMED_TRUST_FILE', `${file} must be a string`);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((raw, i) => {
    const bad = (why: string) => new HandshakeError('MALFORMED_TRUST_FILE', `${file} line ${i + 1}: ${why}`);
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (/[^\x20-\x7e\t]/.test(line)) throw bad('contains a control or non-ASCII character');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return { entry: null, text: raw };
    const all = trimmed.split(/[ \t]+/);
    const hash = all.findIndex((f) => f.startsWith('#'));
    const fields = hash < 0 ? all : all.slice(0, hash);
    if (fields.length < 2) throw bad('expected `name key [options]`');
    if (fields.length > 3) throw bad(`unexpected field '${fields[3]}' after the options (options are comma-separated, no spaces)`);
    const [name, keyText, optionText] = fields as [string, string, string | undefined];
    if (!isValidNodeName(name)) throw bad(`invalid node name '${name}'`);
    let key: Uint8Array;
    try {
      key = decodeKey(keyText, `key of '${name}'`);
    } catch (err) {
      throw bad((err as Error).message);
    }
    const options: Record<string, string | true> = {};
    for (const token of optionText ? optionText.split(',') : []) {
      const m = OPTION.exec(token);
      if (!m) throw bad(`invalid option '${token}'`);
      if (Object.hasOwn(options, m[1]!)) throw bad(`option '${m[1]}' given twice`);
      options[m[1]!] = m[2] ?? true;
    }
    return { entry: { name, key, options: Object.freeze(options) }, text: raw };
  });
}

/** One line of a trust file for `entry` (no newline). */
export function formatTrustEntry(entry: TrustEntry): string {
  if (!isValidNodeName(entry?.name)) throw new HandshakeError('MALFORMED_TRUST_FILE', `invalid node name '${String(entry?.name)}'`);
  const options = Object.entries(entry.options ?? {}).map(([k, v]) => {
    const token = v === true ? k : `${k}=${v}`;
    if (!OPTION.test(token)) throw new HandshakeError('MALFORMED_TRUST_FILE', `invalid option '${token}'`);
    return token;
  });
  return `${entry.name} ${encodeKey(entry.key)}${options.length ? ` ${options.join(',')}` : ''}`;
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export interface TrustStoreOptions {
  /** `strict`: only `authorized_nodes` peers; `tofu`: also learn and pin unknown peers. */
  readonly mode: TrustMode;
  /** Text of `authorized_nodes` (may be empty). */
  readonly authorizedNodes?: string;
  /** Text of `known_nodes` (TOFU memory; may be empty). */
  readonly knownNodes?: string;
}

export interface TrustVerdict {
  readonly decision: TrustDecision;
  /** One sentence for logs and events. */
  readonly reason: string;
}

/**
 * What the kernel asks of trust, as a shape (no `instanceof`: two copies of this package, or a
 * caller's own store, work the same). `TrustStore` implements it.
 */
export interface Trust {
  /** `trusted`, `unknown` (TOFU, never seen), `changed` or `refused` for `key` under `name`, with a reason. */
  explain(name: string, key: Uint8Array): TrustVerdict;
  /** The one key `name` is pinned to (authorized first, then known), or null: a dial then uses IK. */
  keyFor(name: string): Uint8Array | null;
  /**
   * TOFU: pin `key` for `name`. May return a promise (a store that persists): the kernel reports
   * the link up only once it has resolved, so a learned key is durable before anyone relies on it.
   */
  learn(name: string, key: Uint8Array): void | Promise<void>;
}

/**
 * Decides whether a peer may be trusted. Never does I/O: build it from file text, ask `check`,
 * `learn` new peers in TOFU mode, and write `serializeKnownNodes()` back yourself.
 */
export class TrustStore implements Trust {
  readonly mode: TrustMode;
  readonly #authorized: TrustEntry[];
  #known: TrustFileLine[];

  constructor(options: TrustStoreOptions) {
    if (options?.mode !== 'strict' && options?.mode !== 'tofu') {
      throw new HandshakeError('INVALID_CONFIG', `mode must be 'strict' or 'tofu', got ${JSON.stringify(options?.mode)}`);
    }
    this.mode = options.mode;
    this.#authorized = parseTrustFile(options.authorizedNodes ?? '', 'authorized_nodes').flatMap((l) => (l.entry ? [l.entry] : []));
    this.#known = parseTrustFile(options.knownNodes ?? '', 'known_nodes');
  }

  /** `trusted`, `unknown`, `changed` or `refused` for `key` presented under `name`. */
  check(name: string, key: Uint8Array): TrustDecision {
    return this.explain(name, key).decision;
  }

  /** check(), with a reason for logs. */
  explain(name: string, key: Uint8Array): TrustVerdict {
    if (!isValidNodeName(name)) return { decision: 'refused', reason: 'malformed node name' };
    if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) return { decision: 'refused', reason: 'malformed key' };
    const known = this.#knownEntries();
    if ([...this.#authorized, ...known].some((e) => e.options[REVOKED_OPTION] && sameKey(e.key, key))) {
      return { decision: 'refused', reason: 'key is revoked' };
    }
    const live = (entries: TrustEntry[]) => entries.filter((e) => e.name === name && !e.options[REVOKED_OPTION]);
    const authorized = live(this.#authorized);
    if (authorized.some((e) => sameKey(e.key, key))) return { decision: 'trusted', reason: 'in authorized_nodes' };
    if (authorized.length) return { decision: 'changed', reason: `authorized_nodes binds '${name}' to another key` };
    if (this.mode === 'strict') return { decision: 'refused', reason: `'${name}' is not in authorized_nodes (strict mode)` };
    const pinned = live(known);
    if (pinned.some((e) => sameKey(e.key, key))) return { decision: 'trusted', reason: 'in known_nodes' };
    if (pinned.length) return { decision: 'changed', reason: `known_nodes binds '${name}' to another key` };
    return { decision: 'unknown', reason: `'${name}' was never seen` };
  }

  keyFor(name: string): Uint8Array | null {
    const live = (entries: readonly TrustEntry[]) => entries.filter((e) => e.name === name && !e.options[REVOKED_OPTION]);
    const authorized = live(this.#authorized);
    const pick = authorized.length > 0 ? authorized : live(this.#knownEntries());
    return pick.length === 1 ? pick[0]!.key.slice() : null;
  }

  /**
   * TOFU: pins `key` for `name` in known_nodes. Only for an `unknown` peer: a `changed` key is
   * never replaced here (call `forget` first, as an operator decision).
   */
  learn(name: string, key: Uint8Array): void {
    const verdict = this.explain(name, key);
    if (verdict.decision === 'trusted') return;
    if (verdict.decision !== 'unknown') {
      throw new HandshakeError('INVALID_CONFIG', `cannot learn '${name}': ${verdict.decision} (${verdict.reason})`);
    }
    const entry: TrustEntry = { name, key: key.slice(), options: Object.freeze({}) };
    this.#known.push({ entry, text: formatTrustEntry(entry) });
  }

  /** Removes every known_nodes line for `name` (revocations kept); returns how many were removed. */
  forget(name: string): number {
    const before = this.#known.length;
    this.#known = this.#known.filter((l) => !(l.entry && l.entry.name === name && !l.entry.options[REVOKED_OPTION]));
    return before - this.#known.length;
  }

  /** The known_nodes text to write back: original lines (comments included) plus learned ones. */
  serializeKnownNodes(): string {
    return this.#known.map((l) => `${l.text.replace(/\r$/, '')}\n`).join('');
  }

  /** Entries of authorized_nodes, then known_nodes. */
  entries(): { authorized: readonly TrustEntry[]; known: readonly TrustEntry[] } {
    return { authorized: this.#authorized.slice(), known: this.#knownEntries() };
  }

  #knownEntries(): TrustEntry[] {
    return this.#known.flatMap((l) => (l.entry ? [l.entry] : []));
  }
}
