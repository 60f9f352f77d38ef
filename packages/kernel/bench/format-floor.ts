// The format floor: the least a message can cost in distkit's link format with this runtime's
// node:crypto and node:net, and no kernel. Each message is framed as a link frames it (a bin
// header, pieces with their headers, records of at most MAX_RECORD_BYTES, one Noise AESGCM message
// per record) and sealed with bare node:crypto: one cipher object per record, because each Noise
// message has its own nonce. The sender writes length, ciphertext and tag without joining them.
// The receiver decrypts each record part by part as the reads bring it, straight into one buffer
// per message, optionally reading into one buffer it reuses. There is no machine, channel, flow
// window, event, decoder or nonce bookkeeping.
//
// What the kernel spends above this figure is the kernel's own cost. What this figure spends above
// node:tls is the price of node:crypto's API: every update() returns a fresh buffer, so each record
// costs a native allocation and cold output memory. TLS does the same AES-GCM inside OpenSSL, in
// buffers it reuses.
import { createCipheriv, createDecipheriv, randomBytes, type DecipherGCM } from 'node:crypto';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { MAX_RECORD_BYTES, PIECE_HEADER_BYTES, PIECE_TOTAL_BYTES } from '@distkit/wire';
import type { Pipe } from './link-pair.ts';

const TAG = 16;
/** msgpack bin 32 header, what a message of 64 KiB of bytes is encoded with. */
const BIN_HEADER = 5;

function nonceBytes(iv: Buffer, n: number): Buffer {
  iv.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 4); // Noise AESGCM: 32 zero bits, then n big-endian
  iv.writeUInt32BE(n >>> 0, 8);
  return iv;
}

/** The plaintext headers a record starts with: the piece header, and the frame's length in the first. */
function headers(first: boolean, last: boolean, length: number, total: number): Uint8Array {
  const h = new Uint8Array(PIECE_HEADER_BYTES + (first && !last ? PIECE_TOTAL_BYTES : 0) + (first ? BIN_HEADER : 0));
  h[0] = 2; // the default channel
  h[1] = (first ? 1 : 0) | (last ? 2 : 0);
  h[2] = length >>> 8;
  h[3] = length & 0xff;
  let at = PIECE_HEADER_BYTES;
  if (first && !last) {
    new DataView(h.buffer).setUint32(at, total);
    at += PIECE_TOTAL_BYTES;
  }
  if (first) {
    h[at] = 0xc6;
    new DataView(h.buffer).setUint32(at + 1, total - BIN_HEADER);
  }
  return h;
}

