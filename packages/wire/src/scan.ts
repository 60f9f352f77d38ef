import { WireError } from './errors.ts';
import type { WireLimits } from './limits.ts';

// A structural pass over msgpack bytes that runs before msgpackr builds anything. It refuses what
// a strict decoder must (extension types, the reserved byte 0xc1, non-string or `__proto__` map
// keys, trailing bytes) and enforces depth and item limits while a length is still just a number:
// a header claiming four billion elements costs nothing to reject. The encoders run it too, so
// whatever we send is exactly what we would accept.

const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

// The open containers, reused by every scan (a scan runs to its end without yielding, so one set
// serves all): items each still expects, and whether it is a map (keys at even positions). No
// closures and no DataView: this runs on every datagram and frame received, before anything else.
let remaining = new Float64Array(16);
let isMap = new Uint8Array(16);

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
  if (remaining.length < limits.maxDepth) {
    remaining = new Float64Array(limits.maxDepth);
    isMap = new Uint8Array(limits.maxDepth);
  }
  /** Open containers. */
  let depth = 0;
  let items = 0;
  let pos = 0;

  do {
    if (pos + 1 > end) throw truncated(pos, 1);
    const b = bytes[pos++]!;
    /** A container header: its item count (-1: not a container), and whether it is a map. */
    let count = -1;
    let map = false;
    if (depth > 0 && isMap[depth - 1] === 1 && remaining[depth - 1]! % 2 === 0) {
      // A map key: a string, and never "__proto__".
      let strLen: number;
      if (b >= 0xa0 && b <= 0xbf) strLen = b & 0x1f;
      else if (b === 0xd9) {
        if (pos + 1 > end) throw truncated(pos, 1);
        strLen = bytes[pos++]!;
      } else if (b === 0xda) {
        if (pos + 2 > end) throw truncated(pos, 2);
        strLen = (bytes[pos]! << 8) | bytes[pos + 1]!;
        pos += 2;
      } else if (b === 0xdb) {
        if (pos + 4 > end) throw truncated(pos, 4);
        strLen = bytes[pos]! * 0x1000000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
        pos += 4;
      } else throw new WireError('MALFORMED', `map key at byte ${pos - 1} is not a string`);
      if (pos + strLen > end) throw truncated(pos, strLen);
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
      pos += n;
    } else {
      switch (b) {
        case 0xc4: case 0xd9: {
          if (pos + 1 > end) throw truncated(pos, 1);
          const n = bytes[pos]!;
          pos += 1;
          if (pos + n > end) throw truncated(pos, n);
          pos += n;
          break;
        }
        case 0xc5: case 0xda: {
          if (pos + 2 > end) throw truncated(pos, 2);
          const n = (bytes[pos]! << 8) | bytes[pos + 1]!;
          pos += 2;
          if (pos + n > end) throw truncated(pos, n);
          pos += n;
          break;
        }
        case 0xc6: case 0xdb: {
          if (pos + 4 > end) throw truncated(pos, 4);
          const n = bytes[pos]! * 0x1000000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
          pos += 4;
          if (pos + n > end) throw truncated(pos, n);
          pos += n;
          break;
        }
        case 0xca: if (pos + 4 > end) throw truncated(pos, 4); pos += 4; break;
        case 0xcb: if (pos + 8 > end) throw truncated(pos, 8); pos += 8; break;
        case 0xcc: case 0xd0: if (pos + 1 > end) throw truncated(pos, 1); pos += 1; break;
        case 0xcd: case 0xd1: if (pos + 2 > end) throw truncated(pos, 2); pos += 2; break;
        case 0xce: case 0xd2: if (pos + 4 > end) throw truncated(pos, 4); pos += 4; break;
        case 0xcf: case 0xd3: if (pos + 8 > end) throw truncated(pos, 8); pos += 8; break;
        case 0xdc: case 0xde: {
          if (pos + 2 > end) throw truncated(pos, 2);
          count = (bytes[pos]! << 8) | bytes[pos + 1]!;
          pos += 2;
          map = b === 0xde;
          break;
        }
        case 0xdd: case 0xdf: {
          if (pos + 4 > end) throw truncated(pos, 4);
          count = bytes[pos]! * 0x1000000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
          pos += 4;
          map = b === 0xdf;
          break;
        }
        case 0xc1:
          throw new WireError('MALFORMED', `reserved byte 0xc1 at ${pos - 1}`);
        default: // 0xc7-0xc9, 0xd4-0xd8: extension types (timestamps, records, structured clone)
          throw new WireError('EXTENSION_TYPE', `extension type 0x${b.toString(16)} at byte ${pos - 1} is not accepted`);
      }
    }
    if (count >= 0) {
      // Each element takes at least one byte: a count beyond the bytes left is a lie.
      if ((map ? count * 2 : count) > end - pos) {
        throw new WireError('MALFORMED', `container of ${count} items does not fit in ${end - pos} bytes`);
      }
      items += count;
      if (items > limits.maxItems) {
        throw new WireError('TOO_MANY_ITEMS', `more than ${limits.maxItems} items`);
      }
      if (count > 0) {
        if (depth + 1 > limits.maxDepth) {
          throw new WireError('TOO_DEEP', `nesting deeper than ${limits.maxDepth}`);
        }
        remaining[depth] = map ? count * 2 : count;
        isMap[depth] = map ? 1 : 0;
        depth++;
        continue;
      }
    }
    // One value finished: close every container it completes.
    while (depth > 0) {
      if (--remaining[depth - 1]! > 0) break;
      depth--;
    }
  } while (depth > 0);

  if (pos !== end) throw new WireError('TRAILING_BYTES', `${end - pos} bytes after the value`);
}
