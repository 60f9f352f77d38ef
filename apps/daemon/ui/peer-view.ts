// What the page knows of a peer, read defensively from /v1/nodes: the fields the daemon serves
// today are typed, anything else it serves (fields other work adds later) is kept as `extra` and
// shown as it comes. A field that is not there is shown as "—", never guessed.

export type LinkState = 'up' | 'degraded' | 'down' | 'partitioned' | 'restarted' | 'disconnected';

export const LINK_STATES: Readonly<Record<LinkState, string>> = {
  up: 'up',
  degraded: 'degraded: link up, heartbeats lost',
  down: 'down',
  partitioned: 'partitioned: alive, not linked',
  restarted: 'restarted: back with a new incarnation',
  disconnected: 'disconnected on purpose',
};

// nodedown reasons that mean someone closed the link deliberately (this node or the peer).
const ON_PURPOSE = new Set(['disconnect', 'shutdown', 'leave', 'left']);

export interface PeerView {
  readonly name: string;
  readonly connected: boolean;
  readonly hidden: boolean;
  readonly verdict: string;
  readonly state: LinkState;
  readonly direction: string | null;
  readonly incarnation: number | null;
  readonly fingerprint: string | null;
  readonly address: string | null;
  /** Epoch ms of the last link change the daemon saw. */
  readonly since: number | null;
  readonly lastDownReason: string | null;
  readonly suite: string | null;
  readonly tags: string | null;
  /** Epoch ms of the last heartbeat heard, when the daemon says. */
  readonly lastHeard: number | null;
  readonly phi: number | null;
  readonly loss: number | null;
  /** The peer's own links as it reported them (null: it did not answer; undefined: not asked yet). */
  readonly linkedTo: readonly string[] | null | undefined;
  /** Fields the page has no column for, as the daemon gave them. */
  readonly extra: ReadonlyArray<readonly [string, string]>;
}

const KNOWN = new Set([
  'name', 'connected', 'hidden', 'verdict', 'direction', 'incarnation', 'fingerprint', 'address', 'since', 'lastDownReason',
  'suite', 'tags', 'linkedTo', 'lastHeard', 'lastHeardAt', 'lastHeartbeat', 'lastHeartbeatAt', 'phi', 'loss', 'lossRate',
]);

export function linkState(connected: boolean, verdict: string, lastDownReason: string | null): LinkState {
  if (connected) return verdict === 'degraded' ? 'degraded' : 'up';
  if (verdict === 'partitioned') return 'partitioned';
  if (verdict === 'restarted') return 'restarted';
  // The kernel's verdict for a link closed on purpose by either side; the reason alone cannot say
  // it for the side that was told (its reason is connection_closed).
  if (verdict === 'disconnected') return 'disconnected';
  if (lastDownReason !== null && ON_PURPOSE.has(lastDownReason)) return 'disconnected';
  return 'down';
}

/** Peers from a /v1/nodes answer; entries without a name are skipped. */
export function readPeers(body: unknown): PeerView[] {
  const list = (body as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(list)) return [];
  const peers: PeerView[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const n = item as Record<string, unknown>;
    if (typeof n['name'] !== 'string') continue;
    const connected = n['connected'] === true;
    const verdict = str(n['verdict']) ?? 'unknown';
    const lastDownReason = str(n['lastDownReason']);
    peers.push({
      name: n['name'],
      connected,
      hidden: n['hidden'] === true,
      verdict,
      state: linkState(connected, verdict, lastDownReason),
      direction: str(n['direction']),
      incarnation: num(n['incarnation']),
      fingerprint: str(n['fingerprint']),
      address: address(n['address']),
      since: time(n['since']),
      lastDownReason,
      suite: str(n['suite']),
      tags: tags(n['tags']),
      linkedTo: n['linkedTo'] === undefined ? undefined : Array.isArray(n['linkedTo']) ? n['linkedTo'].filter((x): x is string => typeof x === 'string') : null,
      lastHeard: time(n['lastHeard'] ?? n['lastHeardAt'] ?? n['lastHeartbeat'] ?? n['lastHeartbeatAt']),
      phi: num(n['phi']),
      loss: num(n['loss'] ?? n['lossRate']),
      extra: Object.entries(n)
        .filter(([k, v]) => !KNOWN.has(k) && v !== null && v !== undefined)
        .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)] as const),
    });
  }
  return peers.sort((a, b) => a.name.localeCompare(b.name));
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** ISO 8601 text or epoch milliseconds. */
function time(v: unknown): number | null {
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return typeof v === 'number' && v > 1e12 ? v : null;
}

function address(v: unknown): string | null {
  if (typeof v === 'string') return v;
  const a = v as { host?: unknown; port?: unknown } | null;
  if (typeof a?.host !== 'string' || typeof a.port !== 'number') return null;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function tags(v: unknown): string | null {
  if (Array.isArray(v)) return v.length > 0 ? v.map(String).join(', ') : null;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length > 0 ? entries.map(([k, x]) => `${k}=${String(x)}`).join(', ') : null;
  }
  return str(v);
}
