// Heartbeat authentication across a partition: a key only the two nodes can compute, from their
// static keys alone (no session needed), and a 16-byte tag on each datagram.
import { HEARTBEAT_TAG_BYTES, SENDER_ID_BYTES } from '@distkit/wire';
import { defaultProvider } from './crypto/default-provider.ts';
import type { CryptoProvider, HashFunction } from './crypto/provider.ts';
import { HandshakeError } from './errors.ts';
import { KEY_BYTES } from './identity.ts';

const PAIRWISE_LABEL = new TextEncoder().encode('distkit/1 pairwise heartbeat key');
const ONE = new Uint8Array([1]);

function sha256(provider: CryptoProvider): HashFunction {
  const h = provider.hash('SHA256');
  if (!h) throw new HandshakeError('UNSUPPORTED_PROTOCOL', `crypto provider '${provider.name}' lacks SHA256`);
  return h;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * The same 32 bytes on both sides: HKDF-SHA256 (RFC 5869) over X25519(mine, theirs), salted with
 * the cluster secret when there is one, with both public keys (sorted) in the info so the key is
 * bound to the pair.
 */
export function pairwiseKey(
  myPrivate: Uint8Array,
  theirPublic: Uint8Array,
  clusterSecret?: Uint8Array,
  provider: CryptoProvider = defaultProvider(),
): Uint8Array {
  const dh = provider.dh('25519');
  if (!dh) throw new HandshakeError('UNSUPPORTED_PROTOCOL', `crypto provider '${provider.name}' lacks X25519`);
  for (const [k, what] of [[myPrivate, 'myPrivate'], [theirPublic, 'theirPublic']] as const) {
    if (!(k instanceof Uint8Array) || k.length !== KEY_BYTES) throw new HandshakeError('INVALID_CONFIG', `${what} must be a ${KEY_BYTES}-byte Uint8Array`);
  }
  if (clusterSecret !== undefined && (!(clusterSecret instanceof Uint8Array) || clusterSecret.length !== 32)) {
    throw new HandshakeError('INVALID_CONFIG', 'clusterSecret must be a 32-byte Uint8Array');
  }
  const mine = dh.keyPairFromPrivate(myPrivate);
  let shared: Uint8Array;
  try {
    shared = dh.dh(mine, theirPublic);
  } catch (cause) {
    throw new HandshakeError('INVALID_KEY', 'theirPublic yields no shared secret (low-order point?)', { cause });
  }
  const [lo, hi] = compare(mine.publicKey, theirPublic) <= 0 ? [mine.publicKey, theirPublic] : [theirPublic, mine.publicKey];
  const h = sha256(provider);
  // RFC 5869: an absent salt is HashLen zero bytes.
  const prk = h.hmac(clusterSecret ?? new Uint8Array(32), shared);
  return h.hmac(prk, PAIRWISE_LABEL, lo, hi, ONE);
}

/**
 * The MAC of each pairwise key, built once per key array (and provider): a pair's key tags every
 * datagram between the two for as long as they know each other, so what depends on the key alone
 * is done once. Held weakly (a key the kernel forgets takes its MAC with it), and checked against
 * the bytes and the provider on each use, so an array refilled with another key, or used with
 * another provider, gets a MAC of its own.
 */
interface KeyedMac {
  readonly provider: CryptoProvider;
  readonly key: Uint8Array;
  readonly mac: (data: Uint8Array) => Uint8Array;
}
const macs = new WeakMap<Uint8Array, KeyedMac>();

function macFor(key: Uint8Array, provider: CryptoProvider): (data: Uint8Array) => Uint8Array {
  const known = macs.get(key);
  if (known !== undefined && known.provider === provider && compare(known.key, key) === 0) return known.mac;
  if (key.length !== 32) throw new HandshakeError('INVALID_CONFIG', 'pairwise key must be a 32-byte Uint8Array');
  const h = sha256(provider);
  const own = Uint8Array.from(key);
  const mac = h.keyedHmac?.(own) ?? ((data: Uint8Array) => h.hmac(own, data));
  macs.set(key, { provider, key: own, mac });
  return mac;
}

/**
 * A pairwise key made ready for many datagrams: its MAC is built once here, so sealing and
 * opening with it skip even the per-call lookup and check that a bare key array needs (the
 * kernel holds one per peer for as long as it knows the peer).
 */
export class HeartbeatKey {
  readonly #mac: (data: Uint8Array) => Uint8Array;

  constructor(key: Uint8Array, provider: CryptoProvider = defaultProvider()) {
    if (!(key instanceof Uint8Array) || key.length !== 32) throw new HandshakeError('INVALID_CONFIG', 'pairwise key must be a 32-byte Uint8Array');
    const h = sha256(provider);
    const own = Uint8Array.from(key);
    this.#mac = h.keyedHmac?.(own) ?? ((data: Uint8Array) => h.hmac(own, data));
  }

  /** The full HMAC-SHA256 of `data`. */
  mac(data: Uint8Array): Uint8Array {
    return this.#mac(data);
  }
}

/** The full HMAC-SHA256 of `body`; the tag is its first HEARTBEAT_TAG_BYTES bytes. */
function mac(key: Uint8Array | HeartbeatKey, body: Uint8Array, provider: CryptoProvider): Uint8Array {
  if (key instanceof HeartbeatKey) return key.mac(body);
  if (!(key instanceof Uint8Array)) throw new HandshakeError('INVALID_CONFIG', 'pairwise key must be a 32-byte Uint8Array');
  // HMAC-SHA256 truncated to 128 bits (as RFC 4868 does): no nonce to manage, unlike a one-time
  // Poly1305 key, so two datagrams can never share MAC material.
  return macFor(key, provider)(body);
}

/**
 * Sealed datagrams are cut from a shared slab, never reused: an array of its own would give each
 * datagram its own ArrayBuffer (a backing store to allocate, and one more for every young-generation
 * collection to sweep), thousands of times a second. A slab is freed once no datagram cut from it
 * is held (the decoders copy what they keep, and sockets copy what they send).
 */
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

function datagramBytes(length: number): Uint8Array {
  if (length > SLAB_BYTES / 4) return new Uint8Array(length);
  if (slabUsed + length > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, length);
  // Keep each datagram 8-byte aligned in the slab.
  slabUsed += (length + 7) & ~7;
  return out;
}

/**
 * The datagram: `sender` (the sender's 8-byte id, @distkit/wire `senderId`), `body` (the wire
 * encoding of a heartbeat or probe), and a 16-byte tag over both. `key`: the pairwise key, or a
 * `HeartbeatKey` made from it (then `provider` is the one it was made with).
 */
export function sealHeartbeat(key: Uint8Array | HeartbeatKey, sender: Uint8Array, body: Uint8Array, provider: CryptoProvider = defaultProvider()): Uint8Array {
  if (!(sender instanceof Uint8Array) || sender.length !== SENDER_ID_BYTES) throw new HandshakeError('INVALID_CONFIG', `sender must be a ${SENDER_ID_BYTES}-byte id`);
  const out = datagramBytes(SENDER_ID_BYTES + body.length + HEARTBEAT_TAG_BYTES);
  out.set(sender);
  out.set(body, SENDER_ID_BYTES);
  const signed = SENDER_ID_BYTES + body.length;
  const full = mac(key, out.subarray(0, signed), provider);
  for (let i = 0; i < HEARTBEAT_TAG_BYTES; i++) out[signed + i] = full[i]!;
  return out;
}

/**
 * The body when the tag verifies under `key`, else null (never throws on bad input): a view into
 * `datagram`, not a copy (the decoders copy what they keep). The caller picks `key` by the
 * datagram's sender id (@distkit/wire `datagramSender`), and must then check that the body's own
 * sender field is that peer.
 */
export function openHeartbeat(key: Uint8Array | HeartbeatKey, datagram: Uint8Array, provider: CryptoProvider = defaultProvider()): Uint8Array | null {
  if (!(datagram instanceof Uint8Array) || datagram.length < SENDER_ID_BYTES + HEARTBEAT_TAG_BYTES) return null;
  const signed = datagram.length - HEARTBEAT_TAG_BYTES;
  const expected = mac(key, datagram.subarray(0, signed), provider);
  let diff = 0;
  for (let i = 0; i < HEARTBEAT_TAG_BYTES; i++) diff |= expected[i]! ^ datagram[signed + i]!;
  return diff === 0 ? datagram.subarray(SENDER_ID_BYTES, signed) : null;
}
