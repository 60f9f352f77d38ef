import { createHandshake, generateIdentity, nativeProvider } from '../src/index.ts';
const [s1, s2] = [generateIdentity(nativeProvider), generateIdentity(nativeProvider)];
function pair(p: string) { const i = createHandshake({ protocolName: p, initiator: true, staticKeyPair: s1 }); const r = createHandshake({ protocolName: p, initiator: false, staticKeyPair: s2 }); r.readMessage(i.writeMessage()); i.readMessage(r.writeMessage()); r.readMessage(i.writeMessage()); }
const names = ['Noise_XX_25519_ChaChaPoly_SHA256', 'Noise_XX_25519_AESGCM_SHA256'];
const res: number[][] = [[], []];
for (let r = 0; r < 40; r++) for (const [k, n] of names.entries()) { const t = performance.now(); let c = 0; while (performance.now() - t < 50) { pair(n); c++; } res[k]!.push(c * 1000 / (performance.now() - t)); }
const med = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]!;
console.log(names.map((n, k) => `${n}: ${med(res[k]!).toFixed(0)}`).join('  '), 'ratio aes/chacha per round', med(res[1]!.map((x, i) => x / res[0]![i]!)).toFixed(3));
