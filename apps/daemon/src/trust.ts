// The node's trust: a @distkit/handshake TrustStore built from authorized_nodes and known_nodes.
// SIGHUP builds a new one from the files and hands it to the kernel (`node.setTrust`), which keeps
// the links the new store still trusts. Keys the kernel learns (TOFU) are written back to
// known_nodes atomically, one write at a time.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-file.ts';
import { createTrustStore, type TrustEntry, TrustStore } from './identity.ts';
import type { StatePaths } from './state.ts';

const KNOWN_HEADER = '# distkit known_nodes: keys learned on first use (TOFU). Delete a line, or run\n# `distkitd trust remove NAME`, to forget a key.\n';

export class DaemonTrust {
  readonly #paths: StatePaths;
  #current: TrustStore;
  #writes: Promise<void> = Promise.resolve();

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
    await this.#writes;
    this.#current = await build(this.#paths, mode);
  }

  get mode(): 'tofu' | 'strict' {
    return this.#current.mode;
  }

  entries(): { authorized: readonly TrustEntry[]; known: readonly TrustEntry[] } {
    return this.#current.entries();
  }

  /** The kernel learned a key (it already called store.learn): persist known_nodes. */
  persistLearned(): Promise<void> {
    const text = this.#current.serializeKnownNodes();
    const write = this.#writes.then(() => writeFileAtomic(this.#paths.knownNodes, text, { mode: 0o644 }));
    this.#writes = write.catch(() => {});
    return write;
  }
}

async function build(paths: StatePaths, mode: 'tofu' | 'strict'): Promise<TrustStore> {
  const read = (path: string, fallback: string): Promise<string> =>
    readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return fallback;
      throw err;
    });
  const authorized = await read(paths.authorizedNodes, '');
  const known = await read(paths.knownNodes, KNOWN_HEADER);
  return createTrustStore(mode, { authorized, known }, { authorized: paths.authorizedNodes, known: paths.knownNodes });
}
