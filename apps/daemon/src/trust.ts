// The node's trust: a @distkit/handshake TrustStore built from authorized_nodes and known_nodes.
// SIGHUP builds a new one from the files and hands it to the kernel (`node.setTrust`), which keeps
// the links the new store still trusts.
//
// Keys the kernel learns (TOFU) are appended to known_nodes and fsynced: one short append per
// key, and keys learned while a write is in flight share the next write and its fsync (group
// commit), instead of a whole-file rewrite per key. A crash can tear only the last line of an
// append; `repairKnownNodes` cuts such a line at the next start (an unterminated line that still
// parses is kept and given its newline).
import { open, readFile, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDirectory } from './atomic-file.ts';
import { DaemonError } from './errors.ts';
import { createTrustStore, formatTrustLine, parseTrustFile, sameKey, type TrustEntry, TrustStore } from './identity.ts';
import type { StatePaths } from './state.ts';

const KNOWN_HEADER = '# distkit known_nodes: keys learned on first use (TOFU). Delete a line, or run\n# `distkitd trust remove NAME`, to forget a key.\n';

export class DaemonTrust {
  readonly #paths: StatePaths;
  #current: TrustStore;
  /** Lines waiting for the next append, and the promise that append settles. */
  #queued: { lines: string[]; names: Set<string>; done: Promise<void> } | null = null;
  #writing: Promise<void> = Promise.resolve();
  /** Names whose learned key is not yet on disk, with the write that will put it there. */
  readonly #pending = new Map<string, Promise<void>>();
  /** Keys appended by this process (the kernel may report one key more than once). */
  readonly #appended = new Map<string, Uint8Array>();

  private constructor(paths: StatePaths, initial: TrustStore) {
    this.#paths = paths;
    this.#current = initial;
  }

  /** The store in force: give it to the kernel (NodeOptions.trust.store, then `setTrust` after a reload). */
  get store(): TrustStore {
    return this.#current;
  }

  static async load(paths: StatePaths, mode: 'tofu' | 'strict'): Promise<DaemonTrust> {
    return new DaemonTrust(paths, await build(paths, mode));
  }

  /** Re-reads both files (after pending known_nodes writes); a bad file throws and changes nothing. */
  async reload(mode: 'tofu' | 'strict'): Promise<void> {
    await this.flushed();
    this.#current = await build(this.#paths, mode);
  }

  get mode(): 'tofu' | 'strict' {
    return this.#current.mode;
  }

  entries(): { authorized: readonly TrustEntry[]; known: readonly TrustEntry[] } {
    return this.#current.entries();
  }

  /**
   * The kernel learned `name`'s key (it already called store.learn): append it to known_nodes.
   * Resolves once the line is on disk (after fsync); rejects if it could not be written.
   */
  persistLearned(name: string, key: Uint8Array): Promise<void> {
    const done = this.#appended.get(name);
    if (done !== undefined && sameKey(done, key)) return this.#pending.get(name) ?? Promise.resolve();
    this.#appended.set(name, Uint8Array.from(key));
    const line = `${formatTrustLine({ name, key, options: {} })}\n`;
    if (this.#queued === null) {
      const batch = { lines: [] as string[], names: new Set<string>(), done: Promise.resolve() };
      // The batch is written once the write before it has finished: every key learned meanwhile
      // joins it and shares its fsync.
      batch.done = this.#writing.then(() => {
        this.#queued = null;
        return appendLines(this.#paths.knownNodes, batch.lines);
      });
      this.#writing = batch.done.catch(() => {});
      this.#queued = batch;
    }
    const batch = this.#queued;
    batch.lines.push(line);
    batch.names.add(name);
    const settled = batch.done.finally(() => {
      if (this.#pending.get(name) === settled) this.#pending.delete(name);
    });
    this.#pending.set(name, settled);
    settled.catch(() => this.#appended.delete(name));
    return settled;
  }

  /** Resolves when `name`'s learned key is durable (at once when none is pending). */
  durable(name: string): Promise<void> {
    return (this.#pending.get(name) ?? Promise.resolve()).catch(() => {});
  }

  /** Resolves when every append started so far has settled. */
  flushed(): Promise<void> {
    return this.#writing;
  }
}

/** Appends `lines` to known_nodes (created with its header if missing) and fsyncs it. */
async function appendLines(path: string, lines: readonly string[]): Promise<void> {
  const handle = await open(path, 'a+', 0o644);
  try {
    const { size } = await handle.stat();
    let prefix = size === 0 ? KNOWN_HEADER : '';
    if (size > 0) {
      // Edited by hand without a final newline: do not glue the new line to the last one.
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.write(prefix + lines.join(''));
    await handle.sync();
    if (size === 0) await syncDirectory(dirname(path));
  } finally {
    await handle.close();
  }
}

/**
 * known_nodes' text without a torn last line. A line without its newline is what a crash in the
 * middle of an append leaves; if it still parses it is whole (an edit without a final newline)
 * and is kept.
 */
export function untornKnownNodes(text: string, path: string): { readonly text: string; readonly torn: boolean } {
  if (text === '' || text.endsWith('\n')) return { text, torn: false };
  const cut = text.lastIndexOf('\n') + 1;
  try {
    parseTrustFile(text.slice(cut), path);
    return { text: `${text}\n`, torn: false };
  } catch {
    return { text: text.slice(0, cut), torn: true };
  }
}

/**
 * At start, under the state folder's lock: cuts a torn last line off known_nodes, or adds the
 * missing newline to a whole one. Returns what it did, for the log.
 */
export async function repairKnownNodes(path: string): Promise<'torn-line-removed' | 'newline-added' | null> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw new DaemonError('STATE_IO', `cannot read ${path}: ${err.message}`);
  });
  const fixed = untornKnownNodes(text, path);
  if (fixed.text === text) return null;
  if (fixed.torn) await truncate(path, Buffer.byteLength(fixed.text));
  const handle = await open(path, 'a');
  try {
    if (!fixed.torn) await handle.write('\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return fixed.torn ? 'torn-line-removed' : 'newline-added';
}

async function build(paths: StatePaths, mode: 'tofu' | 'strict'): Promise<TrustStore> {
  const read = (path: string, fallback: string): Promise<string> =>
    readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return fallback;
      throw new DaemonError('STATE_IO', `cannot read ${path}: ${err.message}`);
    });
  const authorized = await read(paths.authorizedNodes, '');
  const known = untornKnownNodes(await read(paths.knownNodes, KNOWN_HEADER), paths.knownNodes).text;
  return createTrustStore(mode, { authorized, known }, { authorized: paths.authorizedNodes, known: paths.knownNodes });
}
