/** Size limits a decoder enforces before it builds anything. All in bytes unless named otherwise. */
export interface WireLimits {
  /** Largest encoded value accepted. */
  readonly maxBytes: number;
  /** Deepest nesting of arrays/maps in a user value (the envelope counts as one level). */
  readonly maxDepth: number;
  /** Most array elements plus map entries in one decoded value, summed over every level. */
  readonly maxItems: number;
}

/**
 * A heartbeat datagram must fit one unfragmented UDP packet on any path: 1200 bytes is QUIC's
 * minimum datagram size (RFC 9000 §14), a common safe bound. The kernel adds a 16-byte tag.
 */
export const MAX_DATAGRAM_BYTES = 1200;
/** Authentication tag appended by the kernel when it seals a heartbeat (HMAC-SHA256 truncated to 16 bytes, keyed by the pair). */
export const HEARTBEAT_TAG_BYTES = 16;
/**
 * Every datagram starts with its sender's key id in the clear (as WireGuard's sender index): the
 * receiver picks the pair's key by it, so the source address decides nothing (NAT works, nobody
 * can take over a peer's heartbeats by claiming its address).
 */
export const SENDER_ID_BYTES = 8;
/** Room left for the encoded heartbeat body itself. */
export const MAX_HEARTBEAT_BODY_BYTES: number = MAX_DATAGRAM_BYTES - SENDER_ID_BYTES - HEARTBEAT_TAG_BYTES;
/** A session frame's plaintext; larger user payloads are split by the session layer. */
export const MAX_FRAME_BYTES: number = 64 * 1024;

export const DEFAULT_FRAME_LIMITS: WireLimits = Object.freeze({
  maxBytes: MAX_FRAME_BYTES,
  maxDepth: 32,
  maxItems: 16_384,
});

export const DATAGRAM_LIMITS: WireLimits = Object.freeze({
  maxBytes: MAX_HEARTBEAT_BODY_BYTES,
  maxDepth: 4,
  maxItems: 64,
});

/** Longest node name, in UTF-8 bytes (Erlang's node names are atoms: at most 255 characters). */
export const MAX_NAME_BYTES = 255;
/** Longest cluster id, in UTF-8 bytes. */
export const MAX_CLUSTER_ID_BYTES = 64;
/** X25519 public key length: a node id. */
export const NODE_ID_BYTES = 32;
/** Length of a view summary's set hash. */
export const VIEW_HASH_BYTES = 16;
