// joined_nodes in the state folder: the peers `distkitd join` added at run time, so a node that
// joined stays joined across restarts. One line per peer, `name host:port [public-key-base64]`,
// in the spirit of known_nodes; `#` comments. Rewritten whole and atomically on every change
// (atomic-file.ts); read by the start-up checks like the other state files.
import { readFile } from 'node:fs/promises';
import type { Address } from '@distkit/kernel';
import { writeFileAtomic } from './atomic-file.ts';
import { HOST_PORT, parseHostPort } from './config-schema.ts';
import { DaemonError } from './errors.ts';
import { encodePublicKey, isNodeName } from './identity.ts';

export interface JoinedNode {
  readonly name: string;
  readonly address: Address;
  /** Pinned with `join --key`; otherwise the trust files decide, as for any peer. */
  readonly publicKey: Uint8Array | null;
}

const HEADER =
  '# distkit joined_nodes: peers added by `distkitd join HOST:PORT`, linked again at every start.\n' +
  '# `distkitd force-leave NAME` forgets one; `distkitd leave` forgets them all.\n';

const KEY = /^[A-Za-z0-9+/]{43}=$/;

/** The entries of a joined_nodes text; a bad line is STATE_CORRUPT (exit 65) naming file and line. */
export function parseJoinedNodes(text: string, path: string): JoinedNode[] {
  const out: JoinedNode[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    // A key is never quoted back: only which field is wrong.
    const bad = (why: string): DaemonError => new DaemonError('STATE_CORRUPT', `${path}:${i + 1}: ${why} (expected: name host:port [public-key]; fix the line or remove it)`);
    const fields = line.split(/\s+/);
    const [name = '', address = '', key] = fields;
    if (fields.length > 3) throw bad('too many fields');
    if (!isNodeName(name)) throw bad('the first field is not a node name');
    if (seen.has(name)) throw bad(`${name} is listed twice`);
    const m = HOST_PORT.exec(address);
    if (!m || Number(m[1]) > 65535 || Number(m[1]) === 0) throw bad('the second field is not host:port');
    if (key !== undefined && !KEY.test(key)) throw bad('the third field is not a base64 public key (44 characters)');
    seen.add(name);
    out.push({ name, address: parseHostPort(address), publicKey: key === undefined ? null : Uint8Array.from(Buffer.from(key, 'base64')) });
  });
  return out;
}

export function formatJoinedNodes(nodes: readonly JoinedNode[]): string {
  const lines = nodes.map((n) => {
    const host = n.address.host.includes(':') ? `[${n.address.host}]` : n.address.host;
    return `${n.name} ${host}:${n.address.port}${n.publicKey ? ` ${encodePublicKey(n.publicKey)}` : ''}\n`;
  });
  return HEADER + lines.join('');
}

/** The file's entries; none when it does not exist. */
export async function readJoinedNodes(path: string): Promise<JoinedNode[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new DaemonError('STATE_IO', `${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseJoinedNodes(text, path);
}

export async function writeJoinedNodes(path: string, nodes: readonly JoinedNode[]): Promise<void> {
  await writeFileAtomic(path, formatJoinedNodes(nodes), { mode: 0o644 });
}
