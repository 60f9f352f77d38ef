// The client half of the control API, used by `distkitd status|nodes|connect|disconnect|send|
// events`. The daemon's address comes from --control or the control.json it writes into the state
// folder; the token from the 0600 control.token beside it.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { DaemonError } from './errors.ts';

export interface ControlTarget {
  /** http://host:port or unix:/path */
  readonly url: string;
  readonly token: string;
  /** Where the token came from, to say which one a 401 refused. */
  readonly tokenFile?: string;
}

export interface ControlResponse {
  readonly status: number;
  readonly body: unknown;
}

function requestOptions(target: ControlTarget, method: string, path: string): RequestOptions {
  const headers = { authorization: `Bearer ${target.token}`, accept: 'application/json' };
  if (target.url.startsWith('unix:')) return { socketPath: target.url.slice('unix:'.length), path, method, headers };
  const base = new URL(target.url);
  return { host: base.hostname.replace(/^\[(.*)\]$/, '$1'), port: base.port, path, method, headers };
}

function send(target: ControlTarget, method: string, path: string, body?: unknown): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const options = requestOptions(target, method, path);
    if (payload !== undefined) options.headers = { ...options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    const req = httpRequest(options, resolve);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const unreachable = ['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT'].includes(err.code ?? '');
      reject(
        unreachable
          ? new DaemonError('CONTROL_UNREACHABLE', `cannot reach distkitd at ${target.url} (${err.code}): is it running?`)
          : err,
      );
    });
    req.end(payload);
  });
}

/** One JSON request; a non-2xx answer becomes a DaemonError with the server's message. */
export async function callControl(target: ControlTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await send(target, method, path, body);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (e.g. /metrics): the text itself.
  }
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return parsed;
  const error = (parsed as { error?: { code?: string; message?: string } }).error;
  const hint = status === 401 ? ` (the token${target.tokenFile ? ` in ${target.tokenFile}` : ''} is not the one of the daemon at ${target.url}: is it the daemon of another state folder?)` : '';
  throw new DaemonError('CONTROL_REFUSED', `distkitd answered ${status}${error?.code ? ` ${error.code}` : ''}: ${error?.message ?? text.trim()}${hint}`);
}

export interface StreamedEvent {
  readonly type: string;
  readonly data: unknown;
}

/** Server-sent events from /v1/events, parsed. Ends when the daemon closes the stream. */
export async function* streamControlEvents(target: ControlTarget, types: readonly string[] = []): AsyncGenerator<StreamedEvent> {
  const path = `/v1/events${types.length > 0 ? `?types=${encodeURIComponent(types.join(','))}` : ''}`;
  const res = await send(target, 'GET', path);
  if (res.statusCode !== 200) {
    res.resume();
    throw new DaemonError('CONTROL_REFUSED', `distkitd answered ${res.statusCode} to ${path}`);
  }
  let buffer = '';
  for await (const chunk of res) {
    buffer += (chunk as Buffer).toString('utf8');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) yield { type, data: JSON.parse(data.join('\n')) as unknown };
    }
  }
}
