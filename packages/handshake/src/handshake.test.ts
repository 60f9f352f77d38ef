import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_NONCE, PATTERN_NAMES, createHandshake, isHandshakeError, nativeProvider, nobleProvider,
} from './index.ts';
import { complete, hex, pair, seeded, thrown } from './bytes.test-support.ts';

const XX = 'Noise_XX_25519_ChaChaPoly_SHA256';
const text = (s: string) => new TextEncoder().encode(s);
const providers = [nativeProvider, nobleProvider];

describe('handshake engine', () => {
  for (const provider of providers) {
    it(`${provider.name}: XX, XXpsk3, IK, IKpsk2 authenticate both sides and agree on keys`, () => {
      for (const pattern of ['XX', 'XXpsk3', 'IK', 'IKpsk2']) {
        const p = pair(`Noise_${pattern}_25519_ChaChaPoly_SHA256`, provider);
        const got = complete(p, [text('one'), text('two'), text('three')]);
        expect(got.map((b) => new TextDecoder().decode(b))).toEqual(['one', 'two', 'three'].slice(0, got.length));
        expect(hex(p.init.remoteStaticKey!)).toBe(hex(p.keys.resp.publicKey));
        expect(hex(p.resp.remoteStaticKey!)).toBe(hex(p.keys.init.publicKey));
        expect(hex(p.init.handshakeHash)).toBe(hex(p.resp.handshakeHash));
        const a = p.init.split();
        const b = p.resp.split();
        expect(hex(b.receive.decrypt(a.send.encrypt(text('ping'))))).toBe(hex(text('ping')));
        expect(hex(a.receive.decrypt(b.send.encrypt(text('pong'), text('ad')), text('ad')))).toBe(hex(text('pong')));
      }
    });
  }

  it('IK completes in one round trip; XX needs three messages', () => {
    expect(complete(pair('Noise_IK_25519_ChaChaPoly_SHA256', nativeProvider))).toHaveLength(2);
    expect(complete(pair(XX, nativeProvider))).toHaveLength(3);
  });

  it('every pattern of the spec, with psk and fallback modifiers, interoperates across providers', () => {
    const names = [
      ...PATTERN_NAMES,
      ...PATTERN_NAMES.filter((n) => n.length === 2).map((n) => `${n}psk0+psk2`),
      'XXfallback', 'XXfallback+psk0', 'NXfallback', 'IKpsk1+psk2',
    ];
    expect(PATTERN_NAMES).toHaveLength(38);
    for (const name of names) {
      for (const [a, b] of [[nativeProvider, nobleProvider], [nobleProvider, nativeProvider]] as const) {
        const p = pair(`Noise_${name}_25519_AESGCM_BLAKE2s`, a, { respProvider: b });
        complete(p, [text('x'), text('y'), text('z'), text('w')]);
        expect(p.resp.isComplete, name).toBe(true);
        expect(hex(p.init.handshakeHash), name).toBe(hex(p.resp.handshakeHash));
        expect(hex(p.resp.split().receive.decrypt(p.init.split().send.encrypt(text(name))))).toBe(hex(text(name)));
      }
    }
  });

  it('flipping any bit of any handshake message makes the handshake fail before it completes', () => {
    fc.assert(
      fc.property(fc.constantFrom('XX', 'XXpsk3', 'IK', 'IKpsk2'), fc.nat(2), fc.nat(), fc.nat(7), (pattern, msg, byte, bit) => {
        const p = pair(`Noise_${pattern}_25519_ChaChaPoly_SHA256`, nativeProvider);
        const count = pattern.startsWith('XX') ? 3 : 2;
        const target = msg % count;
        // XX's first message is not encrypted yet, so tampering with it is caught one message
        // later (the transcript hashes differ); either way nobody may reach a completed handshake.
        const err = thrown(() => {
          for (let i = 0; i < count; i++) {
            const [w, r] = i % 2 === 0 ? [p.init, p.resp] : [p.resp, p.init];
            const m = w.writeMessage(text('payload'));
            if (i === target) m[byte % m.length]! ^= 1 << bit;
            r.readMessage(m);
          }
        });
        expect(isHandshakeError(err)).toBe(true);
        expect(['DECRYPT_FAILED', 'INVALID_KEY']).toContain(err.code);
        expect(p.init.isComplete && p.resp.isComplete).toBe(false);
      }),
      seeded('handshake tamper', 200),
    );
  });
});

