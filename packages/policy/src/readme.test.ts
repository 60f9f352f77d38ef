// The README's example, statement for statement, with the outputs it shows. Keep the two in step.
import { describe, expect, it } from 'vitest';
import { createPolicy } from './index.ts';

describe('README example', () => {
  it('prints what the README says', () => {
    const policy = createPolicy({ self: { name: 'alpha' }, mode: 'once', peers: ['beta'] }, { random: Math.random });
    expect(policy.handle({ type: 'start' }, 0)).toEqual([{ type: 'dial', node: 'beta', at: 0, attempt: 1, reason: 'startup' }]);
    policy.handle({ type: 'connected', node: 'beta', connection: 1, direction: 'out', incarnation: 1 }, 5);
    expect(policy.handle({ type: 'disconnected', node: 'beta', connection: 1, reason: 'tickTimeout' }, 60_000)).toEqual([
      { type: 'barred', node: 'beta', reason: 'linkFailed' },
    ]);
    expect(policy.handle({ type: 'connectRequested', node: 'beta', kind: 'auto', message: 'hi' }, 60_001)).toEqual([
      { type: 'drop', node: 'beta', message: 'hi', reason: 'barred' },
    ]);
    expect(policy.handle({ type: 'connectRequested', node: 'beta', kind: 'explicit' }, 60_002)).toEqual([
      { type: 'unbarred', node: 'beta', reason: 'explicit' },
      { type: 'dial', node: 'beta', at: 60_002, attempt: 1, reason: 'explicit' },
    ]);
  });
});
