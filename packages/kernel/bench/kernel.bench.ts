// Kernel benchmarks (issue: kernel). Every figure is paired with an anchor measured in the same
// run on the same loopback: node:tls 1.3 (mutual certificates) and plain TCP (the ceiling).
//   - 64 KiB messages over one link, MB/s          target >= 0.8x node:tls
//   - 128-byte messages, messages/s, same batching target >= 1x node:tls
//   - connectNode -> nodeup latency               target <= 1x a TLS 1.3 mTLS connect
//   - memory per idle link
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { pack, unpack } from 'msgpackr';
import * as tls from 'node:tls';
import { TrustStore, formatTrustEntry, generateIdentity } from '@distkit/handshake';
import { median, target, writeResults, type Result } from '../../../tooling/bench/report.ts';
import { mutualTlsCertificates } from '../../../tooling/bench/tls.ts';
import { createNode, type DistkitNode } from '../src/index.ts';

const ROUNDS = 7;

// ---- anchors: a byte pipe over plain TCP or TLS 1.3 with mutual certificates ----------------
const tlsFiles = mutualTlsCertificates();
if (!tlsFiles) throw new Error('the openssl CLI is needed for the node:tls anchors (apt-get install openssl)');
const certs = tlsFiles as unknown as Record<string, string>;

interface Pipe {
  send(chunk: Uint8Array): void;
  /** Resolves once `bytes` more bytes have arrived at the far end. */
  received(bytes: number): Promise<void>;
  close(): void;
}

/**
 * `framed`: what a user would build on node:tls to send messages: each value msgpack-packed behind
 * a 4-byte length, parsed and unpacked one by one at the far end. Progress is counted in messages.
 */
