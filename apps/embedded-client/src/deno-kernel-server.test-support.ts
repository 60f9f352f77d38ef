// The "server" of the reverse cross-runtime test, run with `deno run`: two kernel nodes in one
// Deno process (kernel@deno, linked to peer@deno), strict trust, the client's key authorized.
// Prints JSON lines: `ready` (port and key), then every event and message of kernel@deno. Echoes
// each message back to its sender as { echo: value }. SIGTERM: graceful stop.
// Usage: deno run <permissions> deno-kernel-server.test-support.ts CLIENT_NAME CLIENT_PUBLIC_KEY_LINE
import process from 'node:process';
import { TrustStore, formatPublicKey, formatTrustEntry, generateIdentity, parsePublicKey } from '@distkit/handshake';
import { createNode } from '@distkit/kernel';

const [clientName, clientKey] = process.argv.slice(2);
if (!clientName || !clientKey) throw new Error('usage: CLIENT_NAME CLIENT_PUBLIC_KEY_LINE');
const server = generateIdentity();
const peer = generateIdentity();
const trusted = [
  { name: clientName, key: parsePublicKey(clientKey).publicKey, options: {} },
  { name: 'kernel@deno', key: server.publicKey, options: {} },
  { name: 'peer@deno', key: peer.publicKey, options: {} },
];
const store = new TrustStore({ mode: 'strict', authorizedNodes: trusted.map((e) => formatTrustEntry(e)).join('\n') });
const kernel = createNode({ name: 'kernel@deno', cluster: 'cross', identity: server, incarnation: 1, trust: { store }, autoConnect: 'never' });
await kernel.start();
const other = createNode({
  name: 'peer@deno', cluster: 'cross', identity: peer, incarnation: 1, trust: { store }, autoConnect: 'once',
  peers: [{ name: 'kernel@deno', address: kernel.address, publicKey: server.publicKey }],
});
await other.start();
await other.connectNode('kernel@deno');

const say = (line: Record<string, unknown>) => console.log(JSON.stringify(line));
void (async () => {
  for await (const e of kernel.events()) say({ ...e, kind: 'event' });
})();
void (async () => {
  for await (const m of kernel.messages()) {
    say({ type: 'message', from: m.from, value: m.value });
    await kernel.send(m.from, { echo: m.value });
  }
})();
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void Promise.all([kernel.stop(), other.stop()]).then(() => process.exit(0));
});
/** Deno's global, present only when this file runs under Deno. */
declare const Deno: unknown;
say({ type: 'ready', runtime: typeof Deno === 'undefined' ? 'node' : 'deno', port: kernel.address.port, publicKey: formatPublicKey(server.publicKey).trim() });
