// Handshake and transport throughput, each against an anchor measured in the same run:
// - XX handshake pairs/s in memory vs the X25519 limit (native DH ops/s / 8: an XX pair does two
//   key generations and six DHs). Target (issue 3): >= 0.6x the limit.
// - XX over loopback TCP (connect + handshake + close, sequential) vs node:tls TLS 1.3 with mutual
//   certificate authentication. Target: >= 4x node:tls.
// - Session encrypt+decrypt for 64 B and 64 KiB payloads vs bare node:crypto calls of the same
//   AEAD on the same sizes, for both suites (ChaChaPoly, AESGCM); and record mode (what links use:
//   one record per Noise message, opened from the stream's parts). Target: >= 0.8x at 64 KiB.
//   Beside it, the same work done bare: the two AEAD calls of the Noise messages a 64 KiB payload
//   must be cut into, and the join of their plaintexts (a reference, not a bound: rounds vary).
// - noble figures beside the native ones.
// Every step is time-bounded (tooling/bench/watchdog.ts): a hang prints the step and fails.
// Run: npm run bench -w @distkit/handshake  (writes bench/results/handshake.json)
import { createCipheriv, createDecipheriv, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import * as tls from 'node:tls';
import { benchWatchdog, median, opsPerSecond, opsPerSecondAsync, target, writeResults, type Result } from '../../../tooling/bench/report.ts';
import { mutualTlsCertificates } from '../../../tooling/bench/tls.ts';
import {
  CHUNK_BYTES, FrameDecoder, createHandshake, createSession, frameMessage, generateIdentity, nativeProvider, nobleProvider,
  type CryptoProvider, type KeyPair,
} from '../src/index.ts';

const XX = 'Noise_XX_25519_ChaChaPoly_SHA256';
// What the kernel's links use where the CPU has AES instructions (its default there, as here).
const XX_AES = 'Noise_XX_25519_AESGCM_SHA256';
const dog = benchWatchdog();

/**
 * Ops/s of each function, measured in alternation: every round takes one short sample of each,
 * and a ratio to the anchor (the first function) is computed per round. Medians over the rounds of
 * both, so that load coming and going on a shared machine does not skew a ratio.
 */
interface Interleaved {
  rate: Record<string, number>;
  /** Median over rounds of (rate / anchor's rate in the same round). */
  ratio: Record<string, number>;
}

function summarize(rates: Record<string, number[]>): Interleaved {
  const names = Object.keys(rates);
  const anchor = rates[names[0]!]!;
  return {
    rate: Object.fromEntries(names.map((k) => [k, median(rates[k]!)])),
    ratio: Object.fromEntries(names.map((k) => [k, median(rates[k]!.map((r, i) => r / anchor[i]!))])),
  };
}

function interleaved(fns: Record<string, () => void>, rounds = 25, sampleMs = 60): Interleaved {
  const rates: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (const fn of Object.values(fns)) opsPerSecond(fn, { samples: 1, sampleMs: 100 });
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of Object.entries(fns)) rates[k]!.push(opsPerSecond(fn, { samples: 1, sampleMs }));
  }
  return summarize(rates);
}

async function interleavedAsync(fns: Record<string, () => Promise<void>>, rounds = 15, sampleMs = 250): Promise<Interleaved> {
  const rates: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (const fn of Object.values(fns)) await opsPerSecondAsync(fn, { samples: 1, sampleMs: 200 });
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of Object.entries(fns)) rates[k]!.push(await opsPerSecondAsync(fn, { samples: 1, sampleMs }));
  }
  return summarize(rates);
}

const results: Result[] = [];
const record = (name: string, value: number, unit: string) => {
  results.push({ name, value, unit });
  console.log(`  ${name}: ${Math.round(value).toLocaleString('en-US')} ${unit}`);
};
let sink = 0;

