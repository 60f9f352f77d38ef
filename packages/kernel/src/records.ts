// Records on a byte stream: a 2-byte big-endian length, then that many bytes (one Noise message,
// at most 65535 bytes, Noise §3). The decoder takes arbitrary chunks.
const MAX_RECORD = 65535;

export function encodeRecord(body: Uint8Array): Uint8Array {
  if (body.length > MAX_RECORD) throw new RangeError(`record of ${body.length} bytes exceeds ${MAX_RECORD}`);
  const out = new Uint8Array(body.length + 2);
  out[0] = body.length >>> 8;
  out[1] = body.length & 0xff;
  out.set(body, 2);
  return out;
}

export class RecordDecoder {
  #buf: Uint8Array = new Uint8Array(0);

  /** Adds a chunk; returns the records completed by it. */
  push(chunk: Uint8Array): Uint8Array[] {
    const buf = this.#buf.length === 0 ? chunk : concat2(this.#buf, chunk);
    const out: Uint8Array[] = [];
    let off = 0;
    while (buf.length - off >= 2) {
      const len = (buf[off]! << 8) | buf[off + 1]!;
      if (buf.length - off - 2 < len) break;
      out.push(buf.slice(off + 2, off + 2 + len));
      off += 2 + len;
    }
    this.#buf = off === buf.length ? new Uint8Array(0) : buf.slice(off);
    return out;
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