async function socketPipe(kind: 'tcp' | 'tls', framed = false): Promise<Pipe> {
  let got = 0;
  let want = Infinity;
  let wake: (() => void) | null = null;
  let pending: Buffer = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    if (framed) {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      let at = 0;
      while (pending.length - at >= 4) {
        const n = pending.readUInt32BE(at);
        if (pending.length - at - 4 < n) break;
        unpack(pending.subarray(at + 4, at + 4 + n));
        got++;
        at += 4 + n;
      }
      pending = pending.subarray(at);
    } else got += d.length;
    if (got >= want && wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const server = kind === 'tls'
    ? tls.createServer({ key: certs['serverKey'], cert: certs['serverCert'], ca: [certs['clientCert']!], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => s.on('data', onData))
    : createServer((s) => { s.setNoDelay(true); s.on('data', onData); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const client: Socket = await new Promise((resolve) => {
    if (kind === 'tls') {
      const s = tls.connect({ host: '127.0.0.1', port, key: certs['clientKey'], cert: certs['clientCert'], ca: [certs['serverCert']!], minVersion: 'TLSv1.3' }, () => resolve(s));
      s.setNoDelay(true);
    } else {
      const s = netConnect(port, '127.0.0.1', () => resolve(s));
      s.setNoDelay(true);
    }
  });
  return {
    send: framed
      ? (chunk) => {
        const body = pack(chunk);
        const head = Buffer.alloc(4);
        head.writeUInt32BE(body.length);
        client.write(head);
        client.write(body);
      }
      : (chunk) => void client.write(chunk),
    received: (bytes) => new Promise<void>((resolve) => {
      want = got + bytes;
      if (got >= want) resolve();
      else wake = resolve;
    }).then(() => { got = 0; want = Infinity; }),
    close: () => { client.destroy(); server.close(); },
  };
}

// ---- distkit: two kernels and one link ---------------------------------------------------------
async function kernelPair(): Promise<{ a: DistkitNode; b: DistkitNode; pipe: Pipe }> {
  const ids = [generateIdentity(), generateIdentity()];
  const store = new TrustStore({ mode: 'strict', authorizedNodes: ['a', 'b'].map((n, i) => formatTrustEntry({ name: n, key: ids[i]!.publicKey, options: {} })).join('\n') });
  const mk = (name: string, i: number, peer: string, port: number) => createNode({
    name, cluster: 'bench', identity: ids[i]!, incarnation: 1, listen: { host: '127.0.0.1', port: 0 },
    trust: { store }, connectAtStart: false, peers: port ? [{ name: peer, address: { host: '127.0.0.1', port } }] : [],
    handshakesPerSecondPerAddress: 10_000, // the latency loop reconnects from 127.0.0.1 many times a second
  });
  const b = mk('b', 1, 'a', 0);
  await b.start();
  const a = mk('a', 0, 'b', b.address.port);
  await a.start();
  await a.connectNode('b');
  let count = 0;
  let want = Infinity;
  let wake: (() => void) | null = null;
  void (async () => {
    for await (const _m of b.messages()) {
      count++;
      if (count >= want && wake) {
        const w = wake;
        wake = null;
        w();
      }
    }
  })();
  return {
    a, b,
    pipe: {
      send: (chunk) => void a.send('b', chunk),
      // For the kernel, "bytes" is counted in messages of the size being sent.
      received: (messages) => new Promise<void>((resolve) => {
        want = count + messages;
        if (count >= want) resolve();
        else wake = resolve;
      }).then(() => { count = 0; want = Infinity; }),
      close: () => {},
    },
  };
}

/** Units per second of sending `window` chunks of `size` bytes and waiting for them, over `ms`. */
async function throughput(pipe: Pipe, size: number, window: number, ms: number, countsMessages: boolean): Promise<number> {
  const chunk = new Uint8Array(size).fill(0x5a);
  const start = performance.now();
  let units = 0;
  while (performance.now() - start < ms) {
    const done = pipe.received(countsMessages ? window : size * window);
    for (let i = 0; i < window; i++) pipe.send(chunk);
    await done;
    units += window;
  }
  return (units * 1000) / (performance.now() - start);
}

const results: Result[] = [];
const k = await kernelPair();
const tlsPipe = await socketPipe('tls');
const tcpPipe = await socketPipe('tcp');
const tlsFramed = await socketPipe('tls', true);

async function interleave(size: number, window: number, ms: number) {
  const r = { kernel: [] as number[], tls: [] as number[], tcp: [] as number[] };
  await throughput(k.pipe, size, window, 200, true);
  await throughput(tlsPipe, size, window, 200, false);
  await throughput(tcpPipe, size, window, 200, false);
  for (let i = 0; i < ROUNDS; i++) {
    r.kernel.push(await throughput(k.pipe, size, window, ms, true));
    r.tls.push(await throughput(tlsPipe, size, window, ms, false));
    r.tcp.push(await throughput(tcpPipe, size, window, ms, false));
  }
  const ratio = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / ys[i]!));
  return {
    kernel: median(r.kernel), tls: median(r.tls), tcp: median(r.tcp),
    vsTls: ratio(r.kernel, r.tls), vsTcp: ratio(r.kernel, r.tcp), tlsVsTcp: ratio(r.tls, r.tcp),
  };
}

const big = await interleave(64 * 1024, 32, 400);
const MB = (64 * 1024) / 1e6;
results.push(
  { name: '64 KiB messages, distkit link', value: big.kernel * MB, unit: 'MB/s' },
  { name: '64 KiB messages, node:tls 1.3 (anchor)', value: big.tls * MB, unit: 'MB/s' },
  { name: '64 KiB messages, plain TCP (ceiling)', value: big.tcp * MB, unit: 'MB/s' },
  { name: '64 KiB: distkit / plain TCP', value: big.vsTcp, unit: 'ratio' },
  { name: '64 KiB: node:tls / plain TCP', value: big.tlsVsTcp, unit: 'ratio' },
);
const small = await interleave(128, 256, 300);
const framedRates: number[] = [];
for (let i = 0; i < ROUNDS; i++) framedRates.push(await throughput(tlsFramed, 128, 256, 300, true));
tlsFramed.close();

results.push(
  { name: '128 B messages, distkit link', value: small.kernel, unit: 'msg/s' },
  { name: '128 B messages, node:tls 1.3 (anchor)', value: small.tls, unit: 'msg/s' },
  { name: '128 B messages, plain TCP (ceiling)', value: small.tcp, unit: 'msg/s' },
  { name: '128 B: distkit / plain TCP', value: small.vsTcp, unit: 'ratio' },
  { name: '128 B: node:tls / plain TCP', value: small.tlsVsTcp, unit: 'ratio' },
  { name: '128 B messages, node:tls + msgpack framing (user-level equivalent)', value: median(framedRates), unit: 'msg/s' },
);
tlsPipe.close();
tcpPipe.close();

// ---- connect latency: connectNode -> nodeup vs a TLS 1.3 mTLS connect --------------------------
async function kernelConnectMs(): Promise<number> {
  await k.a.disconnectNode('b');
  while (k.b.nodes().length > 0 || k.a.nodes().length > 0) await new Promise((r) => setTimeout(r, 1));
  const t0 = performance.now();
  await k.a.connectNode('b');
  return performance.now() - t0;
}
const tlsServer = tls.createServer({ key: certs['serverKey'], cert: certs['serverCert'], ca: [certs['clientCert']!], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => s.end());
tlsServer.on('tlsClientError', () => {});
await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
const tlsPort = (tlsServer.address() as { port: number }).port;
function tlsConnectMs(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, key: certs['clientKey'], cert: certs['clientCert'], ca: [certs['serverCert']!], minVersion: 'TLSv1.3' }, () => {
      const ms = performance.now() - t0;
      s.destroy();
      resolve(ms);
    });
    s.on('error', reject);
  });
}
const lat = { kernel: [] as number[], tls: [] as number[] };
for (let i = 0; i < 10; i++) { await kernelConnectMs(); await tlsConnectMs(); }
for (let i = 0; i < 60; i++) {
  lat.kernel.push(await kernelConnectMs());
  lat.tls.push(await tlsConnectMs());
}
tlsServer.close();
const kernelLatency = median(lat.kernel);
const tlsLatency = median(lat.tls);
results.push(
  { name: 'connectNode -> nodeup (median)', value: kernelLatency, unit: 'ms' },
  { name: 'TLS 1.3 mTLS connect (anchor, median)', value: tlsLatency, unit: 'ms' },
);
await k.a.stop();
await k.b.stop();

