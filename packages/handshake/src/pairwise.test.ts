import { describe, expect, it } from 'vitest';
import { datagramSender, encodeHeartbeat, senderId } from '@distkit/wire';
import {
  HeartbeatKey, formatClusterKeyring, generateClusterSecret, generateIdentity, nativeProvider, nobleProvider, openHeartbeat, pairwiseKey,
  parseClusterKeyring, sealHeartbeat,
} from './index.ts';
import { hex, thrown } from './bytes.test-support.ts';

const alice = generateIdentity();
const bob = generateIdentity();
const carol = generateIdentity();
const body = encodeHeartbeat({
  cluster: 'prod', from: { id: alice.publicKey, name: 'alice' }, incarnation: 3, seq: 17, sentAt: 1234.5,
  view: { connected: 2, lowest: alice.publicKey, oldest: null, referee: false, hash: new Uint8Array(16) },
});

describe('pairwise keys', () => {
  it('both sides derive the same key, on either provider', () => {
    const secret = generateClusterSecret();
    const k1 = pairwiseKey(alice.privateKey, bob.publicKey, secret, nativeProvider);
    const k2 = pairwiseKey(bob.privateKey, alice.publicKey, secret, nobleProvider);
    expect(k1).toHaveLength(32);
    expect(hex(k1)).toBe(hex(k2));
    expect(hex(pairwiseKey(alice.privateKey, bob.publicKey))).toBe(hex(pairwiseKey(bob.privateKey, alice.publicKey)));
  });

  it('differs per pair and per cluster secret', () => {
    const ab = hex(pairwiseKey(alice.privateKey, bob.publicKey));
    expect(hex(pairwiseKey(alice.privateKey, carol.publicKey))).not.toBe(ab);
    expect(hex(pairwiseKey(alice.privateKey, bob.publicKey, generateClusterSecret()))).not.toBe(ab);
  });

  it('refuses bad keys', () => {
    expect(thrown(() => pairwiseKey(alice.privateKey, new Uint8Array(32))).code).toBe('INVALID_KEY');
    expect(thrown(() => pairwiseKey(alice.privateKey.subarray(1), bob.publicKey)).code).toBe('INVALID_CONFIG');
    expect(thrown(() => pairwiseKey(alice.privateKey, bob.publicKey, new Uint8Array(8))).code).toBe('INVALID_CONFIG');
  });
});

describe('heartbeat seal/open', () => {
  const key = pairwiseKey(alice.privateKey, bob.publicKey);
  const sender = senderId(alice.publicKey);

  it('puts the sender id in the clear in front, a 16-byte tag over both behind; the peer verifies', () => {
    const datagram = sealHeartbeat(key, sender, body);
    expect(datagram.length).toBe(8 + body.length + 16);
    expect(hex(datagramSender(datagram)!)).toBe(hex(alice.publicKey.subarray(0, 8)));
    expect(hex(openHeartbeat(pairwiseKey(bob.privateKey, alice.publicKey), datagram)!)).toBe(hex(body));
  });

  it('any changed bit (the sender id too), a truncation or another pair\'s key is refused with null', () => {
    const datagram = sealHeartbeat(key, sender, body);
    for (let i = 0; i < datagram.length; i++) {
      const bad = datagram.slice();
      bad[i]! ^= 0x80;
      expect(openHeartbeat(key, bad)).toBeNull();
    }
    expect(openHeartbeat(key, datagram.subarray(0, datagram.length - 1))).toBeNull();
    expect(openHeartbeat(key, new Uint8Array(15))).toBeNull();
    expect(openHeartbeat(key, 'x' as never)).toBeNull();
    expect(openHeartbeat(pairwiseKey(carol.privateKey, bob.publicKey), datagram)).toBeNull();
  });

  it('the same tags on either provider, and a key array refilled with another key tags with the new key', () => {
    const datagram = sealHeartbeat(key, sender, body, nativeProvider);
    expect(hex(sealHeartbeat(key, sender, body, nobleProvider))).toBe(hex(datagram));
    const reused = Uint8Array.from(key);
    expect(openHeartbeat(reused, datagram)).not.toBeNull();
    reused.set(pairwiseKey(alice.privateKey, carol.publicKey));
    expect(openHeartbeat(reused, datagram)).toBeNull();
    expect(hex(sealHeartbeat(reused, sender, body))).toBe(hex(sealHeartbeat(pairwiseKey(carol.privateKey, alice.publicKey), sender, body)));
  });

  it('a HeartbeatKey (the MAC built once) seals and opens exactly as its key does, on either provider', () => {
    for (const provider of [nativeProvider, nobleProvider]) {
      const ready = new HeartbeatKey(key, provider);
      const datagram = sealHeartbeat(ready, sender, body);
      expect(hex(datagram)).toBe(hex(sealHeartbeat(key, sender, body, provider)));
      expect(hex(openHeartbeat(new HeartbeatKey(pairwiseKey(bob.privateKey, alice.publicKey), provider), datagram)!)).toBe(hex(body));
      const bad = datagram.slice();
      bad[bad.length - 1]! ^= 1;
      expect(openHeartbeat(ready, bad)).toBeNull();
      expect(openHeartbeat(new HeartbeatKey(pairwiseKey(carol.privateKey, bob.publicKey), provider), datagram)).toBeNull();
    }
    // It holds its own copy: refilling the array it was made from changes nothing.
    const source = Uint8Array.from(key);
    const ready = new HeartbeatKey(source);
    source.fill(0);
    expect(openHeartbeat(ready, sealHeartbeat(key, sender, body))).not.toBeNull();
  });

  it('refuses a pairwise key that is not 32 bytes', () => {
    expect(thrown(() => sealHeartbeat(new Uint8Array(31), sender, body)).code).toBe('INVALID_CONFIG');
    expect(thrown(() => new HeartbeatKey(new Uint8Array(31))).code).toBe('INVALID_CONFIG');
  });
});

describe('cluster keyring files', () => {
  it('round-trips, first secret first', () => {
    const ring = [generateClusterSecret(), generateClusterSecret()];
    const back = parseClusterKeyring(`# rotated 2026-11\n${formatClusterKeyring(ring)}`);
    expect(back.map(hex)).toEqual(ring.map(hex));
  });

  it('refuses empty, malformed, short and repeated secrets', () => {
    const s = formatClusterKeyring([generateClusterSecret()]);
    for (const text of ['', '# only a comment\n', 'distkit-cluster-secret\n', 'secret AAAA\n', 'distkit-cluster-secret AAAA\n', `${s}${s}`, `${s.trim()} extra\n`]) {
      expect(thrown(() => parseClusterKeyring(text)).code, text).toBe('MALFORMED_KEY_FILE');
    }
    expect(thrown(() => formatClusterKeyring([])).code).toBe('MALFORMED_KEY_FILE');
  });
});
