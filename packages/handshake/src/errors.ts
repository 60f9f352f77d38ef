import { DistkitError } from '@distkit/wire';

/** Why a handshake, a transport message, a key, a trust file or a session frame was refused. */
export type HandshakeErrorCode =
  /** An AEAD tag did not verify: wrong key, wrong cluster secret, wrong prologue or tampering. */
  | 'DECRYPT_FAILED'
  /** A message is shorter than its pattern requires, or longer than Noise's 65535 bytes. */
  | 'BAD_MESSAGE_LENGTH'
  /** A call out of turn: writing when it is the peer's turn, reading after completion, split too early. */
  | 'UNEXPECTED_MESSAGE'
  /** The peer's static key is not the one the caller pinned in `remoteStaticKey`. */
  | 'REMOTE_KEY_MISMATCH'
  /** A cipher state used every nonce it may use; the session must end (or rekey was not enough). */
  | 'NONCE_EXHAUSTED'
  /** A protocol name this engine or the chosen provider does not support. */
  | 'UNSUPPORTED_PROTOCOL'
  /** A key, pre-shared key or option the pattern needs is missing or has the wrong shape. */
  | 'INVALID_CONFIG'
  /** A public key that yields no usable shared secret (for example a low-order point). */
  | 'INVALID_KEY'
  /** A key file, trust file or cluster secret that does not parse. */
  | 'MALFORMED_KEY_FILE'
  | 'MALFORMED_TRUST_FILE'
  /** A stream frame whose length exceeds the configured limit, or a reassembled payload too large. */
  | 'FRAME_TOO_LARGE'
  /** A session frame that decrypts but is not a well-formed chunk. */
  | 'MALFORMED_FRAME';

/** Every error this package throws on purpose. */
export class HandshakeError extends DistkitError {
  static override readonly name: string = 'HandshakeError';
  override readonly name: string = 'HandshakeError';
  declare readonly code: HandshakeErrorCode;

  constructor(code: HandshakeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** True when `err` is a HandshakeError, even one from another copy of this package. */
export function isHandshakeError(err: unknown): err is HandshakeError {
  return err instanceof Error && err.name === 'HandshakeError' && typeof (err as HandshakeError).code === 'string';
}
