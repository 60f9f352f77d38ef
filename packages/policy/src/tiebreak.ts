import { normalizeNodeId, type NodeKey } from './config.ts';

/** A node as the tie-break sees it: its name, and its id (public key) when known. */
export interface NodeRef {
  readonly name: string;
  readonly id?: NodeKey | null;
}

/**
 * Simultaneous connect: both nodes dialled each other and both attempts reached the other side.
 * Exactly one must survive, and both sides must pick the same one without talking. The rule, as
 * Erlang's net_kernel (`accept_pending`: "MyNode > Node" keeps its own attempt): **the connection
 * dialled by the greater node survives**. "Greater" compares the two ids as unsigned bytes (equal
 * to comparing the lowercase hex); when either id is unknown it compares the names (UTF-16 code
 * units, JavaScript's `<`). Kernels must pass ids on both sides or on neither, or the sides may
 * disagree.
 *
 * Returns `'a'` when `a`'s outbound connection survives, `'b'` when `b`'s does.
 */
export function simultaneousWinner(a: NodeRef, b: NodeRef): 'a' | 'b' {
  const x = a.id == null ? null : normalizeNodeId(a.id, 'a.id');
  const y = b.id == null ? null : normalizeNodeId(b.id, 'b.id');
  return outranks(a.name, x, b.name, y) ? 'a' : 'b';
}

/** The rule itself, on ids already normalized to lowercase hex (the engine's hot path). */
export function outranks(aName: string, aHex: string | null, bName: string, bHex: string | null): boolean {
  if (aHex !== null && bHex !== null && aHex !== bHex) return aHex > bHex;
  return aName > bName;
}
