// What the tests of strict decoding share: the code of the WireError a call must throw.
import { expect } from 'vitest';
import { WireError } from './index.ts';

/** The `code` of the WireError `fn` throws; fails the test if it throws anything else or nothing. */
export function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    return (err as WireError).code;
  }
  throw new Error('expected a WireError, but the call succeeded');
}
