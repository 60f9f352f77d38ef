import { createHandshake, generateIdentity, nativeProvider } from '../src/index.ts';
const XX = process.argv[2] ?? 'Noise_XX_25519_ChaChaPoly_SHA256';
const [s1, s2] = [generateIdentity(nativeProvider), generateIdentity(nativeProvider)];
let sink = 0;
const t = performance.now(); let n = 0;
while (performance.now() - t < 4000) {
  const i = createHandshake({ protocolName: XX, initiator: true, staticKeyPair: s1, provider: nativeProvider });
  const r = createHandshake({ protocolName: XX, initiator: false, staticKeyPair: s2, provider: nativeProvider });
  r.readMessage(i.writeMessage()); i.readMessage(r.writeMessage()); r.readMessage(i.writeMessage());
  sink += i.split().send.nonce; n++;
}
console.log((n * 1000 / (performance.now() - t)).toFixed(0), 'pairs/s', sink);
