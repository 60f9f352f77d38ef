import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROTOCOL_NAME, createDistkitHandshake, defaultProvider, distkitPrologue, distkitProtocolName, generateClusterSecret,
  generateIdentity, type Handshake,
} from './index.ts';
import { hex, thrown } from './bytes.test-support.ts';

function run(i: Handshake, r: Handshake): number {
  let messages = 0;
  while (!i.isComplete || !r.isComplete) {
    const [w, rd] = i.nextAction === 'write' ? [i, r] : [r, i];
    rd.readMessage(w.writeMessage());
    messages++;
  }
  return messages;
}

describe('distkit protocols', () => {
  const alice = generateIdentity();
  const bob = generateIdentity();

  it('names the four protocols and the default suite', () => {
    expect(DEFAULT_PROTOCOL_NAME).toBe('Noise_XX_25519_ChaChaPoly_SHA256');
    expect(distkitProtocolName('XX')).toBe(DEFAULT_PROTOCOL_NAME);
    expect(distkitProtocolName('IKpsk2', 'BLAKE2b')).toBe('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b');
    expect(thrown(() => distkitProtocolName('NN' as never)).code).toBe('UNSUPPORTED_PROTOCOL');
    expect(thrown(() => distkitProtocolName('XX', 'SHA512' as never)).code).toBe('UNSUPPORTED_PROTOCOL');
  });

  it('the prologue binds the version and the cluster id', () => {
    expect(hex(distkitPrologue('prod'))).toBe(hex(new TextEncoder().encode('distkit/1\0prod')));
    expect(thrown(() => distkitPrologue('')).code).toBe('INVALID_CONFIG');
    expect(thrown(() => distkitPrologue('x'.repeat(65))).code).toBe('INVALID_CONFIG');
  });

  it('picks XX without a pinned key and IK (one round trip) with one; psk variants with secrets', () => {
    const secrets = [generateClusterSecret()];
    const cases = [
      { remote: false, secrets: false, name: 'Noise_XX_25519_ChaChaPoly_SHA256', messages: 3 },
      { remote: true, secrets: false, name: 'Noise_IK_25519_ChaChaPoly_SHA256', messages: 2 },
      { remote: false, secrets: true, name: 'Noise_XXpsk3_25519_ChaChaPoly_SHA256', messages: 3 },
      { remote: true, secrets: true, name: 'Noise_IKpsk2_25519_ChaChaPoly_SHA256', messages: 2 },
    ];
    for (const c of cases) {
      const i = createDistkitHandshake({
        initiator: true, clusterId: 'prod', identity: alice,
        ...(c.remote ? { remoteStaticKey: bob.publicKey } : {}), ...(c.secrets ? { clusterSecrets: secrets } : {}),
      });
      const r = createDistkitHandshake({
        initiator: false, clusterId: 'prod', identity: bob, pattern: c.remote ? 'IK' : 'XX',
        ...(c.secrets ? { clusterSecrets: secrets } : {}),
      });
      expect(i.protocolName).toBe(c.name);
      expect(run(i, r)).toBe(c.messages);
      expect(hex(r.remoteStaticKey!)).toBe(hex(alice.publicKey));
    }
  });

  it('nodes of different clusters, or without the cluster secret, cannot complete a handshake', () => {
    const other = () => createDistkitHandshake({ initiator: false, clusterId: 'staging', identity: bob });
    expect(thrown(() => run(createDistkitHandshake({ initiator: true, clusterId: 'prod', identity: alice }), other())).code).toBe('DECRYPT_FAILED');
    const i = createDistkitHandshake({ initiator: true, clusterId: 'prod', identity: alice, clusterSecrets: [generateClusterSecret()] });
    const r = createDistkitHandshake({ initiator: false, clusterId: 'prod', identity: bob, clusterSecrets: [generateClusterSecret()] });
    expect(thrown(() => run(i, r)).code).toBe('DECRYPT_FAILED');
  });

  it('the default provider is node:crypto on Node and Deno', () => {
    expect(defaultProvider().name).toBe('native');
  });
});
