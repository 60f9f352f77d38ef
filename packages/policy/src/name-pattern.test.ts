// Allow/deny entries may be glob patterns; the engine applies them to inbound links, dials and
// the lists' later changes exactly as it does plain names.
import { describe, expect, it } from 'vitest';
import { createPolicy } from './index.ts';
import { nameMatcher } from './name-pattern.ts';

describe('allow and deny patterns', () => {
  it('* matches any run, ? one character, everything else itself', () => {
    const m = nameMatcher(['db-*', 'cache-?', 'x.y+z']);
    expect(['db-1', 'db-', 'db-eu-west@host', 'cache-7', 'x.y+z'].every(m)).toBe(true);
    expect(['db', 'cache-10', 'xxy+z', 'x.yyz', 'adb-1'].some(m)).toBe(false);
  });

  it('an inbound node matching a deny pattern is refused; one outside the allow patterns too', () => {
    const p = createPolicy({ self: { name: 'a' }, allow: ['web-*', 'db-?'], deny: ['web-test*'] }, { random: () => 0.5 });
    const attempt = (node: string, connection: number) => p.handle({ type: 'inboundAttempt', connection, node, incarnation: 1 }, 0);
    expect(attempt('web-1', 1)).toEqual([{ type: 'accept', node: 'web-1', connection: 1, reason: 'allowed' }]);
    expect(attempt('web-test-2', 2)).toEqual([{ type: 'refuse', node: 'web-test-2', connection: 2, reason: 'denied' }]);
    expect(attempt('db-12', 3)).toEqual([{ type: 'refuse', node: 'db-12', connection: 3, reason: 'notAllowed' }]);
    // Shrinking by a pattern reports the link it now breaks.
    p.handle({ type: 'connected', node: 'web-1', connection: 1, direction: 'in', incarnation: 1 }, 1);
    const out = p.handle({ type: 'configure', config: { deny: ['web-*'], allow: null } }, 2);
    expect(out).toContainEqual({ type: 'violation', node: 'web-1', connection: 1, reason: 'denied' });
  });
});
