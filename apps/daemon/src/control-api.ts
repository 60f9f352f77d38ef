// The local control API: node:http on a loopback address or a Unix socket, every route but
// /healthz behind a bearer token. Without the right token the answer is 401 and nothing else,
// not even whether a path exists. /healthz stays open for liveness probes and reveals only "ok".
import { createHash, timingSafeEqual } from 'node:crypto';
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Address, DistkitNode } from '@distkit/kernel';
import { type ControlListen, HOST_PORT, isLoopback, parseHostPort } from './config-schema.ts';
import { DaemonError, isDaemonError } from './errors.ts';
import { type DaemonEvent, type EventHub, toJson } from './event-hub.ts';
import { isNodeName, parsePublicKey } from './identity.ts';
import type { Logger } from './log.ts';
import type { JoinResult } from './membership.ts';
import type { DaemonMetrics } from './metrics.ts';
import { matchesTags, parseTagFilter, type Tags, type TagFilter } from './tags.ts';
import { loadUiAssets } from './ui/assets.ts';
import { EventHistory } from './ui/event-history.ts';
import { LinkChanges } from './ui/link-changes.ts';
import { createPageServer, type PageServer } from './ui/page-server.ts';
import { withRemoteLinks } from './ui/remote-links.ts';

/**
 * What the daemon does beyond one kernel call (membership.ts, the tags kept in the state folder):
 * the routes of `join`, `leave`, `force-leave` and `tags set|reset`.
 */
export interface DaemonControl {
  /** `deadline` bounds the kernel's part (a join it never settles is undone). */
  join(address: Address, options: { readonly name?: string; readonly publicKey?: Uint8Array; readonly deadline?: <T>(call: Promise<T>, what: string) => Promise<T> }): Promise<JoinResult>;
  /** Every peer told, the node stopped; the daemon stops once the answer has gone out. */
  leave(): Promise<void>;
  forceLeave(name: string): Promise<{ readonly inConfig: boolean; readonly joined: boolean }>;
  changeTags(change: { readonly set?: Tags; readonly remove?: readonly string[]; readonly reset?: boolean }): Promise<Tags>;
}

/** What the control API needs of a node: the kernel contract's query and command methods. */
export type ControlledNode = Pick<
  DistkitNode,
  'name' | 'fingerprint' | 'publicKey' | 'incarnation' | 'address' | 'heartbeatAddress' | 'connectNode' | 'disconnectNode' | 'nodes' | 'info' | 'send' | 'stats'
> &
  Partial<Pick<DistkitNode, 'remoteNodes'>>;

export interface ControlApiOptions {
  readonly node: ControlledNode;
  readonly token: string;
  readonly listen: ControlListen;
  readonly allowRemote: boolean;
  readonly metrics: DaemonMetrics;
  readonly events: EventHub;
  /** Extra facts for /v1/status (cluster, pid, version, started at...). */
  readonly status?: () => Record<string, unknown>;
  readonly log?: Logger;
  /** Extra facts for the unauthenticated /healthz (the event loop's lag): nothing about the node. */
  readonly health?: () => Record<string, unknown>;
  /** SSE keep-alive comment interval (default 15 s). */
  readonly keepAliveMs?: number;
  /** Serve the cluster page at /ui (default true; only ever on a loopback TCP address). */
  readonly ui?: boolean;
  /** The membership and tag routes; without it they answer 404. */
  readonly daemon?: DaemonControl;
  /**
   * How long `connect` and `join` wait for the kernel before answering 504 (default 10 s; the
   * daemon passes setup_time plus a margin). The kernel's own deadline should answer first.
   */
  readonly connectTimeoutMs?: number;
}

