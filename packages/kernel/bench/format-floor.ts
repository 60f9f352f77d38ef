// The format floor: the least a message can cost in distkit's link format with this runtime's
// node:crypto and node:net, and no kernel. Each message is framed as a link frames it (a bin
// header, pieces with their headers, records of at most MAX_RECORD_BYTES, one Noise AESGCM message
// per record) and sealed with bare node:crypto: one cipher object per record, because each Noise
// message has its own nonce. The sender writes length, ciphertext and tag without joining them.
// The receiver opens each record part by part as the reads cut it, straight into one buffer per
// message. There is no machine, channel, flow window, event, decoder or nonce bookkeeping.
//
// What the kernel spends above this figure is the kernel's own cost. What this figure spends above
// node:tls is the price of node:crypto's API: every update() returns a fresh buffer, so each record
// costs a native allocation and cold output memory. TLS does the same AES-GCM inside OpenSSL, in
// buffers it reuses.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
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
export async function formatFloorPipe(): Promise<Pipe> {
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

  // Receiving: reads as they come, cut into records without joining a record's parts.
  let parts: Buffer[] = [];
  let held = 0;
  let frame: Uint8Array | null = null;
  let filled = 0;
  const open = (record: Buffer[]): void => {
    // The tag: the record's last 16 bytes (joined only when a read cut through them).
    let tag: Uint8Array;
    const tail = record[record.length - 1]!;
    if (tail.length >= TAG) {
      tag = tail.subarray(tail.length - TAG);
      record[record.length - 1] = tail.subarray(0, tail.length - TAG);
    } else {
      const all = Buffer.concat(record);
      tag = all.subarray(all.length - TAG);
      record = [all.subarray(0, all.length - TAG)];
    }
    // The headers are read from the first part's plaintext: a read that cut them short is joined.
    if (record.length > 1 && record[0]!.length < 16) record = [Buffer.concat(record)];
    const d = createDecipheriv('aes-256-gcm', key, nonceBytes(receiveIv, opened++));
    d.setAuthTag(tag);
    let skip = -1; // header bytes still to skip, once the first has been read
    for (const p of record) {
      if (p.length === 0) continue;
      let plain = d.update(p);
      if (skip < 0) {
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
        const k = Math.min(skip, plain.length);
        plain = plain.subarray(k);
        skip -= k;
      }
      frame!.set(plain, filled);
      filled += plain.length;
    }
    d.final(); // throws on a bad tag
    if (frame && filled === frame.length) {
      frame = null;
      delivered();
    }
  };
  const onData = (chunk: Buffer): void => {
    parts.push(chunk);
    held += chunk.length;
    for (;;) {
      if (held < 2) return;
      if (parts[0]!.length < 2) parts = [Buffer.concat(parts)];
      const length = (parts[0]![0]! << 8) | parts[0]![1]!;
      if (held < 2 + length) return;
      const record: Buffer[] = [];
      let need = 2 + length;
      while (need > 0) {
        const p = parts[0]!;
        if (p.length <= need) {
          record.push(p);
          parts.shift();
          need -= p.length;
        } else {
          record.push(p.subarray(0, need));
          parts[0] = p.subarray(need);
          need = 0;
        }
      }
      held -= 2 + length;
      record[0] = record[0]!.subarray(2);
      open(record);
    }
  };

  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const client: Socket = await new Promise((res) => {
    const s = netConnect(port, '127.0.0.1', () => res(s));
    s.setNoDelay(true);
  });
  return {
    send: (chunk) => seal(client, chunk),
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