/** A message pipe (counts messages) of this format over one loopback TCP connection. */
export async function formatFloorPipe(options: { reuseReadBuffer?: boolean } = {}): Promise<Pipe> {
  const key = randomBytes(32);
  const sendIv = Buffer.alloc(12);
  const receiveIv = Buffer.alloc(12);
  let sent = 0;
  let opened = 0;

  // Writes are corked from the first send of a turn until the turn ends, so one writev carries
  // every record of the turn, as the kernel writes what a turn sealed in one go.
  let corked = false;
  const seal = (socket: Socket, body: Uint8Array): void => {
    const total = BIN_HEADER + body.length;
    let from = 0; // bytes of the frame (bin header + body) already sealed
    if (!corked) {
      corked = true;
      socket.cork();
      queueMicrotask(() => {
        corked = false;
        socket.uncork();
      });
    }
    while (from < total) {
      const first = from === 0;
      const room = MAX_RECORD_BYTES - PIECE_HEADER_BYTES - (first ? PIECE_TOTAL_BYTES : 0);
      const n = Math.min(room, total - from);
      const last = from + n === total;
      const head = headers(first, last, n, total);
      const data = body.subarray(Math.max(0, from - BIN_HEADER), from + n - BIN_HEADER);
      const c = createCipheriv('aes-256-gcm', key, nonceBytes(sendIv, sent++));
      const ctHead = c.update(head);
      const ctData = c.update(data);
      c.final();
      const length = head.length + data.length + TAG;
      socket.write(new Uint8Array([length >>> 8, length & 0xff]));
      socket.write(ctHead);
      socket.write(ctData);
      socket.write(c.getAuthTag());
      from += n;
    }
  };

  let count = 0;
  let want = Infinity;
  let wake: (() => void) | null = null;
  const delivered = (): void => {
    count++;
    if (count >= want && wake) {
      const w = wake;
      wake = null;
      w();
    }
  };

  // Receiving: each read is consumed before the next, so a reused read buffer is safe. A record's
  // ciphertext is decrypted part by part as the reads bring it (AES-GCM takes the tag at final()),
  // straight into one buffer per message; the message counts only once its tags have verified.
  const header = new Uint8Array(2);
  let headerHave = 0;
  let need = 0; // bytes of the current record still to come, tag included
  let d: DecipherGCM | null = null;
  const tag = new Uint8Array(TAG);
  let skip = -1; // header bytes still to skip, once the record's first plaintext has been read
  let plainLength = 0; // the current record's plaintext bytes
  let cut: Buffer | null = null; // the first plaintext of a record whose headers a read cut short
  let frame: Uint8Array | null = null;
  let filled = 0;
  const plainPart = (plain: Buffer): void => {
    if (plain.length === 0) return;
    if (skip < 0) {
      // The headers are read whole: a read that cut them (rare) is joined with the next.
      if (cut) {
        plain = Buffer.concat([cut, plain]);
        cut = null;
      }
      if (plain.length < Math.min(PIECE_HEADER_BYTES + PIECE_TOTAL_BYTES + BIN_HEADER, plainLength)) {
        cut = plain;
        return;
      }
      const first = (plain[1]! & 1) === 1;
      const last = (plain[1]! & 2) === 2;
      skip = PIECE_HEADER_BYTES + (first && !last ? PIECE_TOTAL_BYTES : 0) + (first ? BIN_HEADER : 0);
      if (first) {
        const total = first && !last ? plain.readUInt32BE(PIECE_HEADER_BYTES) : (plain[2]! << 8) | plain[3]!;
        frame = Buffer.allocUnsafe(total - BIN_HEADER);
        filled = 0;
      }
    }
    if (skip > 0) {
      plain = plain.subarray(skip);
      skip = 0;
    }
    frame!.set(plain, filled);
    filled += plain.length;
  };
  const onBytes = (bytes: Uint8Array, n: number): void => {
    let at = 0;
    while (at < n) {
      if (need === 0) {
        header[headerHave++] = bytes[at++]!;
        if (headerHave < 2) continue;
        headerHave = 0;
        need = (header[0]! << 8) | header[1]!;
        plainLength = need - TAG;
        d = createDecipheriv('aes-256-gcm', key, nonceBytes(receiveIv, opened++));
        skip = -1;
        continue;
      }
      const take = Math.min(need, n - at);
      const body = Math.max(0, Math.min(take, need - TAG));
      if (body > 0) plainPart(d!.update(bytes.subarray(at, at + body)));
      for (let i = body; i < take; i++) tag[TAG - (need - i)] = bytes[at + i]!;
      need -= take;
      at += take;
      if (need === 0) {
        d!.setAuthTag(tag);
        d!.final(); // throws on a bad tag
        if (frame && filled === frame.length) {
          frame = null;
          delivered();
        }
      }
    }
  };

  // The dialled socket sends and the accepted one reads, as node:net hands it each read; or, with
  // `reuseReadBuffer`, the accepted socket sends and the dialled one reads into one buffer it keeps
  // (node:net offers `onread` to dialled sockets only).
  let accepted: (s: Socket) => void;
  const acceptedSocket = new Promise<Socket>((r) => { accepted = r; });
  const server = createServer((s) => {
    s.setNoDelay(true);
    if (!options.reuseReadBuffer) s.on('data', (b: Buffer) => onBytes(b, b.length));
    accepted(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const onread = { buffer: Buffer.alloc(256 * 1024), callback: (n: number, b: Uint8Array): boolean => {
    onBytes(b, n);
    return true; // keep reading
  } };
  const client: Socket = await new Promise((res) => {
    const s = netConnect({ port, host: '127.0.0.1', ...(options.reuseReadBuffer ? { onread } : {}) }, () => res(s));
    s.setNoDelay(true);
  });
  const sender = options.reuseReadBuffer ? await acceptedSocket : client;
  return {
    send: (chunk) => seal(sender, chunk),
    received: (messages) => new Promise<void>((resolve) => {
      want = count + messages;
      if (count >= want) resolve();
      else wake = resolve;
    }).then(() => { count = 0; want = Infinity; }),
    close: () => {
      client.destroy();
      server.close();
    },
  };
}
