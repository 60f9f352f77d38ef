// Events and figures in words, as an operator reads them during an incident:
// "mine: 2 nodes, lowest id alpha — theirs: 1 node, lowest id gamma → stay (keep-majority)".

/** Names a node id (base64 of its public key) when the page knows whose key it is. */
export type NameOfId = (id: string) => string | undefined;

export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

export function formatClock(t: number): string {
  const d = new Date(t);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function idWords(id: unknown, nameOf: NameOfId): string {
  if (typeof id !== 'string') return 'unknown';
  return nameOf(id) ?? `${id.slice(0, 8)}…`;
}

/** A heartbeat view summary (one side of a partition) in words. */
export function describeView(view: unknown, nameOf: NameOfId): string {
  if (typeof view !== 'object' || view === null) return 'no view';
  const v = view as { connected?: unknown; lowest?: unknown; oldest?: unknown; referee?: unknown };
  const parts: string[] = [];
  // `connected` counts the links the side's node holds; the side is those nodes and itself.
  if (typeof v.connected === 'number') parts.push(plural(v.connected + 1, 'node'));
  if (v.lowest !== undefined && v.lowest !== null) parts.push(`lowest id ${idWords(v.lowest, nameOf)}`);
  const oldest = v.oldest as { id?: unknown } | null | undefined;
  if (oldest && oldest.id !== undefined) parts.push(`oldest ${idWords(oldest.id, nameOf)}`);
  if (v.referee === true) parts.push('with the referee');
  return parts.length > 0 ? parts.join(', ') : 'no view';
}

const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '?');

/** One line for the timeline. */
export function describeEvent(type: string, e: Record<string, unknown>, nameOf: NameOfId): string {
  const node = str(e['node']);
  const via = typeof e['via'] === 'string' ? ` (reported by ${e['via']})` : '';
  switch (type) {
    case 'nodeup':
      return `${node} linked, ${str(e['direction'])}, incarnation ${str(e['incarnation'])}${e['hidden'] === true ? ', hidden' : ''}`;
    case 'nodedown':
      return `${node} link down: ${str(e['reason'])}${typeof e['detail'] === 'string' ? ` (${e['detail']})` : ''}`;
    case 'verdict':
      return `${node}: ${str(e['previous'])} → ${str(e['verdict'])}`;
    case 'partition':
      return `${node} is alive but not linked (incarnation ${str(e['incarnation'])}): a partition${via}`;
    case 'restarted':
      return `${node} restarted: incarnation ${str(e['incarnation'])}`;
    case 'degraded':
      return `${node}: link up but its heartbeats are lost`;
    case 'decision':
      return `${node}: mine: ${describeView(e['mine'], nameOf)} — theirs: ${describeView(e['theirs'], nameOf)} → ${str(e['decision'])} (${str(e['strategy'])})${via}`;
    case 'key-changed':
      return `${node} presented another key: ${str(e['presented'])} (expected ${str(e['expected'])})`;
    case 'refused':
      return `refused ${e['node'] === null ? 'a stranger' : node} from ${str(e['remote'])}: ${str(e['reason'])}`;
    case 'message-lost':
      return `${plural(Number(e['count']) || 0, 'message')} to ${node} lost`;
    case 'message':
      return `message from ${str(e['from'])}`;
    case 'stream':
      return str(e['note']);
    default: {
      const { type: _t, at: _a, seenAt: _s, ...rest } = e;
      return `${node !== '?' ? `${node}: ` : ''}${JSON.stringify(rest)}`;
    }
  }
}
