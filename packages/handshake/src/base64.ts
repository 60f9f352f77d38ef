// Strict standard base64 (RFC 4648 §4) for key text: no whitespace, canonical padding, and the
// unused low bits of the last character must be zero, so one key has exactly one spelling.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Character code -> 6-bit value, 255 for characters outside the alphabet. */
const VALUES = new Uint8Array(128).fill(255);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

export function encodeBase64(bytes: Uint8Array, padded = true): string {
  // Characters joined once, not appended one by one: V8 keeps a `+=` result as a rope of one node
  // per character, and fingerprints are kept for as long as a node runs.
  const chars: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const count = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < count; c++) chars.push(ALPHABET[(n >> (18 - 6 * c)) & 63]!);
  }
  if (padded) while (chars.length % 4 !== 0) chars.push('=');
  return chars.join('');
}

/** The bytes, or null when `text` is not canonical padded base64. */
export function decodeBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0) return null;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const body = text.slice(0, text.length - pad);
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    const v = code < 128 ? VALUES[code]! : 255;
    if (v === 255) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero: "AB==" and "AA==" would otherwise both decode to one byte.
  if (bits && (acc & ((1 << bits) - 1)) !== 0) return null;
  return at === out.length ? out : null;
}
