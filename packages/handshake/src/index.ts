export { HandshakeError, isHandshakeError, type HandshakeErrorCode } from './errors.ts';
export type { AeadFunction, CipherName, CryptoProvider, DhFunction, DhName, HashFunction, HashName, KeyPair } from './crypto/provider.ts';
export { nativeProvider } from './crypto/native.ts';
export { nobleProvider } from './crypto/noble.ts';
export { defaultProvider } from './crypto/default-provider.ts';
export { PATTERN_NAMES, handshakePattern, type HandshakePattern, type MessagePattern, type Role, type Token } from './patterns.ts';
export { parseProtocolName, type ProtocolSpec } from './protocol.ts';
export { MAX_MESSAGE_BYTES, MAX_NONCE, TAG_BYTES, type CipherState } from './cipher-state.ts';
export { createHandshake, type Handshake, type HandshakeOptions, type TransportCiphers } from './handshake.ts';
export { FRAME_HEADER_BYTES, FrameDecoder, frameMessage } from './framing.ts';
export { CHUNK_BYTES, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_REKEY_INTERVAL, createSession, type Session, type SessionOptions } from './session.ts';
export {
  KEY_BYTES, PRIVATE_KEY_TAG, PUBLIC_KEY_TAG, decodeKey, encodeKey, fingerprint, formatPrivateKey, formatPublicKey,
  generateIdentity, parsePrivateKey, parsePublicKey,
} from './identity.ts';
export {
  REVOKED_OPTION, TrustStore, formatTrustEntry, type Trust, isValidNodeName, parseTrustFile, type TrustDecision, type TrustEntry,
  type TrustFileLine, type TrustMode, type TrustStoreOptions, type TrustVerdict,
} from './trust.ts';
export {
  CLUSTER_SECRET_BYTES, CLUSTER_SECRET_ID_BYTES, CLUSTER_SECRET_TAG, clusterSecretId, firstRecordMac, formatClusterKeyring, generateClusterSecret,
  parseClusterKeyring,
  type ClusterKeyring,
} from './cluster-secret.ts';
export { HeartbeatKey, openHeartbeat, pairwiseKey, sealHeartbeat } from './pairwise.ts';
export {
  DEFAULT_PROTOCOL_NAME, DISTKIT_PATTERNS, createDistkitHandshake, distkitPrologue, distkitProtocolName,
  type DistkitHandshakeOptions, type DistkitHash, type DistkitPattern,
} from './distkit-protocol.ts';
