import * as tls from 'node:tls';
import { mutualTlsCertificates } from '../../../tooling/bench/tls.ts';
const certs = mutualTlsCertificates() as unknown as Record<string, string>;
const size = Number(process.argv[2] ?? 65536), window = Number(process.argv[3] ?? 32), ms = Number(process.argv[4] ?? 3000);
let got = 0, want = Infinity, wake: (() => void) | null = null;
const server = tls.createServer({ key: certs['serverKey'], cert: certs['serverCert'], ca: [certs['clientCert']!], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => s.on('data', (d: Buffer) => { got += d.length; if (got >= want && wake) { const w = wake; wake = null; w(); } }));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as { port: number }).port;
const client: tls.TLSSocket = await new Promise((resolve) => { const s = tls.connect({ host: '127.0.0.1', port, key: certs['clientKey'], cert: certs['clientCert'], ca: [certs['serverCert']!], minVersion: 'TLSv1.3' }, () => resolve(s)); s.setNoDelay(true); });
const chunk = new Uint8Array(size).fill(0x5a);
const start = performance.now(); let units = 0; const cpu0 = process.cpuUsage();
while (performance.now() - start < ms) {
  const done = new Promise<void>((r) => { want = got + size * window; wake = r; });
  for (let i = 0; i < window; i++) client.write(chunk);
  await done; got = 0; want = Infinity; units += window;
}
const el = performance.now() - start; const cpu = process.cpuUsage(cpu0);
console.log(`tls ${size} B: ${(units * size / el / 1000).toFixed(1)} MB/s, cpu ${((cpu.user + cpu.system) / units).toFixed(2)} us/msg (user ${(cpu.user / units).toFixed(2)}, sys ${(cpu.system / units).toFixed(2)}), cipher ${client.getCipher().name}`);
process.exit(0);
