// `npm start`. The reference daemon (distkitd) does not exist yet, so this runs a small demo of
// @distkit/wire instead and says so: it encodes an "I am here" heartbeat, shows its size against
// the datagram budget, decodes it, then shows how tampered bytes are refused with a coded error.
import { MAX_DATAGRAM_BYTES, WireError, decodeHeartbeat, encodeHeartbeat } from '@distkit/wire';

console.log('distkitd is not built yet (see the open daemon issue): running the @distkit/wire demo instead.\n');
const id = new Uint8Array(32).map((_, i) => i);
const heartbeat = {
  cluster: 'demo',
  from: { id, name: 'alpha@localhost' },
  incarnation: 1,
  seq: 42,
  sentAt: Math.round(performance.now()),
  view: { connected: 2, lowest: id, oldest: { id, startedAt: Date.now() }, referee: false, hash: new Uint8Array(16) },
};
const bytes = encodeHeartbeat(heartbeat);
console.log(`heartbeat: ${bytes.length} bytes (+16-byte tag) of a ${MAX_DATAGRAM_BYTES}-byte datagram budget`);
console.log(`decoded:   ${JSON.stringify(decodeHeartbeat(bytes), (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))}`);
for (const [what, bad] of [
  ['truncated', bytes.subarray(0, bytes.length - 3)],
  ['trailing byte', Uint8Array.from([...bytes, 0])],
  ['newer major version', Uint8Array.from(bytes, (b, i) => (i === 2 ? 9 : b))],
]) {
  try {
    decodeHeartbeat(bad);
    console.log(`${what}: accepted (unexpected!)`);
    process.exitCode = 1;
  } catch (err) {
    console.log(`${what.padEnd(20)} -> ${err instanceof WireError ? `WireError ${err.code}: ${err.message}` : err}`);
  }
}
