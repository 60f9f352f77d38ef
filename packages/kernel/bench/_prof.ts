import { TrustStore, formatTrustEntry, generateIdentity } from '@distkit/handshake';
import { createNode } from '@distkit/kernel';
const size = Number(process.argv[2] ?? 128);
const window = Number(process.argv[3] ?? 256);
const ms = Number(process.argv[4] ?? 4000);
const ids = [generateIdentity(), generateIdentity()];
const store = new TrustStore({ mode: 'strict', authorizedNodes: ['a', 'b'].map((n, i) => formatTrustEntry({ name: n, key: ids[i]!.publicKey, options: {} })).join('\n') });
const mk = (name: string, i: number, peer: string, port: number) => createNode({
  name, cluster: 'bench', identity: ids[i]!, incarnation: 1, listen: { host: '127.0.0.1', port: 0 },
  trust: { store }, connectAtStart: false, peers: port ? [{ name: peer, address: { host: '127.0.0.1', port } }] : [],
});
const b = mk('b', 1, 'a', 0); await b.start();
const a = mk('a', 0, 'b', b.address.port); await a.start();
await a.connectNode('b');
let count = 0; let want = Infinity; let wake: (() => void) | null = null;
void (async () => { for await (const _m of b.messages()) { count++; if (count >= want && wake) { const w = wake; wake = null; w(); } } })();
const chunk = new Uint8Array(size).fill(0x5a);
const start = performance.now(); let units = 0; const cpu0 = process.cpuUsage();
while (performance.now() - start < ms) {
  const done = new Promise<void>((r) => { want = count + window; wake = r; });
  for (let i = 0; i < window; i++) void a.send('b', chunk);
  await done; count = 0; want = Infinity; units += window;
}
const el = performance.now() - start; const cpu = process.cpuUsage(cpu0);
console.log(`${size} B: ${(units * 1000 / el).toFixed(0)} msg/s, ${(units * size / el / 1000).toFixed(1)} MB/s, cpu ${((cpu.user + cpu.system) / units).toFixed(2)} us/msg (user ${(cpu.user / units).toFixed(2)}, sys ${(cpu.system / units).toFixed(2)}), cpu-limited ${(units * size / ((cpu.user + cpu.system) / 1e6) / 1e6).toFixed(0)} MB/s`);
await a.stop(); await b.stop();
process.exit(0);
