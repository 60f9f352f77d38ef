// The layout of a sealed datagram: sender id (8 bytes, in the clear) | body (msgpack) | tag (16
// bytes, HMAC over id and body with the pair's key, made and checked by @distkit/handshake).
import { HEARTBEAT_TAG_BYTES, NODE_ID_BYTES, SENDER_ID_BYTES } from './limits.ts';
import { WireError } from './errors.ts';

/** A node's sender id: the first 8 bytes of its 32-byte public key. */
export function senderId(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== NODE_ID_BYTES) throw new WireError('INVALID_VALUE', `a public key is ${NODE_ID_BYTES} bytes`);
  return publicKey.slice(0, SENDER_ID_BYTES);
}

/** The sender id a datagram claims (not yet authenticated), or null when it is too short to be one. */
export function datagramSender(datagram: Uint8Array): Uint8Array | null {
  if (!(datagram instanceof Uint8Array) || datagram.length < SENDER_ID_BYTES + HEARTBEAT_TAG_BYTES + 1) return null;
  return datagram.subarray(0, SENDER_ID_BYTES);
}