// --- 1. In-memory XX handshakes vs the X25519 limit -------------------------------------------
const a = generateKeyPairSync('x25519');
const b = generateKeyPairSync('x25519');
function xxPair(provider: CryptoProvider, s1: KeyPair, s2: KeyPair, protocolName = XX): void {
  const i = createHandshake({ protocolName, initiator: true, staticKeyPair: s1, provider });
  const r = createHandshake({ protocolName, initiator: false, staticKeyPair: s2, provider });
  r.readMessage(i.writeMessage());
  i.readMessage(r.writeMessage());
  r.readMessage(i.writeMessage());
  sink += i.split().send.nonce + r.handshakeHash[0]!;
}
const ids = { native: [generateIdentity(nativeProvider), generateIdentity(nativeProvider)], noble: [generateIdentity(nobleProvider), generateIdentity(nobleProvider)] };
dog.step('XX in memory: bare X25519, native (both suites), noble in turns');
const memory = interleaved({
  dh: () => {
    sink += diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey })[0]!;
  },
  native: () => xxPair(nativeProvider, ids.native[0]!, ids.native[1]!),
  nativeAes: () => xxPair(nativeProvider, ids.native[0]!, ids.native[1]!, XX_AES),
  noble: () => xxPair(nobleProvider, ids.noble[0]!, ids.noble[1]!),
});
const limit = memory.rate['dh']! / 8;
const xxNative = memory.rate['native']!;
const xxNoble = memory.rate['noble']!;
record('X25519 DH, bare node:crypto (KeyObjects made in advance)', memory.rate['dh']!, 'ops/s');
record('XX limit (DH ops/s / 8)', limit, 'pairs/s');
record('XX handshake pairs, in memory, native', xxNative, 'pairs/s');
record('XX handshake pairs, in memory, native, AESGCM suite', memory.rate['nativeAes']!, 'pairs/s');
record('XX handshake pairs, in memory, noble', xxNoble, 'pairs/s');

// --- 2. Loopback TCP: Noise XX vs TLS 1.3 mTLS --------------------------------------------------
function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

async function noiseOverTcp(provider: CryptoProvider): Promise<{ run: () => Promise<void>; stop: () => Promise<void>; completed: () => number }> {
  const [client, server] = [generateIdentity(provider), generateIdentity(provider)];
  let completed = 0;
  const srv = createServer((socket) => {
    socket.setNoDelay(true);
    const hs = createHandshake({ protocolName: XX_AES, initiator: false, staticKeyPair: server, provider });
    const decoder = new FrameDecoder(1024);
    socket.on('data', (chunk: Uint8Array) => {
      try {
        for (const m of decoder.push(chunk)) {
          hs.readMessage(m);
          if (hs.isComplete) {
            completed++;
            socket.end();
          } else socket.write(frameMessage(hs.writeMessage()));
        }
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  const run = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true });
      const hs = createHandshake({ protocolName: XX_AES, initiator: true, staticKeyPair: client, provider });
      const decoder = new FrameDecoder(1024);
      socket.once('connect', () => socket.write(frameMessage(hs.writeMessage())));
      socket.on('data', (chunk: Uint8Array) => {
        for (const m of decoder.push(chunk)) {
          hs.readMessage(m);
          socket.write(frameMessage(hs.writeMessage()));
          // Initiator complete after message 3; the server closes once it has verified it.
        }
      });
      socket.once('error', reject);
      closed(socket).then(() => (hs.isComplete ? resolve() : reject(new Error('closed before completion'))));
    });
  return { run, stop: () => new Promise((r) => srv.close(() => r())), completed: () => completed };
}

async function tlsOverTcp(f: Record<string, string>): Promise<{ run: () => Promise<void>; stop: () => Promise<void>; completed: () => number }> {
  let completed = 0;
  const srv = tls.createServer({
    key: f['serverKey'], cert: f['serverCert'], ca: [f['clientCert']!], requestCert: true, rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  }, (socket) => {
    if (socket.authorized) completed++;
    socket.end();
  });
  srv.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  const run = () =>
    new Promise<void>((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1', port, key: f['clientKey'], cert: f['clientCert'], ca: [f['serverCert']!], minVersion: 'TLSv1.3',
      });
      socket.setNoDelay(true);
      socket.once('secureConnect', () => {
        if (!socket.authorized) reject(new Error(`TLS not authorized: ${socket.authorizationError}`));
        socket.end();
      });
      socket.resume();
      socket.once('error', reject);
      closed(socket).then(() => resolve());
    });
  return { run, stop: () => new Promise((r) => srv.close(() => r())), completed: () => completed };
}

