// Operator tags (`role = "db"`): checked by the wire's own rules (@distkit/wire checkTags, the
// format the hello carries), set in the config's `tags` table, changed at run time by
// `distkitd tags set|reset`. Run-time changes are kept in the state folder (tags.json) as
// overrides of the config's table, so a reload (SIGHUP, which `trust add` also sends) or a restart
// keeps them: the tags in force are the config's, with the overrides' `set` on top and their
// `remove` taken away.
import { readFile } from 'node:fs/promises';
import { checkTags, MAX_TAGS } from '@distkit/wire';
import { writeFileAtomic } from './atomic-file.ts';
import { DaemonError } from './errors.ts';

export type Tags = Readonly<Record<string, string>>;

/** Run-time changes to the config's tags. */
export interface TagOverrides {
  readonly set: Tags;
  readonly remove: readonly string[];
}

export const NO_OVERRIDES: TagOverrides = Object.freeze({ set: Object.freeze({}), remove: Object.freeze([]) });

/**
 * What is wrong with one tag (`key` and its value), or with a whole table (`key` null): null when
 * nothing is. The message is the wire's (keys: letters, digits, `. _ - /` up to 64 bytes; values:
 * non-empty text up to 256 bytes; at most 32 tags).
 */
export function tagProblem(key: string | null, value: unknown): string | null {
  try {
    if (key === null) {
      if (typeof value === 'object' && value !== null && Object.keys(value).length > MAX_TAGS) return `at most ${MAX_TAGS} tags (got ${Object.keys(value).length})`;
      return null;
    }
    if (typeof value !== 'string') {
      const shown = typeof value === 'number' || typeof value === 'boolean' ? `: write it in quotes, ${key} = "${String(value)}"` : '';
      return `must be a string (got ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}${shown})`;
    }
    checkTags({ [key]: value }, 'tag');
    return null;
  } catch (err) {
    // The wire names the field `tag.<key>` / `tag key`; the caller already says which tag.
    return (err as Error).message.replace(/^tag\.\S* /, 'value ').replace(/^tag key/, 'key');
  }
}

/** `KEY=VALUE` from a flag or a variable; `label` names it in errors. */
export function parseTagAssignment(text: string, label: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new DaemonError('BAD_FLAG', `${label}: ${JSON.stringify(text)} is not a tag: expected KEY=VALUE (e.g. role=db)`);
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  const problem = tagProblem(key, value);
  if (problem !== null) throw new DaemonError('BAD_FLAG', `${label}: ${problem}`);
  return [key, value];
}

/** A filter of `nodes --tag`: `KEY=VALUE` (that value) or `KEY` (any value). */
export interface TagFilter {
  readonly key: string;
  readonly value: string | null;
}

export function parseTagFilter(text: string): TagFilter {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  if (key === '' || tagProblem(key, 'x') !== null) {
    throw new DaemonError('BAD_FLAG', `--tag: ${JSON.stringify(text)} is not a tag filter: expected KEY=VALUE or KEY (keys: letters, digits and . _ - /)`);
  }
  return { key, value: eq < 0 ? null : text.slice(eq + 1) };
}

/** Every filter holds (AND). */
export function matchesTags(tags: Tags | undefined, filters: readonly TagFilter[]): boolean {
  return filters.every((f) => tags !== undefined && Object.hasOwn(tags, f.key) && (f.value === null || tags[f.key] === f.value));
}

/** The tags in force: the config's, the overrides' `set` on top, their `remove` taken away. */
export function effectiveTags(config: Tags, overrides: TagOverrides): Tags {
  const out: Record<string, string> = { ...config, ...overrides.set };
  for (const key of overrides.remove) delete out[key];
  return out;
}

/**
 * Overrides after a `tags set` (`set`, `remove`) or `tags reset`. A key set is no longer removed
 * and the other way round. Throws BAD_FLAG when the result would not be valid tags.
 */
export function changeOverrides(current: TagOverrides, change: { readonly set?: Tags; readonly remove?: readonly string[]; readonly reset?: boolean }, config: Tags): TagOverrides {
  const base = change.reset === true ? NO_OVERRIDES : current;
  const set: Record<string, string> = { ...base.set };
  const remove = new Set(base.remove);
  for (const [key, value] of Object.entries(change.set ?? {})) {
    const problem = tagProblem(key, value);
    if (problem !== null) throw new DaemonError('BAD_FLAG', problem);
    set[key] = value;
    remove.delete(key);
  }
  for (const key of change.remove ?? []) {
    if (Object.hasOwn(change.set ?? {}, key)) throw new DaemonError('BAD_FLAG', `tag ${key} is both set and removed`);
    delete set[key];
    // Removing a key the config does not set only has to drop the override.
    if (Object.hasOwn(config, key)) remove.add(key);
  }
  const next: TagOverrides = { set, remove: [...remove].sort() };
  const whole = tagProblem(null, effectiveTags(config, next));
  if (whole !== null) throw new DaemonError('BAD_FLAG', whole);
  return next;
}

/** tags.json in the state folder; NO_OVERRIDES when it does not exist. A bad file is STATE_CORRUPT (65). */
export async function readTagOverrides(path: string): Promise<TagOverrides> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return NO_OVERRIDES;
    throw new DaemonError('STATE_IO', `${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseTagOverrides(text, path);
}

export function parseTagOverrides(text: string, path: string): TagOverrides {
  const bad = (why: string): DaemonError =>
    new DaemonError('STATE_CORRUPT', `${path}: ${why} (it holds the run-time tags of distkitd tags set; fix it, or delete it to go back to the config's tags)`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('expected {"set": {...}, "remove": [...]}');
  const { set = {}, remove = [], ...rest } = value as { set?: unknown; remove?: unknown };
  if (Object.keys(rest).length > 0) throw bad(`unknown key ${Object.keys(rest)[0]}`);
  if (typeof set !== 'object' || set === null || Array.isArray(set)) throw bad('"set" must be an object of tags');
  for (const [k, v] of Object.entries(set)) {
    const problem = tagProblem(k, v);
    if (problem !== null) throw bad(`"set": ${problem}`);
  }
  if (!Array.isArray(remove) || !remove.every((k) => typeof k === 'string' && tagProblem(k, 'x') === null)) throw bad('"remove" must be a list of tag keys');
  return { set: set as Tags, remove: remove as string[] };
}

export async function writeTagOverrides(path: string, overrides: TagOverrides): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify({ set: overrides.set, remove: overrides.remove }, null, 2)}\n`, { mode: 0o644 });
}

/** `role=db, zone=eu-1` for people; `-` when there are none. */
export function formatTags(tags: Tags | undefined): string {
  const entries = Object.entries(tags ?? {});
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

export function sameTags(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
