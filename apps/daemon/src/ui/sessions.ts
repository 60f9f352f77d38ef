// Who may use the page: one-time login codes (the banner's URL, as Jupyter prints one) turn into
// browser sessions, each a random id in an HttpOnly cookie plus its own CSRF token. Everything is
// kept in memory: a restarted daemon forgets its sessions and prints a new login URL.
// Secrets are stored by their SHA-256 digest, so a lookup's timing says nothing about the secret.
import { createHash } from 'node:crypto';

export interface Session {
  /** Sent to the page in the HTML, echoed in the x-distkit-csrf header of every action. */
  readonly csrf: string;
  readonly createdAt: number;
  lastSeen: number;
}

export interface SessionsOptions {
  readonly now: () => number;
  /** `n` random bytes. */
  readonly random: (n: number) => Uint8Array;
  /** A login code unused this long is void (default 15 minutes). */
  readonly codeTtlMs?: number;
  /** A session idle this long is closed (default 12 hours). */
  readonly idleMs?: number;
  /** At most this many open sessions; the one idle longest goes first (default 32). */
  readonly maxSessions?: number;
}

// Codes and sessions are bounded so that nobody with the token can grow the daemon's memory.
const MAX_CODES = 16;

export class UiSessions {
  readonly #options: Required<SessionsOptions>;
  readonly #codes = new Map<string, number>();
  readonly #sessions = new Map<string, Session>();

  constructor(options: SessionsOptions) {
    this.#options = { codeTtlMs: 15 * 60_000, idleMs: 12 * 3_600_000, maxSessions: 32, ...options };
  }

  /** A fresh one-time login code. */
  issueCode(): string {
    this.#sweep();
    const code = this.#secret();
    if (this.#codes.size >= MAX_CODES) this.#codes.delete(this.#codes.keys().next().value as string);
    this.#codes.set(digest(code), this.#options.now() + this.#options.codeTtlMs);
    return code;
  }

  /** Opens a session for a valid, unused, unexpired code; the code is spent either way. */
  redeem(code: string): { id: string; session: Session } | null {
    this.#sweep();
    const key = digest(code);
    const until = this.#codes.get(key);
    this.#codes.delete(key);
    if (until === undefined || this.#options.now() >= until) return null;
    return this.open();
  }

  /** Opens a session (after a login code, or after the bearer token was typed into the form). */
  open(): { id: string; session: Session } {
    this.#sweep();
    while (this.#sessions.size >= this.#options.maxSessions) {
      let oldest: [string, Session] | null = null;
      for (const entry of this.#sessions) if (oldest === null || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry;
      this.#sessions.delete((oldest as [string, Session])[0]);
    }
    const id = this.#secret();
    const now = this.#options.now();
    const session: Session = { csrf: this.#secret(), createdAt: now, lastSeen: now };
    this.#sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session for a cookie value, or null; a hit counts as activity. */
  find(id: string): Session | null {
    const session = this.#sessions.get(digest(id));
    if (!session) return null;
    const now = this.#options.now();
    if (now - session.lastSeen >= this.#options.idleMs) {
      this.#sessions.delete(digest(id));
      return null;
    }
    session.lastSeen = now;
    return session;
  }

  close(id: string): void {
    this.#sessions.delete(digest(id));
  }

  get size(): number {
    return this.#sessions.size;
  }

  #secret(): string {
    return Buffer.from(this.#options.random(32)).toString('base64url');
  }

  #sweep(): void {
    const now = this.#options.now();
    for (const [key, until] of this.#codes) if (now >= until) this.#codes.delete(key);
    for (const [key, s] of this.#sessions) if (now - s.lastSeen >= this.#options.idleMs) this.#sessions.delete(key);
  }
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64');
}
