// Cacophony vectors with the 448 DH, through both providers (see conformance.test-support.ts).
import { describe, expect, it } from 'vitest';
import { nativeProvider, nobleProvider } from './index.ts';
import { checkProvider, vectors } from './conformance.test-support.ts';

describe('cacophony conformance, 448 suites', () => {
  it('the fixture holds all 944 vectors, 472 of them 448', () => {
    expect(vectors).toHaveLength(944);
    expect(vectors.filter((v) => v.protocol_name.includes('_448_'))).toHaveLength(472);
  });

  it('native: every supported vector reproduces byte for byte', () => {
    checkProvider(nativeProvider, '448');
  });

  it('noble: every supported vector reproduces byte for byte', () => {
    checkProvider(nobleProvider, '448');
  });
});