describe('handshake fuzz', () => {
  it('random messages at any step only ever produce a HandshakeError', () => {
    fc.assert(
      fc.property(fc.constantFrom('XX', 'XXpsk3', 'IK', 'IKpsk2'), fc.nat(2), fc.uint8Array({ maxLength: 200 }), (pattern, step, junk) => {
        const p = pair(`Noise_${pattern}_25519_ChaChaPoly_SHA256`, nativeProvider);
        let i = 0;
        try {
          for (; i < step && !p.init.isComplete; i++) {
            const [w, r] = p.init.nextAction === 'write' ? [p.init, p.resp] : [p.resp, p.init];
            r.readMessage(w.writeMessage());
          }
          if (p.init.isComplete) return;
          const reader = p.init.nextAction === 'read' ? p.init : p.resp;
          reader.readMessage(junk);
        } catch (err) {
          expect(isHandshakeError(err)).toBe(true);
        }
      }),
      seeded('handshake fuzz', 300),
    );
  });
});

describe('handshake failures', () => {
  it('a different prologue (another cluster) fails with DECRYPT_FAILED', () => {
    const p = pair(XX, nativeProvider, { resp: { prologue: text('distkit/1\0other') } });
    p.resp.readMessage(p.init.writeMessage());
    expect(thrown(() => p.init.readMessage(p.resp.writeMessage())).code).toBe('DECRYPT_FAILED');
  });

  it('a wrong pre-shared key fails with DECRYPT_FAILED', () => {
    const p = pair('Noise_XXpsk3_25519_ChaChaPoly_SHA256', nativeProvider, { resp: { psks: [new Uint8Array(32).fill(9)] } });
    p.resp.readMessage(p.init.writeMessage());
    p.init.readMessage(p.resp.writeMessage());
    expect(thrown(() => p.resp.readMessage(p.init.writeMessage())).code).toBe('DECRYPT_FAILED');
  });

  it('the reader of a psk message tries each secret of a keyring; the writer uses the first', () => {
    const [oldS, newS, other] = [1, 2, 3].map((n) => new Uint8Array(32).fill(n)) as [Uint8Array, Uint8Array, Uint8Array];
    // XXpsk3: the initiator writes the psk message; IKpsk2: the responder does.
    const xx = pair('Noise_XXpsk3_25519_ChaChaPoly_SHA256', nativeProvider, { init: { psks: [[newS, oldS]] }, resp: { psks: [[oldS, newS]] } });
    complete(xx);
    expect(xx.resp.pskIndices).toEqual([1]);
    expect(xx.init.pskIndices).toEqual([0]);
    const ik = pair('Noise_IKpsk2_25519_ChaChaPoly_SHA256', nativeProvider, { init: { psks: [[other, oldS]] }, resp: { psks: [[oldS]] } });
    complete(ik);
    expect(ik.init.pskIndices).toEqual([1]);
    const none = pair('Noise_XXpsk3_25519_ChaChaPoly_SHA256', nativeProvider, { init: { psks: [[other]] }, resp: { psks: [[oldS, newS]] } });
    none.resp.readMessage(none.init.writeMessage());
    none.init.readMessage(none.resp.writeMessage());
    expect(thrown(() => none.resp.readMessage(none.init.writeMessage())).code).toBe('DECRYPT_FAILED');
  });

  it('a failed handshake is dead: every later call throws the same error', () => {
    const p = pair(XX, nativeProvider);
    const m1 = p.init.writeMessage();
    const err = thrown(() => p.resp.readMessage(m1.subarray(0, 10)));
    expect(err.code).toBe('BAD_MESSAGE_LENGTH');
    expect(thrown(() => p.resp.readMessage(m1))).toBe(err);
    expect(thrown(() => p.resp.writeMessage())).toBe(err);
    expect(thrown(() => p.resp.split())).toBe(err);
  });

  it('calls out of turn are UNEXPECTED_MESSAGE', () => {
    const p = pair(XX, nativeProvider);
    expect(thrown(() => p.init.readMessage(new Uint8Array(32))).code).toBe('UNEXPECTED_MESSAGE');
    const q = pair(XX, nativeProvider);
    expect(thrown(() => q.resp.writeMessage()).code).toBe('UNEXPECTED_MESSAGE');
    const r = pair(XX, nativeProvider);
    expect(thrown(() => r.init.split()).code).toBe('UNEXPECTED_MESSAGE');
    complete(r);
    expect(thrown(() => r.init.writeMessage()).code).toBe('UNEXPECTED_MESSAGE');
    expect(r.init.nextAction).toBe('done');
  });

  it('messages too short or over 65535 bytes are BAD_MESSAGE_LENGTH', () => {
    const p = pair(XX, nativeProvider);
    expect(thrown(() => p.resp.readMessage(new Uint8Array(31))).code).toBe('BAD_MESSAGE_LENGTH');
    const q = pair(XX, nativeProvider);
    expect(thrown(() => q.resp.readMessage(new Uint8Array(65536))).code).toBe('BAD_MESSAGE_LENGTH');
    const r = pair(XX, nativeProvider);
    expect(thrown(() => r.init.writeMessage(new Uint8Array(65535 - 32 + 1))).code).toBe('BAD_MESSAGE_LENGTH');
    const s = pair(XX, nativeProvider);
    expect(s.init.writeMessage(new Uint8Array(65535 - 32))).toHaveLength(65535);
    // Message 2 carries e (32) + encrypted s (48) + payload tag (16): 95 bytes cannot hold it.
    const t = pair(XX, nativeProvider);
    t.resp.readMessage(t.init.writeMessage());
    expect(thrown(() => t.init.readMessage(t.resp.writeMessage().subarray(0, 95))).code).toBe('BAD_MESSAGE_LENGTH');
  });

  it('a peer presenting another static key than the pinned one is REMOTE_KEY_MISMATCH', () => {
    const stranger = nativeProvider.dh('25519')!.generateKeyPair();
    const p = pair(XX, nativeProvider, { init: { remoteStaticKey: stranger.publicKey } });
    p.resp.readMessage(p.init.writeMessage());
    expect(thrown(() => p.init.readMessage(p.resp.writeMessage())).code).toBe('REMOTE_KEY_MISMATCH');
  });

  it('a low-order public key is INVALID_KEY', () => {
    for (const provider of providers) {
      const p = pair(XX, provider);
      const m = p.init.writeMessage();
      m.fill(0, 0, 32); // the all-zero point: X25519 with it yields an all-zero secret
      p.resp.readMessage(m);
      expect(thrown(() => p.resp.writeMessage()).code).toBe('INVALID_KEY');
    }
  });

  it('bad options are refused with a code naming the problem', () => {
    const kp = nativeProvider.dh('25519')!.generateKeyPair();
    const cases: [object, string, string][] = [
      [{ protocolName: 'Noise_XY_25519_ChaChaPoly_SHA256' }, 'UNSUPPORTED_PROTOCOL', 'not supported'],
      [{ protocolName: 'Noise_XX_25519_ChaChaPoly_MD5' }, 'UNSUPPORTED_PROTOCOL', 'MD5'],
      [{ protocolName: 'Noise_XX_25519_Blowfish_SHA256' }, 'UNSUPPORTED_PROTOCOL', 'Blowfish'],
      [{ protocolName: 'Noise_XX_P256_ChaChaPoly_SHA256' }, 'UNSUPPORTED_PROTOCOL', 'P256'],
      [{ protocolName: 'Noise_XXpsk9_25519_ChaChaPoly_SHA256' }, 'UNSUPPORTED_PROTOCOL', 'psk9'],
      [{ protocolName: 'Noise_XXhfs_25519_ChaChaPoly_SHA256' }, 'UNSUPPORTED_PROTOCOL', 'hfs'],
      [{ protocolName: 'XX' }, 'UNSUPPORTED_PROTOCOL', 'Noise_'],
      [{ protocolName: XX }, 'INVALID_CONFIG', 'staticKeyPair is required'],
      [{ protocolName: XX, staticKeyPair: { publicKey: kp.publicKey, privateKey: new Uint8Array(31) } }, 'INVALID_CONFIG', 'staticKeyPair.privateKey'],
      [{ protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256', staticKeyPair: kp }, 'INVALID_CONFIG', 'remoteStaticKey is required'],
      [{ protocolName: 'Noise_XXpsk3_25519_ChaChaPoly_SHA256', staticKeyPair: kp }, 'INVALID_CONFIG', 'needs 1 pre-shared key'],
      [{ protocolName: 'Noise_XXpsk3_25519_ChaChaPoly_SHA256', staticKeyPair: kp, psks: [new Uint8Array(16)] }, 'INVALID_CONFIG', 'psks[0]'],
      [{ protocolName: 'Noise_XXpsk3_25519_ChaChaPoly_SHA256', staticKeyPair: kp, psks: [[]] }, 'INVALID_CONFIG', 'psks[0]'],
      [{ protocolName: XX, staticKeyPair: kp, prologue: 'text' }, 'INVALID_CONFIG', 'prologue'],
      // A pin on a peer that never shows a static key would authenticate nothing: refused.
      [{ protocolName: 'Noise_NN_25519_ChaChaPoly_SHA256', remoteStaticKey: kp.publicKey }, 'INVALID_CONFIG', 'responder has no static key'],
    ];
    for (const [o, code, words] of cases) {
      const err = thrown(() => createHandshake({ initiator: true, provider: nativeProvider, ...o } as never));
      expect(err.code, JSON.stringify(o)).toBe(code);
      expect(err.message).toContain(words);
    }
  });
});

describe('transport cipher states', () => {
  const established = () => {
    const p = pair(XX, nativeProvider);
    complete(p);
    return { a: p.init.split(), b: p.resp.split() };
  };

  it('a decrypt failure leaves the nonce in place, so the genuine message still opens', () => {
    const { a, b } = established();
    const c = a.send.encrypt(text('hello'));
    const forged = c.slice();
    forged[0]! ^= 1;
    expect(thrown(() => b.receive.decrypt(forged)).code).toBe('DECRYPT_FAILED');
    expect(b.receive.nonce).toBe(0);
    expect(hex(b.receive.decrypt(c))).toBe(hex(text('hello')));
    expect(b.receive.nonce).toBe(1);
  });

  it('replayed or reordered messages do not decrypt', () => {
    const { a, b } = established();
    const c1 = a.send.encrypt(text('1'));
    const c2 = a.send.encrypt(text('2'));
    expect(thrown(() => b.receive.decrypt(c2)).code).toBe('DECRYPT_FAILED');
    b.receive.decrypt(c1);
    expect(thrown(() => b.receive.decrypt(c1)).code).toBe('DECRYPT_FAILED');
  });

  it('rekey on both sides keeps the channel; on one side only breaks it', () => {
    const { a, b } = established();
    a.send.rekey();
    b.receive.rekey();
    expect(hex(b.receive.decrypt(a.send.encrypt(text('after'))))).toBe(hex(text('after')));
    a.send.rekey();
    expect(thrown(() => b.receive.decrypt(a.send.encrypt(text('x')))).code).toBe('DECRYPT_FAILED');
  });

  it('the last nonce is never used: NONCE_EXHAUSTED', () => {
    const { a } = established();
    a.send.setNonce(MAX_NONCE - 1);
    a.send.encrypt(text('last one'));
    expect(thrown(() => a.send.encrypt(text('one too many'))).code).toBe('NONCE_EXHAUSTED');
  });

  it('plaintexts over 65519 bytes are refused (the message would exceed 65535)', () => {
    const { a } = established();
    expect(a.send.encrypt(new Uint8Array(65519))).toHaveLength(65535);
    expect(thrown(() => a.send.encrypt(new Uint8Array(65520))).code).toBe('BAD_MESSAGE_LENGTH');
  });
});
