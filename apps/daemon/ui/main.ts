// The cluster page: one daemon's view, live. The event stream drives it (each event goes on the
// timeline and triggers a fresh read of /v1/nodes); /v1/status and /v1/nodes are also read every
// two seconds for the counters, and ages tick locally every second.
import './style.css';
import { ControlApi, LoggedOut } from './api.ts';
import { confirmAction } from './confirm.ts';
import { Counters } from './counters.ts';
import { el, setText } from './element.ts';
import { renderMesh } from './mesh.ts';
import { NodeIds, idsInDecision } from './node-ids.ts';
import { PeerTable } from './peer-table.ts';
import { type PeerView, readPeers } from './peer-view.ts';
import { Timeline } from './timeline.ts';
import { formatDuration } from './words.ts';

const REFRESH_MS = 2000;
// Asking every linked peer for its links is a round trip each: less often than the rest.
const REMOTE_MS = 4000;
const $ = <T extends Element>(id: string): T => document.getElementById(id) as unknown as T;

const api = new ControlApi(document.querySelector<HTMLMetaElement>('meta[name="distkit-csrf"]')?.content ?? '');
const ids = new NodeIds();
const streamState = $<HTMLElement>('stream-state');
const result = $<HTMLElement>('action-result');
const peerTable = new PeerTable($('peers'), act);
const hiddenTable = new PeerTable($('hidden-peers'), act);
const timeline = new Timeline($('timeline'), $('timeline-filters'), $('timeline-count'), ids.nameOf);
const counters = new Counters($('counters'));

let self: { name: string; incarnation: number | null; startedAt: number | null } = { name: '', incarnation: null, startedAt: null };
let peers: PeerView[] = [];
let remote = new Map<string, readonly string[] | null>();
let facts: Array<[string, string]> = [];
let loggedOut = false;
const stop = new AbortController();

function setStream(state: 'connecting' | 'live' | 'reconnecting' | 'logged-out', text: string): void {
  streamState.dataset['state'] = state;
  setText(streamState, text);
}

function render(): void {
  const now = Date.now();
  if (self.name !== '') renderMesh($('mesh'), self, peers, now);
  peerTable.update(peers.filter((p) => !p.hidden), now);
  hiddenTable.update(peers.filter((p) => p.hidden), now);
  const shown: Array<[string, string]> = [...facts];
  if (self.startedAt !== null) shown.push(['up for', formatDuration(now - self.startedAt)]);
  const dl = $<HTMLDListElement>('self-facts');
  if (dl.childElementCount !== shown.length) dl.replaceChildren(...shown.map(([k]) => el('div', {}, el('dt', {}, k), el('dd', { 'data-fact': k }))));
  shown.forEach(([, v], i) => setText(dl.children[i]?.lastElementChild as Element, v));
}

let refreshing: Promise<void> | null = null;
let again = false;

