// The page's side of the control API: the same /v1 routes the CLI uses, authenticated by the
// session cookie (sent by the browser, never visible to this script), and the event stream read
// with fetch rather than EventSource, so that every event type is seen (EventSource only
// delivers the types named in advance) and a 401 is told apart from a network failure.

/** The session is gone (daemon restarted, logged out, expired): only a new login helps. */
export class LoggedOut extends Error {
  override readonly name = 'LoggedOut';
}

export interface StreamedEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

export class ControlApi {
  readonly #csrf: string;

  constructor(csrf: string) {
    this.#csrf = csrf;
  }

  async get(path: string): Promise<unknown> {
    const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' });
    if (res.status === 401) throw new LoggedOut('the session has ended');
    if (!res.ok) throw new Error(`${path}: the daemon answered ${res.status}`);
    return res.json() as Promise<unknown>;
  }

  /** An action: POST with the session's CSRF token. Resolves with the daemon's message on refusal. */
  async post(path: string, body: unknown): Promise<{ ok: true } | { ok: false; message: string }> {
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-distkit-csrf': this.#csrf },
      body: JSON.stringify(body),
    });
    if (res.status === 401) throw new LoggedOut('the session has ended');
    if (res.ok) return { ok: true };
    const answer = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    return { ok: false, message: answer?.error?.message ?? `the daemon answered ${res.status}` };
  }

  async logout(): Promise<void> {
    await fetch('/ui/logout', { method: 'POST', credentials: 'same-origin', headers: { 'x-distkit-csrf': this.#csrf } });
  }

  /**
   * Server-sent events from /v1/events until the stream ends or `signal` aborts; `onOpen` once it
   * is open. With `replay`, the daemon's recent events come first (each with `seenAt`).
   */
  async *events(signal: AbortSignal, onOpen: () => void, replay: boolean): AsyncGenerator<StreamedEvent> {
    const res = await fetch(replay ? '/v1/events?replay=true' : '/v1/events', { credentials: 'same-origin', headers: { accept: 'text/event-stream' }, cache: 'no-store', signal });
    if (res.status === 401) throw new LoggedOut('the session has ended');
    if (!res.ok || res.body === null) throw new Error(`event stream: the daemon answered ${res.status}`);
    onOpen();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseBlock(block);
        if (event) yield event;
      }
    }
  }
}

/** One SSE block (`event:` and `data:` lines; comments and ids ignored), or null. */
export function parseBlock(block: string): StreamedEvent | null {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === 0) continue;
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    const parsed: unknown = JSON.parse(data.join('\n'));
    return typeof parsed === 'object' && parsed !== null ? { type, data: parsed as Record<string, unknown> } : null;
  } catch {
    return null;
  }
}
