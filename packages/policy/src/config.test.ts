// Every bad configuration is a PolicyError with a code and the offending key; a good one resolves
// with the documented defaults.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BACKOFF, DEFAULT_LIMITS, PolicyError, createPolicy, isPolicyError, type PolicyConfig,
} from './index.ts';
import { policy } from './policy.test-support.ts';

function errorOf(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (err) {
    if (isPolicyError(err)) return err;
    throw err;
  }
  throw new Error('expected a PolicyError, nothing was thrown');
}

const self = { name: 'alpha' };
const cases: [string, unknown, string, string | null][] = [
  ['not an object', 42, 'INVALID_CONFIG', null],
  ['no self', {}, 'INVALID_CONFIG', 'self'],
  ['empty self name', { self: { name: '' } }, 'INVALID_NODE', 'self.name'],
  ['self id of the wrong length', { self: { name: 'a', id: new Uint8Array(31) } }, 'INVALID_ID', 'self.id'],
  ['self id not hex', { self: { name: 'a', id: 'z'.repeat(64) } }, 'INVALID_ID', 'self.id'],
  ['unknown top-level key', { self, modd: 'once' }, 'UNKNOWN_KEY', 'modd'],
  ['unknown self key', { self: { name: 'a', hiden: true } }, 'UNKNOWN_KEY', 'self.hiden'],
  ['unknown mode', { self, mode: 'sometimes' }, 'UNKNOWN_MODE', 'mode'],
  ['unknown reconnect', { self, reconnect: 'lazy' }, 'INVALID_VALUE', 'reconnect'],
  ['unknown per-peer reconnect', { self, reconnects: { beta: 'soon' } }, 'INVALID_VALUE', 'reconnects.beta'],
  ['unknown per-peer mode', { self, modes: { beta: 'always', gamma: 'Once' } }, 'UNKNOWN_MODE', 'modes.gamma'],
  ['a mode for this node itself', { self, modes: { alpha: 'never' } }, 'INVALID_NODE', 'modes.alpha'],
  ['negative base delay', { self, backoff: { base: -1 } }, 'INVALID_DELAY', 'backoff.base'],
  ['negative cap', { self, backoff: { cap: -5 } }, 'INVALID_DELAY', 'backoff.cap'],
  ['infinite stableAfter', { self, backoff: { stableAfter: Infinity } }, 'INVALID_DELAY', 'backoff.stableAfter'],
  ['NaN base', { self, backoff: { base: Number.NaN } }, 'INVALID_DELAY', 'backoff.base'],
  ['factor below 1', { self, backoff: { factor: 0.5 } }, 'INVALID_VALUE', 'backoff.factor'],
  ['maxAttempts 0', { self, backoff: { maxAttempts: 0 } }, 'INVALID_LIMIT', 'backoff.maxAttempts'],
  ['unknown backoff key', { self, backoff: { jitter: 0.2 } }, 'UNKNOWN_KEY', 'backoff.jitter'],
  ['fractional maxLinks', { self, limits: { maxLinks: 2.5 } }, 'INVALID_LIMIT', 'limits.maxLinks'],
  ['zero dials in flight', { self, limits: { maxDialsInFlight: 0 } }, 'INVALID_LIMIT', 'limits.maxDialsInFlight'],
  ['negative pending inbound', { self, limits: { maxPendingInbound: -1 } }, 'INVALID_LIMIT', 'limits.maxPendingInbound'],
  ['unknown limit', { self, limits: { maxStreams: 3 } }, 'UNKNOWN_KEY', 'limits.maxStreams'],
  ['overlapping allow/deny', { self, allow: ['b', 'c'], deny: ['d', 'c'] }, 'OVERLAPPING_LISTS', 'deny[1]'],
  ['allow not an array', { self, allow: 'beta' }, 'INVALID_VALUE', 'allow'],
  ['empty name in deny', { self, deny: ['b', ''] }, 'INVALID_NODE', 'deny[1]'],
  ['this node among the peers', { self, peers: ['beta', 'alpha'] }, 'INVALID_NODE', 'peers[1]'],
  ['mesh not a boolean', { self, mesh: 'yes' }, 'INVALID_VALUE', 'mesh'],
];

describe('configuration errors', () => {
  it.each(cases)('%s', (_label, config, code, key) => {
    const err = errorOf(() => createPolicy(config as PolicyConfig, { random: Math.random }));
    expect(err).toBeInstanceOf(PolicyError);
    expect(err.name).toBe('PolicyError');
    expect(err.code).toBe(code);
    expect(err.key).toBe(key);
    if (key !== null) expect(err.message).toContain(key);
  });

  it('a missing random source is refused', () => {
    expect(errorOf(() => createPolicy({ self }, {} as never)).key).toBe('random');
  });

  it('configure validates the same way and changes nothing when it fails', () => {
    const p = policy({ allow: ['beta'], mode: 'once' });
    const err = errorOf(() => p.handle({ type: 'configure', config: { deny: ['beta'] } }, 0));
    expect([err.code, err.key]).toEqual(['OVERLAPPING_LISTS', 'deny[0]']);
    expect(errorOf(() => p.handle({ type: 'configure', config: { mode: 'maybe' as never } }, 0)).key).toBe('mode');
    expect(errorOf(() => p.handle({ type: 'configure', config: { self } as never }, 0)).key).toBe('self');
    expect(p.config.deny.size).toBe(0);
    expect(p.modeOf('beta')).toBe('once');
  });
});

describe('resolved configuration', () => {
  it('fills in the documented defaults', () => {
    const p = createPolicy({ self }, { random: Math.random });
    expect(p.config.mode).toBe('always');
    expect(p.config.backoff).toEqual(DEFAULT_BACKOFF);
    expect(p.config.limits).toEqual(DEFAULT_LIMITS);
    expect(p.config.allow).toBeNull();
    expect(p.config.mesh).toBe(false);
  });

  it('configure merges: lists given replace, the rest stays', () => {
    const p = policy({ deny: ['x'], backoff: { base: 5, cap: 50 }, peers: ['b'] });
    p.handle({ type: 'configure', config: { backoff: { cap: 80 }, allow: ['b'] } }, 0);
    expect(p.config.backoff).toMatchObject({ base: 5, cap: 80 });
    expect([...p.config.deny]).toEqual(['x']);
    expect([...p.config.allow!]).toEqual(['b']);
    expect(p.config.peers).toEqual(['b']);
  });

  it('accepts ids as bytes or hex, the same node either way', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => i * 8);
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
    expect(policy({ self: { name: 'a', id: bytes } }).config.self.id).toBe(
      policy({ self: { name: 'a', id: hex } }).config.self.id,
    );
  });
});
