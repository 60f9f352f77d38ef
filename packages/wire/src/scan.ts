import { WireError } from './errors.ts';
import type { WireLimits } from './limits.ts';

// A structural pass over msgpack bytes that runs before msgpackr builds anything. It refuses what
// a strict decoder must (extension types, the reserved byte 0xc1, non-string or `__proto__` map
// keys, trailing bytes) and enforces depth and item limits while a length is still just a number:
// a header claiming four billion elements costs nothing to reject. The encoders run it too, so
// whatever we send is exactly what we would accept.

const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

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
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Open containers: items still expected, and whether it is a map (keys at even positions).
  const remaining: number[] = [];
  const isMap: boolean[] = [];
  let items = 0;
  let pos = 0;

  const need = (n: number): void => {
    if (pos + n > end) throw new WireError('MALFORMED', `truncated at byte ${pos}: ${n} more bytes expected`);
  };
  const open = (count: number, map: boolean): void => {
    // Each element takes at least one byte: a count beyond the bytes left is a lie.
    if ((map ? count * 2 : count) > end - pos) {
      throw new WireError('MALFORMED', `container of ${count} items does not fit in ${end - pos} bytes`);
    }
    items += count;
    if (items > limits.maxItems) {
      throw new WireError('TOO_MANY_ITEMS', `more than ${limits.maxItems} items`);
    }
    if (count === 0) return;
    if (remaining.length + 1 > limits.maxDepth) {
      throw new WireError('TOO_DEEP', `nesting deeper than ${limits.maxDepth}`);
    }
    remaining.push(map ? count * 2 : count);
    isMap.push(map);
  };

  do {
    const top = remaining.length - 1;
    const keyPosition = top >= 0 && isMap[top] === true && remaining[top]! % 2 === 0;
    need(1);
    const b = bytes[pos++]!;
    let strLen = -1;
    if (keyPosition) {
      if (b >= 0xa0 && b <= 0xbf) strLen = b & 0x1f;
      else if (b === 0xd9) { need(1); strLen = bytes[pos++]!; }
      else if (b === 0xda) { need(2); strLen = view.getUint16(pos); pos += 2; }
      else if (b === 0xdb) { need(4); strLen = view.getUint32(pos); pos += 4; }
      else throw new WireError('MALFORMED', `map key at byte ${pos - 1} is not a string`);
      need(strLen);
      if (strLen === PROTO.length && PROTO.every((c, i) => bytes[pos + i] === c)) {
        throw new WireError('FORBIDDEN_KEY', 'map key "__proto__" is not allowed');
      }
      pos += strLen;
    } else if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, nil, booleans: one byte
    } else if (b <= 0x8f) {
      open(b & 0x0f, true);
      if ((b & 0x0f) > 0) continue;
    } else if (b <= 0x9f) {
      open(b & 0x0f, false);
      if ((b & 0x0f) > 0) continue;
    } else if (b <= 0xbf) {
      strLen = b & 0x1f;
      need(strLen);
      pos += strLen;
    } else {
      switch (b) {
        case 0xc4: case 0xd9: { need(1); const n = bytes[pos]!; pos += 1; need(n); pos += n; break; }
        case 0xc5: case 0xda: { need(2); const n = view.getUint16(pos); pos += 2; need(n); pos += n; break; }
        case 0xc6: case 0xdb: { need(4); const n = view.getUint32(pos); pos += 4; need(n); pos += n; break; }
        case 0xca: need(4); pos += 4; break;
        case 0xcb: need(8); pos += 8; break;
        case 0xcc: case 0xd0: need(1); pos += 1; break;
        case 0xcd: case 0xd1: need(2); pos += 2; break;
        case 0xce: case 0xd2: need(4); pos += 4; break;
        case 0xcf: case 0xd3: need(8); pos += 8; break;
        case 0xdc: case 0xde: {
          need(2); const n = view.getUint16(pos); pos += 2;
          open(n, b === 0xde);
          if (n > 0) continue;
          break;
        }
        case 0xdd: case 0xdf: {
          need(4); const n = view.getUint32(pos); pos += 4;
          open(n, b === 0xdf);
          if (n > 0) continue;
          break;
        }
        case 0xc1:
          throw new WireError('MALFORMED', `reserved byte 0xc1 at ${pos - 1}`);
        default: // 0xc7-0xc9, 0xd4-0xd8: extension types (timestamps, records, structured clone)
          throw new WireError('EXTENSION_TYPE', `extension type 0x${b.toString(16)} at byte ${pos - 1} is not accepted`);
      }
    }
    // One value finished: close every container it completes.
    while (remaining.length > 0) {
      const last = remaining.length - 1;
      remaining[last]!--;
      if (remaining[last]! > 0) break;
      remaining.pop();
      isMap.pop();
    }
  } while (remaining.length > 0);

  if (pos !== end) throw new WireError('TRAILING_BYTES', `${end - pos} bytes after the value`);
}
