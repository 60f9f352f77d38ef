export { HandshakeError, isHandshakeError, type HandshakeErrorCode } from './errors.ts';
export type { AeadFunction, CipherName, CryptoProvider, DhFunction, DhName, HashFunction, HashName, KeyPair } from './crypto/provider.ts';
export { nativeProvider } from './crypto/native.ts';
export { nobleProvider } from './crypto/noble.ts';
export { defaultProvider } from './crypto/default-provider.ts';
export { PATTERN_NAMES, handshakePattern, type HandshakePattern, type MessagePattern, type Role, type Token } from './patterns.ts';
export { parseProtocolName, type ProtocolSpec } from './protocol.ts';
export { MAX_MESSAGE_BYTES, MAX_NONCE, TAG_BYTES, type CipherState } from './cipher-state.ts';
export { createHandshake, type Handshake, type HandshakeOptions, type TransportCiphers } from './handshake.ts';
