// The cluster page on the control address: /ui (the page), /ui/app.js, /ui/app.css, /ui/icon.svg,
// /ui/login and /ui/logout, plus cookie authentication for the control API's own routes when the page
// calls them. Served on a loopback TCP control address only: the session cookie must never
// cross a network in clear text (for a remote daemon, forward the port: ssh -L).
//
// Cookies are not isolated by port and SameSite treats every port of 127.0.0.1 as one site, so
// SameSite=Strict alone does not stop another local web app from posting to this daemon. A
// request authenticated by cookie that changes something must therefore also come from this
// very origin (Origin, and Sec-Fetch-Site where the browser sends it) and carry the session's
// CSRF token in a header, which a cross-origin page can neither read nor send without a
// preflight this server never grants.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { UiAsset, UiAssetName } from './assets.ts';
import { escapeHtml, loginPage } from './login-page.ts';
import { UiSessions } from './sessions.ts';

export const CSRF_HEADER: string = 'x-distkit-csrf';

export const CONTENT_SECURITY_POLICY: string =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const MAX_FORM = 4096;

/** How a request to a control API route is authenticated by the page's cookie. */
export type CookieAuth = 'ok' | 'none' | 'forbidden';

export interface PageServer {
  /** Answers /ui and /ui/*; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  /** For the control API's routes: a live session cookie ('forbidden': an action failing the CSRF checks). */
  authenticate(req: IncomingMessage): CookieAuth;
  /** A fresh one-time login URL under `base` (http://host:port). */
  loginUrl(base: string): string;
}

export interface PageServerOptions {
  readonly token: string;
  /** The control API's port: it names the cookie, so daemons on one host keep separate sessions. */
  readonly port: number;
  readonly now?: () => number;
  readonly random?: (n: number) => Uint8Array;
  /** The built page (see loadUiAssets). */
  readonly assets: ReadonlyMap<UiAssetName, UiAsset>;
}

export function createPageServer(options: PageServerOptions): PageServer {
  const sessions = new UiSessions({ now: options.now ?? Date.now, random: options.random ?? ((n) => randomBytes(n)) });
  const { assets } = options;
  const cookieName = `distkitd_ui_${options.port}`;
  const token = digest(options.token);

  function sessionOf(req: IncomingMessage): { id: string; csrf: string } | null {
    const id = readCookie(req.headers.cookie, cookieName);
    const session = id === null ? null : sessions.find(id);
    return id !== null && session ? { id, csrf: session.csrf } : null;
  }

  function changesAllowed(req: IncomingMessage, csrf: string | null): boolean {
    const fetchSite = req.headers['sec-fetch-site'];
    if (fetchSite !== undefined && fetchSite !== 'same-origin') return false;
    const origin = req.headers.origin;
    if (origin === undefined || req.headers.host === undefined || origin !== `http://${req.headers.host}`) return false;
    if (csrf === null) return true;
    const sent = req.headers[CSRF_HEADER];
    return typeof sent === 'string' && timingSafeEqual(digest(sent), digest(csrf));
  }

  function startSession(res: ServerResponse, id: string): void {
    res.writeHead(303, { ...SECURITY_HEADERS, location: '/ui', 'set-cookie': `${cookieName}=${id}; HttpOnly; SameSite=Strict; Path=/`, 'cache-control': 'no-store', 'content-length': 0 });
    res.end();
  }

  function sendLogin(res: ServerResponse, message: string): void {
    sendText(res, 401, 'text/html; charset=utf-8', loginPage(message));
  }

  function sendAsset(req: IncomingMessage, res: ServerResponse, asset: UiAsset, body?: Buffer): void {
    const headers: Record<string, string | number> = { ...SECURITY_HEADERS, 'content-type': asset.type, vary: 'accept-encoding' };
    if (body === undefined) {
      headers['etag'] = asset.etag;
      headers['cache-control'] = 'no-cache';
      if (req.headers['if-none-match'] === asset.etag) {
        res.writeHead(304, headers);
        return void res.end();
      }
    } else headers['cache-control'] = 'no-store';
    const plain = body ?? asset.body;
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const payload = gzip ? (body === undefined ? asset.gzip : gzipSync(plain)) : plain;
    if (gzip) headers['content-encoding'] = 'gzip';
    headers['content-length'] = payload.length;
    res.writeHead(200, headers);
    res.end(payload);
  }

  return {
    loginUrl: (base) => `${base}/ui/login?code=${sessions.issueCode()}`,

    authenticate(req) {
      const session = sessionOf(req);
      if (session === null) return 'none';
      if (req.method === 'GET' || req.method === 'HEAD') return 'ok';
      return changesAllowed(req, session.csrf) ? 'ok' : 'forbidden';
    },

    async handle(req, res, url) {
      const path = url.pathname;
      if (path !== '/ui' && !path.startsWith('/ui/')) return false;
      const route = `${req.method} ${path}`;
      if (route === 'GET /ui/') {
        res.writeHead(301, { ...SECURITY_HEADERS, location: '/ui', 'content-length': 0 });
        res.end();
        return true;
      }
      if (route === 'GET /ui/login') {
        const code = url.searchParams.get('code');
        const opened = code === null ? null : sessions.redeem(code);
        if (opened) startSession(res, opened.id);
        else sendLogin(res, code === null ? 'Log in to see this node.' : 'This login link was already used or has expired.');
        return true;
      }
      if (route === 'POST /ui/login') {
        // Typing the control token is the way in once the banner's link is spent.
        const form = await readForm(req);
        const typed = form?.get('token')?.trim() ?? '';
        if (!changesAllowed(req, null)) sendText(res, 403, 'text/plain; charset=utf-8', 'cross-origin login refused\n');
        else if (typed !== '' && timingSafeEqual(digest(typed), token)) startSession(res, sessions.open().id);
        else sendLogin(res, 'That is not this daemon\'s control token.');
        return true;
      }
      // The login page needs these two; they hold nothing that is not in the npm package.
      if (route === 'GET /ui/app.css' || route === 'GET /ui/icon.svg') {
        sendAsset(req, res, assets.get(path.slice('/ui/'.length) as UiAssetName) as UiAsset);
        return true;
      }
      const session = sessionOf(req);
      if (session === null) {
        sendLogin(res, 'Log in to see this node.');
        return true;
      }
      switch (route) {
        case 'GET /ui': {
          const html = assets.get('index.html') as UiAsset;
          sendAsset(req, res, html, Buffer.from(html.body.toString('utf8').replace('__CSRF_TOKEN__', escapeHtml(session.csrf))));
          return true;
        }
        case 'GET /ui/app.js':
          sendAsset(req, res, assets.get('app.js') as UiAsset);
          return true;
        case 'POST /ui/logout':
          if (!changesAllowed(req, session.csrf)) {
            sendText(res, 403, 'text/plain; charset=utf-8', 'logout needs the page\'s CSRF token\n');
            return true;
          }
          sessions.close(session.id);
          res.writeHead(204, { ...SECURITY_HEADERS, 'set-cookie': `${cookieName}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`, 'cache-control': 'no-store' });
          res.end();
          return true;
        default:
          sendText(res, 404, 'text/plain; charset=utf-8', `no page ${path}\n`);
          return true;
      }
    },
  };
}

function sendText(res: ServerResponse, status: number, type: string, text: string): void {
  const body = Buffer.from(text);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(body);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM) return null;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
