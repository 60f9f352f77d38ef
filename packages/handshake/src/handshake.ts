// Noise §5.3 HandshakeState: a generic engine that walks a pattern's token lists.
import { NoiseCipherState, SymmetricState, MAX_MESSAGE_BYTES, TAG_BYTES, type CipherState } from './cipher-state.ts';
import { defaultProvider } from './crypto/default-provider.ts';
import type { CryptoProvider, DhFunction, KeyPair } from './crypto/provider.ts';
import { HandshakeError } from './errors.ts';
import type { Role, Token } from './patterns.ts';
import { parseProtocolName } from './protocol.ts';

export interface HandshakeOptions {
  /** Full Noise protocol name, e.g. `Noise_XX_25519_ChaChaPoly_SHA256`. */
  readonly protocolName: string;
  readonly initiator: boolean;
  /** Bytes both sides must agree on (not sent). Default: empty. */
  readonly prologue?: Uint8Array;
  /** This side's static key pair, when the pattern uses one. */
  readonly staticKeyPair?: KeyPair;
  /**
   * The peer's static public key. Required when the pattern has it as a pre-message (IK, NK, ...);
   * otherwise it pins the key the peer must send (XX): anything else fails with REMOTE_KEY_MISMATCH.
   */
  readonly remoteStaticKey?: Uint8Array;
  /**
   * Pre-shared keys (32 bytes), one per `psk` token in order. An entry may be a keyring: a list
   * whose first key is used when this side writes the psk message, and each of which is tried
   * when it reads it (cluster-secret rotation).
   */
  readonly psks?: readonly (Uint8Array | readonly Uint8Array[])[];
  /** Tests only: a fixed ephemeral key pair (the conformance vectors need it). */
  readonly ephemeralKeyPair?: KeyPair;
  /**
   * Where the ephemeral private key comes from (DHLEN bytes): the kernel passes its Transport's
   * randomness, so that a simulator seed replays a handshake byte for byte. Default: the
   * provider's CSPRNG.
   */
  readonly randomBytes?: (n: number) => Uint8Array;
  /** The peer's ephemeral public key, only for patterns with an `e` pre-message (fallback). */
  readonly remoteEphemeralKey?: Uint8Array;
  /** Crypto implementation; default: native where it works, else noble. */
  readonly provider?: CryptoProvider;
}

/** The two transport ciphers after the handshake, seen from this side. */
export interface TransportCiphers {
  readonly send: CipherState;
  readonly receive: CipherState;
}

export interface Handshake {
  readonly protocolName: string;
  readonly initiator: boolean;
  /** Produces the next handshake message carrying `payload` (encrypted once a key exists). */
  writeMessage(payload?: Uint8Array): Uint8Array;
  /** Consumes the peer's next handshake message and returns its payload. */
  readMessage(message: Uint8Array): Uint8Array;
  /** True once the last message was written or read. */
  readonly isComplete: boolean;
  /** Whose turn it is: `write`, `read`, or `done`. */
  readonly nextAction: 'write' | 'read' | 'done';
  /** The peer's static key once known (received, or given as a pre-message), else null. */
  readonly remoteStaticKey: Uint8Array | null;
  /** Noise's channel-binding value h (final once complete). */
  readonly handshakeHash: Uint8Array;
  /** For each psk slot, which entry of its keyring was used (0 = the first). */
  readonly pskIndices: readonly number[];
  /** The transport ciphers; only once complete. */
  split(): TransportCiphers;
}

const EMPTY = new Uint8Array(0);
const NO_PSK: readonly number[] = [];

