// Cacophony vectors with the 25519 DH, through both providers (see conformance.test-support.ts).
import { describe, expect, it } from 'vitest';
import { nativeProvider, nobleProvider } from './index.ts';
import { checkProvider, vectors } from './conformance.test-support.ts';

describe('cacophony conformance, 25519 suites', () => {
  it('the fixture holds all 944 vectors, 472 of them 25519', () => {
    expect(vectors).toHaveLength(944);
    expect(vectors.filter((v) => v.protocol_name.includes('_25519_'))).toHaveLength(472);
  });

  it('the suites links use have vectors for every link pattern (all run below, on both providers)', () => {
    for (const suite of ['25519_ChaChaPoly_SHA256', '25519_AESGCM_SHA256']) {
      for (const pattern of ['XX', 'IK', 'XXpsk3', 'IKpsk2']) {
        expect(vectors.filter((v) => v.protocol_name === `Noise_${pattern}_${suite}`).length, `${pattern} ${suite}`).toBeGreaterThan(0);
      }
    }
  });

  it('native: every supported vector reproduces byte for byte', () => {
    checkProvider(nativeProvider, '25519');
  });

  it('noble: every supported vector reproduces byte for byte', () => {
    checkProvider(nobleProvider, '25519');
  });
});
