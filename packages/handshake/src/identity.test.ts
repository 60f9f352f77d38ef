import { describe, expect, it } from 'vitest';
import {
  encodeKey, fingerprint, formatPrivateKey, formatPublicKey, generateIdentity, nativeProvider, nobleProvider, parsePrivateKey,
  parsePublicKey,
} from './index.ts';
import { hex, thrown, unhex } from './bytes.test-support.ts';

// RFC 7748 §6.1: Alice's and Bob's X25519 key pairs and their shared secret.
const alice = { priv: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', pub: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a' };
const bob = { priv: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', pub: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f' };
const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

describe('identity', () => {
  for (const provider of [nativeProvider, nobleProvider]) {
    it(`${provider.name}: X25519 matches RFC 7748 §6.1`, () => {
      const dh = provider.dh('25519')!;
      const a = dh.keyPairFromPrivate(unhex(alice.priv));
      const b = dh.keyPairFromPrivate(unhex(bob.priv));
      expect(hex(a.publicKey)).toBe(alice.pub);
      expect(hex(b.publicKey)).toBe(bob.pub);
      expect(hex(dh.dh(a, b.publicKey))).toBe(shared);
      expect(hex(dh.dh(b, a.publicKey))).toBe(shared);
    });

    it(`${provider.name}: generateIdentity gives distinct working key pairs`, () => {
      const a = generateIdentity(provider);
      const b = generateIdentity(provider);
      expect(hex(a.privateKey)).not.toBe(hex(b.privateKey));
      expect(hex(provider.dh('25519')!.keyPairFromPrivate(a.privateKey).publicKey)).toBe(hex(a.publicKey));
    });
  }

  it('a private key file is one line that parses back to the same identity', () => {
    const id = generateIdentity();
    const file = formatPrivateKey(id);
    expect(file).toMatch(/^distkit-x25519-private [A-Za-z0-9+/]{43}=\n$/);
    const back = parsePrivateKey(file);
    expect(hex(back.publicKey)).toBe(hex(id.publicKey));
    expect(hex(parsePrivateKey(file.trimEnd()).privateKey)).toBe(hex(id.privateKey));
    expect(hex(parsePrivateKey(file.replace('\n', '\r\n')).privateKey)).toBe(hex(id.privateKey));
  });

  it('a public key line parses back, with its comment', () => {
    const id = generateIdentity();
    expect(hex(parsePublicKey(formatPublicKey(id.publicKey)).publicKey)).toBe(hex(id.publicKey));
    const withComment = parsePublicKey(formatPublicKey(id.publicKey, 'alpha@host-1 (rack 3)'));
    expect(withComment.comment).toBe('alpha@host-1 (rack 3)');
    expect(parsePublicKey(formatPublicKey(id.publicKey)).comment).toBeNull();
    expect(thrown(() => formatPublicKey(id.publicKey, 'two\nlines')).code).toBe('MALFORMED_KEY_FILE');
    expect(thrown(() => formatPublicKey(id.publicKey, ' padded')).code).toBe('MALFORMED_KEY_FILE');
  });

  it('refuses every malformed private key file with a clear error', () => {
    const good = formatPrivateKey(generateIdentity()).trimEnd();
    const b64 = good.split(' ')[1]!;
    const cases: [unknown, string][] = [
      ['', 'empty'],
      ['\n', 'empty'],
      [`${good}\n\n`, 'one line'],
      [`${good}\n${good}\n`, 'one line'],
      [` ${good}`, 'whitespace'],
      [`${good} `, 'whitespace'],
      [`${good}\t`, 'whitespace'],
      [good.replace(' ', '  '), 'single spaces'],
      [`distkit-x25519 ${b64}`, 'holds a public key'],
      [`ssh-ed25519 ${b64}`, "must start with 'distkit-x25519-private'"],
      [`DISTKIT-X25519-PRIVATE ${b64}`, "must start with 'distkit-x25519-private'"],
      ['distkit-x25519-private', '2 fields'],
      [`${good} comment`, '2 fields'],
      [`distkit-x25519-private ${b64.slice(0, -1)}`, 'not valid base64'],
      [`distkit-x25519-private ${b64.replace('=', '')}`, 'not valid base64'],
      [`distkit-x25519-private ${b64.slice(0, -2)}B=`, 'not valid base64'],
      [`distkit-x25519-private ${'A'.repeat(42)}==`, '32 bytes, found 31'],
      [`distkit-x25519-private ${'A'.repeat(44)}`, '32 bytes, found 33'],
      [`distkit-x25519-private ${b64.replace(/./, '-')}`, 'not valid base64'],
      [`distkit-x25519-private ${b64.replace(/./, 'é')}`, 'non-ASCII'],
      [`distkit-x25519-private\u0000${b64}`, 'control'],
      [42, 'must be a string'],
      [null, 'must be a string'],
    ];
    for (const [text, words] of cases) {
      const err = thrown(() => parsePrivateKey(text as string));
      expect(err.code, JSON.stringify(text)).toBe('MALFORMED_KEY_FILE');
      expect(err.message, JSON.stringify(text)).toContain(words);
    }
  });

  it('refuses malformed public key lines', () => {
    const b64 = encodeKey(generateIdentity().publicKey);
    for (const [text, words] of [
      [`distkit-x25519-private ${b64}`, 'private key'],
      ['distkit-x25519', 'no key'],
      [`distkit-x25519 ${b64.slice(4)}`, '32 bytes'],
      [`x25519 ${b64}`, 'must start with'],
      [`distkit-x25519 ${b64}\nmore`, 'one line'],
    ] as const) {
      const err = thrown(() => parsePublicKey(text));
      expect(err.code).toBe('MALFORMED_KEY_FILE');
      expect(err.message).toContain(words);
    }
  });

  it("fingerprint is SHA256: + unpadded base64 of SHA-256(key), as ssh-keygen -l prints", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    // openssl dgst -sha256 -binary | openssl base64 over the bytes 00..1f.
    for (const provider of [nativeProvider, nobleProvider]) {
      expect(fingerprint(key, provider)).toBe('SHA256:Yw3NKWbEM2aRElRIu7JbT/QSpJxzLbLIq8G4WBvXEN0');
    }
    expect(thrown(() => fingerprint(new Uint8Array(31))).code).toBe('MALFORMED_KEY_FILE');
  });
});
