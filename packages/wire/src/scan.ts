import { WireError } from './errors.ts';
import type { WireLimits } from './limits.ts';

// A structural pass over msgpack bytes that runs before msgpackr builds anything. It refuses what
// a strict decoder must (extension types, the reserved byte 0xc1, non-string or `__proto__` map
// keys, trailing bytes) and enforces depth and item limits while a length is still just a number:
// a header claiming four billion elements costs nothing to reject. The encoders run it too, so
// whatever we send is exactly what we would accept.

const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

// The open containers' stacks, shared by every call (a scan runs to completion synchronously):
// items still expected in each, and whether it is a map (keys at even positions).
const remaining: number[] = [];
const isMap: boolean[] = [];

function truncated(pos: number, n: number): WireError {
  return new WireError('MALFORMED', `truncated at byte ${pos}: ${n} more bytes expected`);
}

/**
 * Checks that `bytes` hold exactly one msgpack value within `limits`. Returns nothing; throws a
 * WireError whose code says what is wrong.
 */
export function scanMsgpack(bytes: Uint8Array, limits: WireLimits): void {
  const end = bytes.length;
  if (end > limits.maxBytes) {
    throw new WireError('TOO_LARGE', `value is ${end} bytes, limit is ${limits.maxBytes}`);
  }
  if (end === 0) throw new WireError('MALFORMED', 'empty input');
  const maxItems = limits.maxItems;
  const maxDepth = limits.maxDepth;
  let depth = 0;
  let items = 0;
  let pos = 0;

  do {
    const keyPosition = depth > 0 && isMap[depth - 1] === true && remaining[depth - 1]! % 2 === 0;
    if (pos >= end) throw truncated(pos, 1);
    const b = bytes[pos++]!;
    // A container: its count, then (unless empty) one level deeper.
    let count = -1;
    let map = false;
    if (keyPosition) {
      let strLen: number;
      if (b >= 0xa0 && b <= 0xbf) strLen = b & 0x1f;
      else if (b === 0xd9) { if (pos + 1 > end) throw truncated(pos, 1); strLen = bytes[pos++]!; }
      else if (b === 0xda) { if (pos + 2 > end) throw truncated(pos, 2); strLen = (bytes[pos]! << 8) | bytes[pos + 1]!; pos += 2; }
      else if (b === 0xdb) { if (pos + 4 > end) throw truncated(pos, 4); strLen = u32(bytes, pos); pos += 4; }
      else throw new WireError('MALFORMED', `map key at byte ${pos - 1} is not a string`);
      if (pos + strLen > end) throw truncated(pos, strLen);
      utf8(bytes, pos, pos + strLen);
      if (strLen === PROTO.length && PROTO.every((c, i) => bytes[pos + i] === c)) {
        throw new WireError('FORBIDDEN_KEY', 'map key "__proto__" is not allowed');
      }
      pos += strLen;
    } else if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, nil, booleans: one byte
    } else if (b <= 0x8f) {
      count = b & 0x0f;
      map = true;
    } else if (b <= 0x9f) {
      count = b & 0x0f;
    } else if (b <= 0xbf) {
      const n = b & 0x1f;
      if (pos + n > end) throw truncated(pos, n);
      utf8(bytes, pos, pos + n);
      pos += n;
    } else {
      let n = -1;
      switch (b) {
        case 0xc4: case 0xd9: if (pos + 1 > end) throw truncated(pos, 1); n = bytes[pos]!; pos += 1; break;
        case 0xc5: case 0xda: if (pos + 2 > end) throw truncated(pos, 2); n = (bytes[pos]! << 8) | bytes[pos + 1]!; pos += 2; break;
        case 0xc6: case 0xdb: if (pos + 4 > end) throw truncated(pos, 4); n = u32(bytes, pos); pos += 4; break;
        case 0xca: n = 4; break;
        case 0xcb: n = 8; break;
        case 0xcc: case 0xd0: n = 1; break;
        case 0xcd: case 0xd1: n = 2; break;
        case 0xce: case 0xd2: n = 4; break;
        case 0xcf: case 0xd3: n = 8; break;
        case 0xdc: case 0xde:
          if (pos + 2 > end) throw truncated(pos, 2);
          count = (bytes[pos]! << 8) | bytes[pos + 1]!;
          pos += 2;
          map = b === 0xde;
          break;
        case 0xdd: case 0xdf:
          if (pos + 4 > end) throw truncated(pos, 4);
          count = u32(bytes, pos);
          pos += 4;
          map = b === 0xdf;
          break;
        case 0xc1:
          throw new WireError('MALFORMED', `reserved byte 0xc1 at ${pos - 1}`);
        default: // 0xc7-0xc9, 0xd4-0xd8: extension types (timestamps, records, structured clone)
          throw new WireError('EXTENSION_TYPE', `extension type 0x${b.toString(16)} at byte ${pos - 1} is not accepted`);
      }
      if (n >= 0) {
        if (pos + n > end) throw truncated(pos, n);
        if (b === 0xd9 || b === 0xda || b === 0xdb) utf8(bytes, pos, pos + n);
        pos += n;
      }
    }
    if (count >= 0) {
      // Each element takes at least one byte: a count beyond the bytes left is a lie.
      if ((map ? count * 2 : count) > end - pos) {
        throw new WireError('MALFORMED', `container of ${count} items does not fit in ${end - pos} bytes`);
      }
      items += count;
      if (items > maxItems) throw new WireError('TOO_MANY_ITEMS', `more than ${maxItems} items`);
      if (count > 0) {
        if (depth + 1 > maxDepth) throw new WireError('TOO_DEEP', `nesting deeper than ${maxDepth}`);
        remaining[depth] = map ? count * 2 : count;
        isMap[depth] = map;
        depth++;
        continue;
      }
    }
    // One value finished: close every container it completes.
    while (depth > 0) {
      const left = --remaining[depth - 1]!;
      if (left > 0) break;
      depth--;
    }
  } while (depth > 0);

  if (pos !== end) throw new WireError('TRAILING_BYTES', `${end - pos} bytes after the value`);
}

/**
 * Throws MALFORMED unless bytes[from, to) are well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF). msgpackr decodes a malformed string inconsistently (its
 * decoder may read past the string), so such a string never reaches it.
 */
function utf8(bytes: Uint8Array, from: number, to: number): void {
  let i = from;
  while (i < to) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; }
    else throw badUtf8(i);
    if (i + need >= to) throw badUtf8(i); // truncated sequence
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const d = bytes[i + k]!;
      if ((d & 0xc0) !== 0x80) throw badUtf8(i);
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw badUtf8(i);
    i += need + 1;
  }
}

function badUtf8(at: number): WireError {
  return new WireError('MALFORMED', `a string is not valid UTF-8 (byte ${at})`);
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}
