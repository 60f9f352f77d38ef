// The cacophony conformance run, shared by conformance-25519.test.ts and conformance-448.test.ts (two
// files so that vitest runs them in parallel). Every handshake message, every transport message
// and the handshake hash must match byte for byte; unsupported suites are listed by name.
import cacophony from '../test-fixtures/cacophony.json' with { type: 'json' };
import { expect } from 'vitest';
import { createHandshake, nativeProvider, nobleProvider, type CryptoProvider, type DhFunction, type Handshake, type KeyPair, type TransportCiphers } from './index.ts';
import { hex, unhex } from './bytes.test-support.ts';

export interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_psks?: string[];
  init_static?: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_psks?: string[];
  resp_static?: string;
  resp_ephemeral?: string;
  resp_remote_static?: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

// A JSON import rather than a file read: the same line loads the fixture on both runtimes.
export const vectors: Vector[] = (cacophony as unknown as { vectors: Vector[] }).vectors;
const isDeno = 'Deno' in globalThis;

// Every vector reuses the same few private keys; deriving each public key once per provider keeps
// the pure-JS 448 run from spending most of its time on the same scalar multiplications.
const publicKeys = new Map<string, KeyPair>();
function derived(provider: CryptoProvider, dh: DhFunction, privateHex: string): KeyPair {
  const id = `${provider.name}:${dh.name}:${privateHex}`;
  let kp = publicKeys.get(id);
  if (!kp) {
    kp = dh.keyPairFromPrivate(unhex(privateHex));
    publicKeys.set(id, kp);
  }
  // A fresh object each time: the engine may cache native key objects per array.
  return { publicKey: kp.publicKey.slice(), privateKey: kp.privateKey.slice() };
}

function side(v: Vector, initiator: boolean, provider: CryptoProvider): Handshake {
  const p = initiator ? 'init' : 'resp';
  const dh = provider.dh(v.protocol_name.split('_')[2] as '25519' | '448')!;
  const pair = (h: string | undefined) => (h === undefined ? undefined : derived(provider, dh, h));
  const get = (k: string) => (v as unknown as Record<string, string | string[] | undefined>)[`${p}_${k}`];
  const options = {
    protocolName: v.protocol_name,
    initiator,
    prologue: unhex(get('prologue') as string),
    ...(get('static') ? { staticKeyPair: pair(get('static') as string)! } : {}),
    ...(get('ephemeral') ? { ephemeralKeyPair: pair(get('ephemeral') as string)! } : {}),
    ...(get('remote_static') ? { remoteStaticKey: unhex(get('remote_static') as string) } : {}),
    ...(get('psks') ? { psks: (get('psks') as string[]).map(unhex) } : {}),
    provider,
  };
  return createHandshake(options);
}

/** Runs one vector; returns null when it reproduces exactly, else what differed first. */
function run(v: Vector, provider: CryptoProvider): string | null {
  const init = side(v, true, provider);
  const resp = side(v, false, provider);
  const oneWay = /^Noise_[NKX](psk\d)?_/.test(v.protocol_name);
  let ciphers: { init: TransportCiphers; resp: TransportCiphers } | null = null;
  for (const [i, m] of v.messages.entries()) {
    const fromInit = oneWay || i % 2 === 0;
    const [sender, receiver] = fromInit ? [init, resp] : [resp, init];
    let wire: Uint8Array;
    let got: Uint8Array;
    if (!ciphers) {
      wire = sender.writeMessage(unhex(m.payload));
      if (hex(wire) !== m.ciphertext) return `handshake message ${i} differs`;
      got = receiver.readMessage(wire);
      if (init.isComplete !== resp.isComplete) return `completion differs after message ${i}`;
      if (init.isComplete) {
        if (hex(init.handshakeHash) !== v.handshake_hash || hex(resp.handshakeHash) !== v.handshake_hash) return 'handshake hash differs';
        ciphers = { init: init.split(), resp: resp.split() };
      }
    } else {
      const [s, r] = fromInit ? [ciphers.init, ciphers.resp] : [ciphers.resp, ciphers.init];
      wire = s.send.encrypt(unhex(m.payload));
      if (hex(wire) !== m.ciphertext) return `transport message ${i} differs`;
      got = r.receive.decrypt(wire);
    }
    if (hex(got) !== m.payload) return `payload ${i} not recovered`;
  }
  return ciphers ? null : 'handshake did not complete';
}

function supports(provider: CryptoProvider, name: string): boolean {
  const [, , dh, cipher, hash] = name.split('_') as [string, string, '25519' | '448', 'ChaChaPoly' | 'AESGCM', 'SHA256' | 'SHA512' | 'BLAKE2b' | 'BLAKE2s'];
  return Boolean(provider.dh(dh) && provider.cipher(cipher) && provider.hash(hash));
}

export function checkProvider(provider: CryptoProvider, dhName: '25519' | '448'): void {
  const selected = vectors.filter((v) => v.protocol_name.split('_')[2] === dhName);
  const unsupported: string[] = [];
  const failed: string[] = [];
  let passed = 0;
  for (const v of selected) {
    if (!supports(provider, v.protocol_name)) {
      unsupported.push(v.protocol_name);
      continue;
    }
    let problem: string | null;
    try {
      problem = run(v, provider);
    } catch (err) {
      problem = `threw ${(err as Error).message}`;
    }
    if (problem) failed.push(`${v.protocol_name}: ${problem}`);
    else passed++;
  }
  const ran = selected.length - unsupported.length;
  console.log(`[conformance] ${provider.name} (${isDeno ? 'deno' : 'node'}), ${dhName} suites: ${ran} of ${selected.length} vectors ran, ${passed} passed, ${unsupported.length} unsupported${unsupported.length ? `:\n  ${unsupported.join('\n  ')}` : ''}`);
  expect(failed).toEqual([]);
  expect(passed).toBe(ran);
  // The product's suites are all 25519: those must run everywhere.
  if (dhName === '25519') expect(unsupported).toEqual([]);
  // Node's OpenSSL and noble have every function: nothing may be skipped there.
  if (!isDeno || provider.name === 'noble') expect(unsupported).toEqual([]);
}