// ---- memory per idle link: one hub linked to many kernels in this process ------------------------
const gc = (globalThis as { gc?: () => void }).gc;
async function heap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}
const LINKS = 100;
const hubId = generateIdentity();
const spokeIds = Array.from({ length: LINKS }, () => generateIdentity());
const store = new TrustStore({ mode: 'strict', authorizedNodes: [
  formatTrustEntry({ name: 'hub', key: hubId.publicKey, options: {} }),
  ...spokeIds.map((id, i) => formatTrustEntry({ name: `s${i}`, key: id.publicKey, options: {} })),
].join('\n') });
const hub = createNode({
  name: 'hub', cluster: 'bench', identity: hubId, incarnation: 1, trust: { store }, connectAtStart: false, heartbeatIntervalMs: 60_000,
  handshakesPerSecondPerAddress: 10_000, // every spoke dials from 127.0.0.1
});
await hub.start();
const spokes = spokeIds.map((id, i) => createNode({
  name: `s${i}`, cluster: 'bench', identity: id, incarnation: 1, trust: { store }, connectAtStart: false, heartbeatIntervalMs: 60_000,
  peers: [{ name: 'hub', address: hub.address }],
}));
for (const s of spokes) await s.start();
const before = await heap();
for (const s of spokes) await s.connectNode('hub');
while (hub.nodes().length < LINKS) await new Promise((r) => setTimeout(r, 5));
const after = await heap();
const perLinkEnd = (after - before) / (2 * LINKS); // both ends of every link live in this process
results.push({ name: `memory per idle link end (${LINKS} links, ${gc ? 'after gc' : 'no gc available'})`, value: perLinkEnd, unit: 'bytes' });
for (const s of spokes) await s.stop();
await hub.stop();

writeResults('kernel', results, [
  target('64 KiB throughput vs node:tls', big.vsTls, '>=', 0.8),
  target('128 B messages/s vs node:tls', small.vsTls, '>=', 1),
  target('connectNode latency vs TLS 1.3 mTLS connect', kernelLatency / tlsLatency, '<=', 1),
]);
process.exit(0);
