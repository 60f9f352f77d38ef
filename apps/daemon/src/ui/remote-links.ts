// /v1/nodes?remote=true: each linked visible peer's own links, asked over the link with the
// kernel's remoteNodes (its setup time bounds the wait), so the page can draw the links between
// other nodes too: who still hears whom during a partition.
import type { DistkitNode } from '@distkit/kernel';

/** null: the peer did not answer. Nodes not linked, and hidden ones, are left as they are. */
export async function withRemoteLinks<T extends { name: string; connected: boolean; hidden: boolean }>(
  node: Partial<Pick<DistkitNode, 'remoteNodes'>>,
  nodes: readonly T[],
): Promise<Array<T & { linkedTo?: string[] | null }>> {
  const ask = node.remoteNodes?.bind(node);
  if (!ask) return [...nodes];
  return Promise.all(
    nodes.map(async (n) => (n.connected && !n.hidden ? { ...n, linkedTo: await ask(n.name).then((names) => names.filter((x) => x !== n.name).sort(), () => null) } : n)),
  );
}