export interface ControlServer {
  /** http://host:port or unix:/path */
  readonly url: string;
  /** A fresh one-time login URL for the cluster page, or null when no page is served. */
  loginUrl(): string | null;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

export async function startControlApi(options: ControlApiOptions): Promise<ControlServer> {
  const { listen } = options;
  if (listen.kind === 'tcp' && !isLoopback(listen.host) && !options.allowRemote) {
    throw new DaemonError('CONTROL_BIND', `refusing to serve the control API on ${listen.host}: not a loopback address (set control.allow_remote = true to allow it)`);
  }
  const expected = digest(options.token);
  const closers = new Set<() => void>();
  const links = new LinkChanges(options.events);
  const history = new EventHistory(options.events);
  let page: PageServer | null = null;
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log?.error({ err }, 'control API handler failed');
      if (!res.headersSent) reply(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://control');
    if (url.pathname === '/healthz' && req.method === 'GET') return reply(res, 200, { status: 'ok', ...options.health?.() });
    if (page && (await page.handle(req, res, url))) return;
    const byCookie = page && req.headers.authorization === undefined ? page.authenticate(req) : 'none';
    if (byCookie === 'forbidden') return reply(res, 403, { error: { code: 'CSRF', message: 'an action by the page needs its CSRF token and a same-origin request' } });
    if (byCookie !== 'ok' && !authorized(req.headers.authorization, expected)) {
      res.setHeader('www-authenticate', 'Bearer realm="distkitd"');
      return reply(res, 401, { error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' } });
    }
    const route = `${req.method} ${url.pathname}`;
    const node = options.node;
    switch (route) {
      case 'GET /v1/status':
        return reply(res, 200, {
          name: node.name,
          fingerprint: node.fingerprint,
          publicKey: node.publicKey,
          incarnation: node.incarnation,
          address: node.address,
          heartbeatAddress: node.heartbeatAddress,
          connected: node.nodes({ hidden: true }).length,
          stats: node.stats(),
          ...options.status?.(),
        });
      case 'GET /v1/nodes': {
        let filters: TagFilter[];
        try {
          filters = url.searchParams.getAll('tag').map(parseTagFilter);
        } catch (err) {
          return reply(res, 400, { error: { code: 'BAD_REQUEST', message: (err as Error).message.replace(/^--tag: /, 'tag: ') } });
        }
        const nodes = links.annotate(node.info().filter((n) => matchesTags(n.tags, filters)));
        if (url.searchParams.get('remote') !== 'true') return reply(res, 200, { nodes });
        return reply(res, 200, { nodes: await withRemoteLinks(node, nodes) });
      }
      case 'POST /v1/connect':
      case 'POST /v1/disconnect':
      case 'POST /v1/send': {
        const body = await readJson(req);
        if (!body.ok) return reply(res, body.status, { error: { code: 'BAD_REQUEST', message: body.message } });
        const name = (body.value as { node?: unknown }).node;
        if (typeof name !== 'string' || name === '') return reply(res, 400, { error: { code: 'BAD_REQUEST', message: 'body must be a JSON object with "node": "<name>"' } });
        if (route === 'POST /v1/disconnect') {
          await kernelCall(res, () => node.disconnectNode(name));
          return;
        }
        if (route === 'POST /v1/connect') return kernelCall(res, () => deadline(node.connectNode(name), `connect ${name}`));
        if (!('value' in (body.value as object))) return reply(res, 400, { error: { code: 'BAD_REQUEST', message: 'body must carry "value": <any JSON>' } });
        return kernelCall(res, () => node.send(name, (body.value as { value: unknown }).value));
      }
      case 'POST /v1/join':
      case 'POST /v1/leave':
      case 'POST /v1/force-leave':
      case 'POST /v1/tags':
        return daemonRoute(route, req, res);
      case 'GET /v1/events':
        return streamEvents(url, res);
      case 'GET /metrics':
        res.writeHead(200, { 'content-type': options.metrics.contentType });
        res.end(await options.metrics.render());
        return;
      default:
        return reply(res, ROUTES.has(url.pathname) ? 405 : 404, { error: { code: ROUTES.has(url.pathname) ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND', message: `no route ${route}` } });
    }
  }

  async function kernelCall(res: ServerResponse, call: () => Promise<unknown>): Promise<void> {
    try {
      const answer = await call();
      reply(res, 200, { ok: true, ...(typeof answer === 'object' && answer !== null ? answer : {}) });
    } catch (err) {
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'INTERNAL';
      // An I/O failure of the state folder is the daemon's, not the request's: logged, and said briefly.
      if (isDaemonError(err) && STATUS_OF_KERNEL_CODE[code] === undefined) options.log?.error({ err: err.message }, 'control request failed');
      reply(res, STATUS_OF_KERNEL_CODE[code] ?? 500, { error: { code, message: (err as Error).message } });
    }
  }

  /**
   * A connect the kernel never settles (seen: a peer that answers with another name than the one
   * dialled) must not hold the request, and the CLI behind it, for ever.
   */
  function deadline<T>(call: Promise<T>, what: string): Promise<T> {
    const ms = options.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DaemonError('CONNECT_TIMEOUT', `${what}: no answer within ${ms} ms (the link was not made)`)), ms);
    });
    return Promise.race([call, late]).finally(() => clearTimeout(timer));
  }

  async function daemonRoute(route: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const daemon = options.daemon;
    if (daemon === undefined) return reply(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${route}` } });
    const body = await readJson(req);
    if (!body.ok) return reply(res, body.status, { error: { code: 'BAD_REQUEST', message: body.message } });
    const fields = body.value as Record<string, unknown>;
    const bad = (message: string): void => reply(res, 400, { error: { code: 'BAD_REQUEST', message } });
    switch (route) {
      case 'POST /v1/join': {
        const { address, name, publicKey } = fields;
        if (typeof address !== 'string' || !HOST_PORT.test(address) || !/:([1-9]\d{0,4})$/.test(address) || Number(HOST_PORT.exec(address)?.[1]) > 65535) {
          return bad('body must carry "address": "host:port" (a port from 1 to 65535, IPv6 in brackets)');
        }
        if (name !== undefined && (typeof name !== 'string' || !isNodeName(name))) return bad('"name" must be a node name (letters, digits, _ . @ : + - [ ])');
        let key: Uint8Array | undefined;
        if (publicKey !== undefined) {
          try {
            key = parsePublicKey(String(publicKey), '"publicKey"');
          } catch (err) {
            return bad((err as Error).message);
          }
        }
        return kernelCall(res, () => daemon.join(parseHostPort(address), { ...(name !== undefined ? { name } : {}), ...(key ? { publicKey: key } : {}), deadline }));
      }
      case 'POST /v1/force-leave': {
        const name = fields['node'];
        if (typeof name !== 'string' || name === '') return bad('body must be a JSON object with "node": "<name>"');
        return kernelCall(res, () => daemon.forceLeave(name));
      }
      case 'POST /v1/tags': {
        const { set, remove, reset } = fields;
        if (set !== undefined && (typeof set !== 'object' || set === null || Array.isArray(set))) return bad('"set" must be an object of tags: {"role": "db"}');
        if (remove !== undefined && (!Array.isArray(remove) || !remove.every((k) => typeof k === 'string'))) return bad('"remove" must be a list of tag keys');
        if (reset !== undefined && typeof reset !== 'boolean') return bad('"reset" must be true or false');
        return kernelCall(res, async () => ({
          tags: await daemon.changeTags({ ...(set ? { set: set as Tags } : {}), ...(remove ? { remove: remove as string[] } : {}), ...(reset !== undefined ? { reset } : {}) }),
        }));
      }
      default: {
        // POST /v1/leave: the answer goes out once every peer was told; then the daemon stops.
        try {
          await daemon.leave();
        } catch (err) {
          return reply(res, 500, { error: { code: 'INTERNAL', message: (err as Error).message } });
        }
        return reply(res, 200, { ok: true, left: true });
      }
    }
  }

  function streamEvents(url: URL, res: ServerResponse): void {
    const types = url.searchParams.get('types')?.split(',').filter((t) => t !== '') ?? null;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 2000\n: connected\n\n');
    let id = 0;
    // ?replay=true: the recent past first, each event with the wall-clock time the daemon saw it.
    if (url.searchParams.get('replay') === 'true') id = history.replay(types, (chunk) => res.write(chunk));
    const unsubscribe = options.events.subscribe((event: DaemonEvent) => {
      if (types !== null && !types.includes(event.type)) return;
      // A consumer that stopped reading is cut off rather than buffered without bound.
      if (res.writableLength > MAX_BODY) return res.destroy();
      res.write(`id: ${++id}\nevent: ${event.type}\ndata: ${toJson(event)}\n\n`);
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), options.keepAliveMs ?? 15_000);
    keepAlive.unref();
    const close = (): void => {
      clearInterval(keepAlive);
      unsubscribe();
      closers.delete(close);
      res.end();
    };
    closers.add(close);
    res.on('close', close);
  }

  await bind(server, listen).catch((err: unknown) => {
    links.close();
    history.close();
    throw err;
  });
  const url = listen.kind === 'unix' ? `unix:${listen.path}` : `http://${formatHost(listen.host)}:${(server.address() as { port: number }).port}`;
  // No page on a Unix socket (no browser reaches it), off loopback, or in a copy built without it.
  const assets = (options.ui ?? true) && listen.kind === 'tcp' && isLoopback(listen.host) ? loadUiAssets() : null;
  if (assets) page = createPageServer({ token: options.token, port: (server.address() as { port: number }).port, assets });
  return {
    url,
    loginUrl: () => page?.loginUrl(url) ?? null,
    async close() {
      links.close();
      history.close();
      for (const close of [...closers]) close();
      // Requests in flight (the answer to a `leave` that stops the daemon) may finish; idle
      // keep-alive connections go now, anything still open after a second goes then.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      if (listen.kind === 'unix') await unlink(listen.path).catch(() => {});
    },
  };
}

const ROUTES = new Set([
  '/v1/status', '/v1/nodes', '/v1/connect', '/v1/disconnect', '/v1/send', '/v1/join', '/v1/leave', '/v1/force-leave', '/v1/tags', '/v1/events', '/metrics', '/healthz',
]);

/** HTTP status by error code: the kernel's, and the daemon's own for its routes. */
const STATUS_OF_KERNEL_CODE: Readonly<Record<string, number>> = {
  BAD_OPTION: 400,
  BAD_FLAG: 400,
  NODE_LINKED: 409,
  CONNECT_TIMEOUT: 504,
  REFUSED: 403,
  UNKNOWN_NODE: 404,
  NOT_CONNECTED: 409,
  AUTO_CONNECT_REFUSED: 409,
  CONNECT_FAILED: 502,
  SETUP_FAILED: 502,
  SEND_FAILED: 502,
  NOT_STARTED: 503,
  STOPPED: 503,
};

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  // Compare digests: equal length, constant time.
  return m !== null && timingSafeEqual(digest(m[1] ?? ''), expected);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = `${toJson(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<{ ok: true; value: object } | { ok: false; status: number; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return { ok: false, status: 413, message: `request body larger than ${MAX_BODY} bytes` };
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, status: 400, message: 'body must be a JSON object' };
    return { ok: true, value };
  } catch {
    return { ok: false, status: 400, message: 'body is not valid JSON' };
  }
}

async function bind(server: Server, listen: ControlListen): Promise<void> {
  if (listen.kind === 'unix') await removeStaleSocket(listen.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new DaemonError('CONTROL_BIND', `control API cannot listen on ${describe(listen)}: ${err.message}`, { cause: err })));
    if (listen.kind === 'unix') server.listen(listen.path, () => resolve());
    else server.listen(listen.port, listen.host, () => resolve());
  });
  if (listen.kind === 'unix') await chmod(listen.path, 0o600);
}

/** A socket file left by a crashed daemon is removed; one that answers is in use. */
async function removeStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean | null>((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ENOENT' ? null : false));
  });
  if (alive === true) throw new DaemonError('CONTROL_BIND', `control socket ${path} is in use by another process`);
  if (alive === false) await unlink(path).catch(() => {});
}

function describe(listen: ControlListen): string {
  return listen.kind === 'unix' ? `unix:${listen.path}` : `${formatHost(listen.host)}:${listen.port}`;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
