// Small byte helpers shared by this package's tests.

export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function unhex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export { seeded } from '../../../tooling/test-support/seeded.ts';

import { createHandshake, handshakePattern, type CryptoProvider, type Handshake, type KeyPair } from './index.ts';

export interface Pair {
  init: Handshake;
  resp: Handshake;
  keys: { init: KeyPair; resp: KeyPair };
}

/**
 * Both sides of `protocolName` with every key either side could need: static keys, the peer's
 * static key (a pre-message or a pin), psks, and the initiator's ephemeral for fallback patterns.
 */
export function pair(
  protocolName: string,
  provider: CryptoProvider,
  overrides: { init?: object; resp?: object; respProvider?: CryptoProvider } = {},
): Pair {
  const patternName = protocolName.split('_')[1]!;
  const dh = provider.dh(protocolName.split('_')[2] as '25519' | '448')!;
  const keys = { init: dh.generateKeyPair(), resp: dh.generateKeyPair() };
  const pattern = handshakePattern(patternName);
  const psks = Array.from({ length: pattern.pskCount }, (_, i) => new Uint8Array(32).fill(i + 1));
  // The peer's static key, where the pattern gives the peer one (as a pre-message or in a message).
  const hasStatic = (role: 'initiator' | 'responder') =>
    pattern.preMessages[role].includes('s') || pattern.messages.some((m) => m.from === role && m.tokens.includes('s'));
  const remote = (role: 'initiator' | 'responder', key: Uint8Array) => (hasStatic(role) ? { remoteStaticKey: key } : {});
  const e = dh.generateKeyPair();
  const fallback = patternName.includes('fallback');
  const init = createHandshake({
    protocolName, initiator: true, staticKeyPair: keys.init, ...remote('responder', keys.resp.publicKey), psks, provider,
    ...(fallback ? { ephemeralKeyPair: e } : {}), ...overrides.init,
  });
  const resp = createHandshake({
    protocolName, initiator: false, staticKeyPair: keys.resp, ...remote('initiator', keys.init.publicKey), psks,
    provider: overrides.respProvider ?? provider,
    ...(fallback ? { remoteEphemeralKey: e.publicKey } : {}), ...overrides.resp,
  });
  return { init, resp, keys };
}

/** Runs the handshake to completion, payload `i` on message `i`; returns the payloads received. */
export function complete(p: Pair, payloads: Uint8Array[] = []): Uint8Array[] {
  const received: Uint8Array[] = [];
  for (let i = 0; !p.init.isComplete; i++) {
    const [w, r] = p.init.nextAction === 'write' ? [p.init, p.resp] : [p.resp, p.init];
    received.push(r.readMessage(w.writeMessage(payloads[i] ?? new Uint8Array(0))));
  }
  return received;
}

/** The error `fn` throws (fails the test if it does not throw). */
export function thrown(fn: () => unknown): { code?: string; name?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected an error, none was thrown');
}