/** Reads status and nodes; a call during a read asks for one more read after it. */
function refresh(): Promise<void> {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      do {
        again = false;
        const [status, nodes] = await Promise.all([api.get('/v1/status'), api.get('/v1/nodes')]);
        readStatus(status);
        peers = readPeers(nodes).map((p) => (remote.has(p.name) && p.connected ? { ...p, linkedTo: remote.get(p.name) ?? null } : p));
        ids.learn([[self.name, typeof (status as { fingerprint?: unknown }).fingerprint === 'string' ? (status as { fingerprint: string }).fingerprint : null], ...peers.map((p) => [p.name, p.fingerprint] as const)]);
        $<HTMLDataListElement>('known-nodes').replaceChildren(...peers.map((p) => el('option', { value: p.name })));
        render();
      } while (again);
    } catch (err) {
      if (err instanceof LoggedOut) return logOut();
      setText(result, `cannot read the daemon: ${(err as Error).message}`);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

let asking = false;

/** The links of the linked peers, as they report them (GET /v1/nodes?remote=true). */
async function refreshRemote(): Promise<void> {
  if (asking || loggedOut) return;
  asking = true;
  try {
    const reported = readPeers(await api.get('/v1/nodes?remote=true'));
    remote = new Map(reported.filter((p) => p.linkedTo !== undefined).map((p) => [p.name, p.linkedTo ?? null]));
    peers = peers.map((p) => (remote.has(p.name) && p.connected ? { ...p, linkedTo: remote.get(p.name) ?? null } : { ...p, linkedTo: undefined }));
    render();
  } catch (err) {
    if (err instanceof LoggedOut) logOut();
  } finally {
    asking = false;
  }
}

function readStatus(body: unknown): void {
  const s = (body ?? {}) as Record<string, unknown>;
  const text = (v: unknown): string | null => (typeof v === 'string' || typeof v === 'number' ? String(v) : null);
  const name = text(s['name']) ?? '?';
  const started = typeof s['startedAt'] === 'string' ? Date.parse(s['startedAt']) : NaN;
  self = { name, incarnation: typeof s['incarnation'] === 'number' ? s['incarnation'] : null, startedAt: Number.isNaN(started) ? null : started };
  document.title = `distkitd: ${name}`;
  setText($('self-name'), name);
  const address = s['address'] as { host?: unknown; port?: unknown } | undefined;
  facts = (
    [
      ['cluster', text(s['cluster'])],
      ['incarnation', text(s['incarnation'])],
      ['links', text(s['connected'])],
      ['fingerprint', text(s['fingerprint'])],
      ['listens on', address && typeof address.host === 'string' ? `${address.host}:${String(address.port)}` : null],
      ['version', text(s['version'])],
    ] as Array<[string, string | null]>
  ).filter((f): f is [string, string] => f[1] !== null);
  counters.update(s['stats']);
}

function logOut(): void {
  if (loggedOut) return;
  loggedOut = true;
  stop.abort();
  setStream('logged-out', 'not logged in');
  $<HTMLElement>('logged-out').hidden = false;
  for (const b of document.querySelectorAll<HTMLButtonElement>('main button')) b.disabled = true;
}

async function follow(): Promise<void> {
  let delay = 1000;
  let first = true;
  while (!loggedOut) {
    try {
      // The first connection replays the daemon's recent past; a reconnection says there may be a gap.
      const replay = first;
      first = false;
      const events = api.events(
        stop.signal,
        () => {
          setStream('live', 'live');
          delay = 1000;
          if (!replay) timeline.add('stream', { note: 'event stream reconnected: events while it was lost are not shown' }, Date.now());
          void refresh();
        },
        replay,
      );
      for await (const { type, data } of events) {
        timeline.add(type, data, typeof data['seenAt'] === 'number' ? data['seenAt'] : Date.now());
        if (type === 'decision') void ids.resolve(idsInDecision(data)).then((named) => named && timeline.rename());
        if (type !== 'message') void refresh();
        // A link came or went somewhere: the others' links may have changed too.
        if (type === 'nodeup' || type === 'nodedown') setTimeout(() => void refreshRemote(), 300);
      }
    } catch (err) {
      if (err instanceof LoggedOut) return logOut();
      if (stop.signal.aborted) return;
    }
    setStream('reconnecting', 'event stream lost: reconnecting…');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
    // The first read after a reconnect tells a restarted daemon (401: a new login) from a network blip.
    await refresh();
  }
}

/** What each action asks first, and the request it makes. */
const ACTIONS = {
  connect: (node: string) => ({
    title: `Connect to ${node}?`,
    detail: `${self.name} dials ${node} now. An explicit connect also lifts the bar that auto_connect = once sets after a failed link.`,
    verb: 'Connect',
    path: '/v1/connect',
    body: { node },
  }),
  disconnect: (node: string) => ({
    title: `Disconnect from ${node}?`,
    detail: `${self.name} closes its link to ${node} on purpose: both sides see a disconnect, not a partition. Under auto_connect = once the link stays down until someone connects again.`,
    verb: 'Disconnect',
    path: '/v1/disconnect',
    body: { node },
  }),
  'force-leave': (node: string) => ({
    title: `Forget ${node}?`,
    detail: `For a node that is gone for good: ${self.name} stops dialling and heartbeating ${node} and forgets it (also from joined_nodes). A node of the config file's peers comes back at the next reload.`,
    verb: 'Forget',
    path: '/v1/force-leave',
    body: { node },
  }),
} as const;

type Action = keyof typeof ACTIONS | 'join' | 'leave';

async function act(action: Action, node: string, name = ''): Promise<void> {
  const ask =
    action === 'join'
      ? {
          title: `Join the node at ${node}?`,
          detail: `${self.name} links to ${node}${name !== '' ? `, which must answer to the name ${name}` : ''}, under its trust and policy, and remembers it in joined_nodes: it links it again at every start.`,
          verb: 'Join',
          path: '/v1/join',
          body: name !== '' ? { address: node, name } : { address: node },
        }
      : action === 'leave'
        ? {
            title: `Leave the cluster?`,
            detail: `${self.name} tells every peer it leaves on purpose (no partition, no decision anywhere), forgets its joined peers, and then distkitd stops: this page loses it. Starting it again brings it back to its config's peers only.`,
            verb: 'Leave and stop',
            path: '/v1/leave',
            body: {},
          }
        : ACTIONS[action](node);
  const what = action === 'leave' ? 'leave' : `${action} ${node}`;
  if (!(await confirmAction(ask.title, ask.detail, ask.verb))) {
    setText(result, `${what}: cancelled`);
    return;
  }
  setText(result, `${what}…`);
  try {
    const answer = await api.post(ask.path, ask.body);
    setText(result, answer.ok ? `${what}: done` : `${what} refused: ${answer.message}`);
    if (answer.ok && action === 'leave') return left();
  } catch (err) {
    if (err instanceof LoggedOut) return logOut();
    setText(result, `${what} failed: ${(err as Error).message}`);
  }
  await refresh();
}

/** The daemon left the cluster and is stopping: nothing more to read. */
function left(): void {
  loggedOut = true;
  stop.abort();
  setStream('logged-out', 'left the cluster: distkitd stopped');
  setText(result, `${self.name} left the cluster; distkitd stopped`);
  for (const b of document.querySelectorAll<HTMLButtonElement>('main button')) b.disabled = true;
}

$<HTMLFormElement>('connect-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('connect-name');
  const name = input.value.trim();
  if (name !== '') void act('connect', name);
});

$<HTMLFormElement>('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const address = $<HTMLInputElement>('join-address').value.trim();
  if (address !== '') void act('join', address, $<HTMLInputElement>('join-name').value.trim());
});

$<HTMLButtonElement>('leave').addEventListener('click', () => void act('leave', ''));

$<HTMLButtonElement>('logout').addEventListener('click', () => {
  void api.logout().finally(() => {
    logOut();
    setStream('logged-out', 'logged out');
  });
});

void (async () => {
  await refresh();
  if (loggedOut) return;
  setInterval(() => void (loggedOut ? undefined : refresh()), REFRESH_MS);
  setInterval(render, 1000);
  setInterval(() => void refreshRemote(), REMOTE_MS);
  void refreshRemote();
  void follow();
})();