dog.step('XX over loopback TCP: node:tls mTLS, native, noble in turns');
const noiseTcp = await noiseOverTcp(nativeProvider);
const nobleTcp = await noiseOverTcp(nobleProvider);
const certs = mutualTlsCertificates();
const tlsBench = certs ? await tlsOverTcp(certs as unknown as Record<string, string>) : null;
if (!certs) console.log('  openssl CLI not found: the node:tls anchor (and its target) cannot be measured');
const tcp = await interleavedAsync({
  ...(tlsBench ? { tls: tlsBench.run } : {}),
  native: noiseTcp.run,
  noble: nobleTcp.run,
});
for (const s of [noiseTcp, nobleTcp, ...(tlsBench ? [tlsBench] : [])]) await s.stop();
if (noiseTcp.completed() === 0) throw new Error('no Noise handshake completed on the server side');
if (tlsBench && tlsBench.completed() === 0) throw new Error('no TLS handshake was mutually authorized');
const noiseTcpRate = tcp.rate['native']!;
const nobleTcpRate = tcp.rate['noble']!;
const tlsRate = tcp.rate['tls'] ?? Number.NaN;
record('XX over loopback TCP (connect+handshake+close), native, AESGCM suite', noiseTcpRate, 'handshakes/s');
record('XX over loopback TCP (connect+handshake+close), noble, AESGCM suite', nobleTcpRate, 'handshakes/s');
if (tlsBench) record('node:tls TLS 1.3 mTLS over loopback TCP (connect+handshake+close)', tlsRate, 'handshakes/s');

// --- 3. Transport: session seal+open vs bare calls of the same AEAD ----------------------------
dog.step('transport: sessions and records against bare AEAD calls in turns');
const key = new Uint8Array(32).fill(1);
const iv = new Uint8Array(12);
const ALGORITHM = { ChaChaPoly: 'chacha20-poly1305', AESGCM: 'aes-256-gcm' } as const;
/** One bare encrypt and decrypt of `plaintext` with node:crypto: the plaintext back. */
function bareOpenSealed(algorithm: string, plaintext: Uint8Array): Uint8Array {
  // Both AEADs' tags are 16 bytes by default; the AEAD calls are typed in src/crypto/node-crypto.d.ts.
  const c = createCipheriv(algorithm, key, iv);
  const ct = c.update(plaintext);
  c.final();
  const tag = c.getAuthTag();
  const d = createDecipheriv(algorithm, key, iv);
  d.setAuthTag(tag);
  const out = d.update(ct);
  d.final();
  return out;
}
function bareRoundTrip(algorithm: string, plaintext: Uint8Array): void {
  sink += bareOpenSealed(algorithm, plaintext).length;
}
/** bareOpenSealed() of each of `parts`, the plaintexts joined into one array as a session hands them over. */
function bareRoundTrips(algorithm: string, parts: readonly Uint8Array[]): void {
  const plain = parts.map((p) => bareOpenSealed(algorithm, p));
  sink += Buffer.concat(plain).length;
}

function sessionPair(provider: CryptoProvider, protocolName = XX) {
  const [s1, s2] = [generateIdentity(provider), generateIdentity(provider)];
  const i = createHandshake({ protocolName, initiator: true, staticKeyPair: s1, provider });
  const r = createHandshake({ protocolName, initiator: false, staticKeyPair: s2, provider });
  r.readMessage(i.writeMessage());
  i.readMessage(r.writeMessage());
  r.readMessage(i.writeMessage());
  return { a: createSession(i.split()), b: createSession(r.split()) };
}

