import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UiSessions } from './sessions.ts';

function clocked(options: { codeTtlMs?: number; idleMs?: number; maxSessions?: number } = {}) {
  let now = 1_000_000;
  const sessions = new UiSessions({ now: () => now, random: (n) => randomBytes(n), ...options });
  return { sessions, advance: (ms: number) => (now += ms) };
}

describe('page sessions', () => {
  it('a login code opens one session, once', () => {
    const { sessions } = clocked();
    const code = sessions.issueCode();
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const opened = sessions.redeem(code);
    expect(opened).not.toBeNull();
    expect(sessions.find(opened?.id ?? '')).toBe(opened?.session);
    expect(sessions.redeem(code)).toBeNull();
    expect(sessions.redeem('not-a-code')).toBeNull();
    expect(sessions.size).toBe(1);
  });

  it('a code left unused expires; an idle session closes; activity keeps one open', () => {
    const { sessions, advance } = clocked({ codeTtlMs: 1000, idleMs: 5000 });
    const late = sessions.issueCode();
    advance(1000);
    expect(sessions.redeem(late)).toBeNull();
    const { id } = sessions.open();
    advance(4000);
    expect(sessions.find(id)).not.toBeNull();
    advance(4999);
    expect(sessions.find(id)).not.toBeNull();
    advance(5000);
    expect(sessions.find(id)).toBeNull();
  });

  it('sessions are bounded: the one idle longest goes first', () => {
    const { sessions, advance } = clocked({ maxSessions: 3 });
    const ids = [0, 1, 2].map(() => {
      advance(10);
      return sessions.open().id;
    });
    advance(10);
    sessions.find(ids[0] as string); // the oldest is the most recently used now
    sessions.open();
    expect(sessions.size).toBe(3);
    expect(sessions.find(ids[0] as string)).not.toBeNull();
    expect(sessions.find(ids[1] as string)).toBeNull();
  });

  it('each session has its own CSRF token, unlike its id', () => {
    const { sessions } = clocked();
    const a = sessions.open();
    const b = sessions.open();
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect(a.session.csrf).not.toBe(a.id);
    sessions.close(a.id);
    expect(sessions.find(a.id)).toBeNull();
    expect(sessions.find(b.id)).not.toBeNull();
  });
});
