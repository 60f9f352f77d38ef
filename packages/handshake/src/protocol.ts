import type { CipherName, DhName, HashName } from './crypto/provider.ts';
import { HandshakeError } from './errors.ts';
import { handshakePattern, type HandshakePattern } from './patterns.ts';

export interface ProtocolSpec {
  readonly name: string;
  readonly pattern: HandshakePattern;
  readonly dh: DhName;
  readonly cipher: CipherName;
  readonly hash: HashName;
}

const DHS: readonly string[] = ['25519', '448'];
const CIPHERS: readonly string[] = ['ChaChaPoly', 'AESGCM'];
const HASHES: readonly string[] = ['SHA256', 'SHA512', 'BLAKE2b', 'BLAKE2s'];

const parsed = new Map<string, ProtocolSpec>();

/** Splits `Noise_<pattern>_<dh>_<cipher>_<hash>` (Noise §8) and checks each part. */
export function parseProtocolName(name: string): ProtocolSpec {
  // Every connection parses the same few names: parse each once (specs are never mutated).
  const known = parsed.get(name);
  if (known) return known;
  const spec = parseUncached(name);
  if (parsed.size < 256) parsed.set(name, spec);
  return spec;
}

function parseUncached(name: string): ProtocolSpec {
  if (typeof name !== 'string') throw new HandshakeError('UNSUPPORTED_PROTOCOL', 'protocolName must be a string');
  const parts = name.split('_');
  const bad = (why: string) => new HandshakeError('UNSUPPORTED_PROTOCOL', `protocol '${name}': ${why}`);
  if (parts.length !== 5 || parts[0] !== 'Noise') throw bad('expected Noise_<pattern>_<dh>_<cipher>_<hash>');
  const [, pattern, dh, cipher, hash] = parts as [string, string, string, string, string];
  if (!DHS.includes(dh)) throw bad(`unknown DH function '${dh}' (known: ${DHS.join(', ')})`);
  if (!CIPHERS.includes(cipher)) throw bad(`unknown cipher '${cipher}' (known: ${CIPHERS.join(', ')})`);
  if (!HASHES.includes(hash)) throw bad(`unknown hash '${hash}' (known: ${HASHES.join(', ')})`);
  return Object.freeze({ name, pattern: handshakePattern(pattern), dh: dh as DhName, cipher: cipher as CipherName, hash: hash as HashName });
}