const transport: Record<string, number> = {};
for (const suite of ['ChaChaPoly', 'AESGCM'] as const) {
  const name = suite === 'AESGCM' ? XX_AES : XX;
  for (const size of [64, 65_536]) {
    const payload = new Uint8Array(size).fill(7);
    const label = `${suite} ${size === 64 ? '64 B' : '64 KiB'}`;
    const sessions = { native: sessionPair(nativeProvider, name), noble: sessionPair(nobleProvider, name) };
    const roundTrip = (s: { a: ReturnType<typeof createSession>; b: ReturnType<typeof createSession> }) => () => {
      for (const frame of s.a.seal(payload)) for (const p of s.b.open(frame)) sink += p.length;
    };
    // For 64 KiB, beside the bare call over the whole payload (which no Noise message can be: they
    // stop at 65535 bytes), what a session must do done bare with node:crypto: the two AEAD calls
    // of the messages the payload is cut into (65519 + 17 bytes) and the one copy that joins their
    // plaintexts (node:crypto writes each into a fresh buffer; a payload is handed over whole).
    const two = size > CHUNK_BYTES ? [payload.subarray(0, CHUNK_BYTES), payload.subarray(CHUNK_BYTES)] : null;
    const m = interleaved({
      bare: () => bareRoundTrip(ALGORITHM[suite], payload), native: roundTrip(sessions.native), noble: roundTrip(sessions.noble),
      ...(two ? { twoMessages: () => bareRoundTrips(ALGORITHM[suite], two) } : {}),
    });
    for (const k of ['native', 'noble']) transport[`${k} ${label}`] = m.ratio[k]!;
    if (two) {
      transport[`two messages ${label}`] = m.ratio['twoMessages']!;
      record(`bare node:crypto ${ALGORITHM[suite]}, the two Noise messages of 64 KiB (65519 + 17 B) + the join`, m.rate['twoMessages']!, 'ops/s');
    }
    record(`bare node:crypto ${ALGORITHM[suite]} encrypt+decrypt, ${label}`, m.rate['bare']!, 'ops/s');
    record(`session seal+open (framed), native, ${label}`, m.rate['native']!, 'ops/s');
    record(`session seal+open (framed), noble, ${label}`, m.rate['noble']!, 'ops/s');
  }
  // Record mode, as a link runs it: one 65519-byte record, sealed, framed, cut where a 64 KiB read
  // would cut it, opened from the parts.
  const s = sessionPair(nativeProvider, name);
  const full = new Uint8Array(65_519).fill(7);
  const decoder = new FrameDecoder();
  const m = interleaved({
    bare: () => bareRoundTrip(ALGORITHM[suite], full),
    records: () => {
      for (const bytes of s.a.sealRecord(full)) decoder.feed(bytes);
      for (let parts = decoder.nextParts(); parts; parts = decoder.nextParts()) for (const p of s.b.openRecordParts(parts)) sink += p.length;
    },
  });
  record(`session records (link mode), native, ${suite} 65519 B`, m.rate['records']!, 'ops/s');
  transport[`records ${suite}`] = m.ratio['records']!;
}
if (sink === 42) console.log('');

// --- Ratios and targets -------------------------------------------------------------------------
// Ratios are medians of per-round ratios (see interleaved), not ratios of the medians above.
const tcpRatio = (k: string) => (tlsBench ? tcp.ratio[k]! : Number.NaN);
const ratios: [string, number][] = [
  ['XX in memory, native / X25519 limit', memory.ratio['native']! * 8],
  ['XX in memory, noble / X25519 limit', memory.ratio['noble']! * 8],
  ['XX in memory, native / noble', xxNative / xxNoble],
  ['XX loopback, native / node:tls mTLS', tcpRatio('native')],
  ['XX loopback, noble / node:tls mTLS', tcpRatio('noble')],
  ['XX in memory, native AESGCM / X25519 limit', memory.ratio['nativeAes']! * 8],
  ...(['ChaChaPoly', 'AESGCM'] as const).flatMap((suite): [string, number][] => [
    [`session 64 KiB ${suite}, native / bare`, transport[`native ${suite} 64 KiB`]!],
    [`session 64 KiB ${suite}, noble / bare`, transport[`noble ${suite} 64 KiB`]!],
    [`64 KiB ${suite} as two Noise messages + join, bare node:crypto / bare (what the cut into Noise messages costs)`, transport[`two messages ${suite} 64 KiB`]!],
    [`session 64 KiB ${suite}, native / two messages + join`, transport[`native ${suite} 64 KiB`]! / transport[`two messages ${suite} 64 KiB`]!],
    [`session 64 B ${suite}, native / bare`, transport[`native ${suite} 64 B`]!],
    [`session 64 B ${suite}, noble / bare`, transport[`noble ${suite} 64 B`]!],
    [`session records 65519 B ${suite}, native / bare`, transport[`records ${suite}`]!],
  ]),
];
for (const [name, value] of ratios) results.push({ name, value, unit: 'x' });

writeResults('handshake', results, [
  target('XX pairs/s in memory (native, AESGCM: the links\' suite here) / X25519 limit', memory.ratio['nativeAes']! * 8, '>=', 0.6),
  target('XX over loopback TCP (native) / node:tls TLS 1.3 mTLS', tcpRatio('native'), '>=', 4),
  target('session encrypt+decrypt 64 KiB (native, ChaChaPoly) / bare chacha20-poly1305', transport['native ChaChaPoly 64 KiB']!, '>=', 0.8),
  target('session encrypt+decrypt 64 KiB (native, AESGCM) / bare aes-256-gcm', transport['native AESGCM 64 KiB']!, '>=', 0.8),
]);
process.exit(0);
