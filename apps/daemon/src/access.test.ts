import { describe, expect, it } from 'vitest';
import { accessGate } from './access.ts';

describe('allow/deny', () => {
  it('deny wins, globs match whole names, an empty allow list allows all', () => {
    const gate = accessGate({ allow: ['db-*', 'cache-?@h1'], deny: ['db-9*'] });
    expect(gate('db-1')).toBeNull();
    expect(gate('cache-a@h1')).toBeNull();
    expect(gate('db-90')).toBe('db-90 is denied by trust.deny (db-9*)');
    expect(gate('web-1')).toBe('web-1 is not in trust.allow');
    expect(gate('xdb-1')).toBe('xdb-1 is not in trust.allow');
    expect(gate('cache-ab@h1')).toBe('cache-ab@h1 is not in trust.allow');
    expect(accessGate({ allow: [], deny: [] })('anyone')).toBeNull();
    expect(accessGate({ allow: [], deny: ['a.b'] })('axb')).toBeNull();
  });
});