/** Creates one side of a Noise handshake. Throws HandshakeError for bad options. */
export function createHandshake(options: HandshakeOptions): Handshake {
  return new NoiseHandshake(options);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

interface Snapshot {
  ck: Uint8Array;
  h: Uint8Array;
  cipher: { key: Uint8Array | null; n: number };
  re: Uint8Array | null;
  rs: Uint8Array | null;
  pskSlot: number;
  psk: number[];
}

const config = (message: string) => new HandshakeError('INVALID_CONFIG', message);

class NoiseHandshake implements Handshake {
  readonly protocolName: string;
  readonly initiator: boolean;
  readonly #role: Role;
  readonly #messages: readonly { from: Role; tokens: readonly Token[] }[];
  readonly #dh: DhFunction;
  readonly #randomBytes: ((n: number) => Uint8Array) | undefined;
  readonly #psks: readonly (readonly Uint8Array[])[];
  readonly #isPsk: boolean;
  readonly #pinned: Uint8Array | null;
  #ss: SymmetricState;
  #s: KeyPair | null;
  #e: KeyPair | null;
  #rs: Uint8Array | null;
  #re: Uint8Array | null;
  #index = 0;
  #pskSlot = 0;
  #pskIndices: number[] = [];
  #ciphers: [NoiseCipherState, NoiseCipherState] | null = null;
  #failure: HandshakeError | null = null;

  constructor(o: HandshakeOptions) {
    if (o === null || typeof o !== 'object') throw config('options must be an object');
    const spec = parseProtocolName(o.protocolName);
    const provider = o.provider ?? defaultProvider();
    const dh = provider.dh(spec.dh);
    const aead = provider.cipher(spec.cipher);
    const hash = provider.hash(spec.hash);
    const missing = !dh ? `DH ${spec.dh}` : !aead ? `cipher ${spec.cipher}` : !hash ? `hash ${spec.hash}` : null;
    if (!dh || !aead || !hash) {
      throw new HandshakeError('UNSUPPORTED_PROTOCOL', `crypto provider '${provider.name}' lacks ${missing} on this runtime`);
    }
    if (typeof o.initiator !== 'boolean') throw config('initiator must be a boolean');
    this.protocolName = spec.name;
    this.initiator = o.initiator;
    this.#role = o.initiator ? 'initiator' : 'responder';
    this.#messages = spec.pattern.messages;
    this.#dh = dh;
    if (o.randomBytes !== undefined && typeof o.randomBytes !== 'function') throw config('randomBytes must be a function');
    this.#randomBytes = o.randomBytes;

    const key = (k: Uint8Array | undefined, what: string): Uint8Array | null => {
      if (k === undefined) return null;
      if (!(k instanceof Uint8Array) || k.length !== dh.dhLen) throw config(`${what} must be a ${dh.dhLen}-byte Uint8Array`);
      return k;
    };
    const pair = (kp: KeyPair | undefined, what: string): KeyPair | null => {
      if (kp === undefined) return null;
      key(kp?.publicKey, `${what}.publicKey`);
      key(kp.privateKey, `${what}.privateKey`);
      return kp;
    };
    this.#s = pair(o.staticKeyPair, 'staticKeyPair');
    this.#e = pair(o.ephemeralKeyPair, 'ephemeralKeyPair');
    const remoteStatic = key(o.remoteStaticKey, 'remoteStaticKey');
    this.#re = key(o.remoteEphemeralKey, 'remoteEphemeralKey');
    if (o.prologue !== undefined && !(o.prologue instanceof Uint8Array)) throw config('prologue must be a Uint8Array');

    const psks = o.psks ?? [];
    if (!Array.isArray(psks) || psks.length !== spec.pattern.pskCount) {
      throw config(`psks: pattern ${spec.pattern.name} needs ${spec.pattern.pskCount} pre-shared key(s), got ${Array.isArray(psks) ? psks.length : 'none'}`);
    }
    this.#psks = psks.map((p, i) => {
      const ring = p instanceof Uint8Array ? [p] : p;
      if (!Array.isArray(ring) || ring.length === 0 || !ring.every((k) => k instanceof Uint8Array && k.length === 32)) {
        throw config(`psks[${i}] must be a 32-byte Uint8Array or a non-empty list of them`);
      }
      return ring;
    });
    this.#isPsk = spec.pattern.pskCount > 0;

    // What this side must hold: its own s if it ever sends s or uses it in a DH, and so on.
    const mine = spec.pattern.preMessages[this.#role];
    const theirs = spec.pattern.preMessages[this.initiator ? 'responder' : 'initiator'];
    const needS = mine.includes('s') || this.#messages.some((m) =>
      m.tokens.some((t) => (t === 's' && m.from === this.#role) || t === 'ss' || t === (this.initiator ? 'se' : 'es')));
    if (needS && !this.#s) throw config(`staticKeyPair is required: pattern ${spec.pattern.name} uses this side's static key`);
    if (mine.includes('e') && !this.#e) throw config(`ephemeralKeyPair is required: pattern ${spec.pattern.name} has it as a pre-message`);
    if (theirs.includes('s') && !remoteStatic) throw config(`remoteStaticKey is required: pattern ${spec.pattern.name} has it as a pre-message`);
    if (theirs.includes('e') && !this.#re) throw config(`remoteEphemeralKey is required: pattern ${spec.pattern.name} has it as a pre-message`);
    const peerRole = this.initiator ? 'responder' : 'initiator';
    const peerSendsS = this.#messages.some((m) => m.from === peerRole && m.tokens.includes('s'));
    if (remoteStatic && !theirs.includes('s') && !peerSendsS) {
      // Silently ignoring a pin would let a caller believe an unauthenticated peer was checked.
      throw config(`remoteStaticKey cannot be used: in pattern ${spec.pattern.name} the ${peerRole} has no static key`);
    }
    this.#rs = theirs.includes('s') ? remoteStatic : null;
    this.#pinned = theirs.includes('s') ? null : remoteStatic;

    this.#ss = new SymmetricState(spec.name, hash, aead);
    this.#ss.mixHash(o.prologue ?? EMPTY);
    // Pre-messages: the initiator's keys first, then the responder's (Noise §5.3 Initialize).
    for (const side of ['initiator', 'responder'] as const) {
      for (const t of spec.pattern.preMessages[side]) {
        const k = side === this.#role ? (t === 's' ? this.#s! : this.#e!).publicKey : (t === 's' ? this.#rs! : this.#re!);
        this.#ss.mixHash(k);
        if (t === 'e' && this.#isPsk) this.#ss.mixKey(k);
      }
    }
  }

  get isComplete(): boolean {
    return this.#ciphers !== null;
  }

  get nextAction(): 'write' | 'read' | 'done' {
    if (this.#ciphers) return 'done';
    return this.#messages[this.#index]!.from === this.#role ? 'write' : 'read';
  }

  get remoteStaticKey(): Uint8Array | null {
    return this.#rs;
  }

  get handshakeHash(): Uint8Array {
    return this.#ss.h.slice();
  }

  get pskIndices(): readonly number[] {
    return this.#pskIndices.slice();
  }

  split(): TransportCiphers {
    this.#alive();
    if (!this.#ciphers) throw new HandshakeError('UNEXPECTED_MESSAGE', 'split() before the handshake is complete');
    const [c1, c2] = this.#ciphers;
    return this.initiator ? { send: c1, receive: c2 } : { send: c2, receive: c1 };
  }

  #alive(): void {
    if (this.#failure) throw this.#failure;
  }

  /** Runs `step`; any error kills the handshake, and every later call throws that same error. */
  #guard<T>(step: () => T): T {
    this.#alive();
    try {
      return step();
    } catch (err) {
      this.#failure = err instanceof HandshakeError
        ? err
        : new HandshakeError('INVALID_KEY', `handshake failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      throw this.#failure;
    }
  }

  #expect(action: 'write' | 'read'): readonly Token[] {
    const next = this.nextAction;
    if (next !== action) {
      throw new HandshakeError('UNEXPECTED_MESSAGE', next === 'done'
        ? `${action}Message after the handshake completed`
        : `${action}Message out of turn: the ${this.initiator ? 'initiator' : 'responder'} must ${next} message ${this.#index + 1} now`);
    }
    return this.#messages[this.#index]!.tokens;
  }

  #mixDh(token: 'ee' | 'es' | 'se' | 'ss'): void {
    // es: initiator's e with responder's s; se: initiator's s with responder's e (Noise §5.3).
    const mineKind = token === 'ee' ? 'e' : token === 'ss' ? 's' : (this.initiator ? token[0] : token[1]);
    const theirKind = token === 'ee' ? 'e' : token === 'ss' ? 's' : (this.initiator ? token[1] : token[0]);
    const mine = mineKind === 'e' ? this.#e : this.#s;
    const theirs = theirKind === 'e' ? this.#re : this.#rs;
    if (!mine || !theirs) throw new HandshakeError('INVALID_CONFIG', `token ${token} needs keys this side does not hold`);
    let shared: Uint8Array;
    try {
      shared = this.#dh.dh(mine, theirs);
    } catch (cause) {
      throw new HandshakeError('INVALID_KEY', `DH for ${token} failed: the peer's public key is invalid (low order?)`, { cause });
    }
    this.#ss.mixKey(shared);
  }

  writeMessage(payload: Uint8Array = EMPTY): Uint8Array {
    return this.#guard(() => {
      const tokens = this.#expect('write');
      if (!(payload instanceof Uint8Array)) throw new HandshakeError('INVALID_CONFIG', 'payload must be a Uint8Array');
      const parts: Uint8Array[] = [];
      for (const t of tokens) {
        if (t === 'e') {
          this.#e ??= this.#randomBytes ? this.#dh.keyPairFromPrivate(this.#randomBytes(this.#dh.dhLen)) : this.#dh.generateKeyPair();
          parts.push(this.#e.publicKey);
          this.#ss.mixHash(this.#e.publicKey);
          if (this.#isPsk) this.#ss.mixKey(this.#e.publicKey);
        } else if (t === 's') {
          parts.push(this.#ss.encryptAndHash(this.#s!.publicKey));
        } else if (t === 'psk') {
          this.#pskIndices[this.#pskSlot] = 0;
          this.#ss.mixKeyAndHash(this.#psks[this.#pskSlot++]![0]!);
        } else {
          this.#mixDh(t);
        }
      }
      const before = parts.reduce((n, p) => n + p.length, 0);
      const overhead = this.#ss.cipher.hasKey ? TAG_BYTES : 0;
      if (before + payload.length + overhead > MAX_MESSAGE_BYTES) {
        throw new HandshakeError('BAD_MESSAGE_LENGTH', `handshake message would be ${before + payload.length + overhead} bytes, over Noise's ${MAX_MESSAGE_BYTES}`);
      }
      parts.push(this.#ss.encryptAndHash(payload));
      const out = concat(parts);
      this.#advance();
      return out;
    });
  }

  readMessage(message: Uint8Array): Uint8Array {
    return this.#guard(() => {
      const tokens = this.#expect('read');
      if (!(message instanceof Uint8Array)) throw new HandshakeError('BAD_MESSAGE_LENGTH', 'message must be a Uint8Array');
      if (message.length > MAX_MESSAGE_BYTES) {
        throw new HandshakeError('BAD_MESSAGE_LENGTH', `handshake message of ${message.length} bytes exceeds Noise's ${MAX_MESSAGE_BYTES}`);
      }
      if (!tokens.includes('psk')) {
        const payload = this.#read(tokens, message, NO_PSK);
        this.#advance();
        return payload;
      }
      // With a keyring in a psk slot read here, try each candidate from the same starting state.
      const slots = tokens.filter((t) => t === 'psk').map((_, i) => this.#pskSlot + i);
      const combos = slots.reduce<number[][]>((acc, slot) => acc.flatMap((c) => this.#psks[slot]!.map((_, i) => [...c, i])), [[]]);
      const start = this.#snapshot();
      for (let c = 0; ; c++) {
        try {
          const payload = this.#read(tokens, message, combos[c]!);
          this.#advance();
          return payload;
        } catch (err) {
          const retry = err instanceof HandshakeError && err.code === 'DECRYPT_FAILED' && c + 1 < combos.length;
          if (!retry) throw err;
          this.#restore(start);
        }
      }
    });
  }

  #read(tokens: readonly Token[], message: Uint8Array, pskChoice: readonly number[]): Uint8Array {
    let at = 0;
    let pskUsed = 0;
    const take = (n: number, what: string): Uint8Array => {
      if (message.length - at < n) {
        throw new HandshakeError('BAD_MESSAGE_LENGTH', `handshake message ${this.#index + 1} is too short for its ${what} (${message.length} bytes)`);
      }
      const part = message.subarray(at, at + n);
      at += n;
      return part;
    };
    for (const t of tokens) {
      if (t === 'e') {
        this.#re = take(this.#dh.dhLen, 'ephemeral key').slice();
        this.#ss.mixHash(this.#re);
        if (this.#isPsk) this.#ss.mixKey(this.#re);
      } else if (t === 's') {
        const sealed = take(this.#dh.dhLen + (this.#ss.cipher.hasKey ? TAG_BYTES : 0), 'static key');
        const rs = this.#ss.decryptAndHash(sealed).slice();
        if (this.#pinned && !equalBytes(rs, this.#pinned)) {
          throw new HandshakeError('REMOTE_KEY_MISMATCH', 'the peer sent a static key other than the pinned remoteStaticKey');
        }
        this.#rs = rs;
      } else if (t === 'psk') {
        const slot = this.#pskSlot + pskUsed;
        const choice = pskChoice[pskUsed++]!;
        this.#pskIndices[slot] = choice;
        this.#ss.mixKeyAndHash(this.#psks[slot]![choice]!);
      } else {
        this.#mixDh(t);
      }
    }
    this.#pskSlot += pskUsed;
    const rest = message.subarray(at);
    if (this.#ss.cipher.hasKey && rest.length < TAG_BYTES) {
      throw new HandshakeError('BAD_MESSAGE_LENGTH', `handshake message ${this.#index + 1} is too short for its payload tag`);
    }
    return this.#ss.decryptAndHash(rest).slice();
  }

  #snapshot(): Snapshot {
    return { ck: this.#ss.ck, h: this.#ss.h, cipher: this.#ss.cipher.snapshot(), re: this.#re, rs: this.#rs, pskSlot: this.#pskSlot, psk: this.#pskIndices.slice() };
  }

  #restore(s: Snapshot): void {
    this.#ss.ck = s.ck;
    this.#ss.h = s.h;
    this.#ss.cipher.restore(s.cipher);
    this.#re = s.re;
    this.#rs = s.rs;
    this.#pskSlot = s.pskSlot;
    this.#pskIndices = s.psk;
  }

  #advance(): void {
    this.#index++;
    if (this.#index === this.#messages.length) this.#ciphers = this.#ss.split();
  }
}

/** Always a fresh array: a plaintext payload must never alias the caller's buffer. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
