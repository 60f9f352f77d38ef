// Noise handshake patterns as data (Noise revision 34, §7.4 one-way, §7.5 interactive, §7.6
// deferred), with the `psk` (§9.2) and `fallback` (§10.2) modifiers applied to the token lists.
import { HandshakeError } from './errors.ts';

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';
export type Role = 'initiator' | 'responder';

export interface MessagePattern {
  readonly from: Role;
  readonly tokens: readonly Token[];
}

export interface HandshakePattern {
  /** The full name, modifiers included: `XXpsk3`, `NNpsk0+psk2`. */
  readonly name: string;
  readonly preMessages: { readonly initiator: readonly ('e' | 's')[]; readonly responder: readonly ('e' | 's')[] };
  readonly messages: readonly MessagePattern[];
  /** Number of `psk` tokens: how many pre-shared keys the handshake needs. */
  readonly pskCount: number;
}

// The spec's notation, verbatim: pre-messages before `...`, one message per line-ish segment.
// `->` is sent by the initiator, `<-` by the responder.
const BASE: Record<string, string> = {
  // §7.4 one-way
  N: '<- s ... -> e, es',
  K: '-> s <- s ... -> e, es, ss',
  X: '<- s ... -> e, es, s, ss',
  // §7.5 interactive (fundamental)
  NN: '-> e <- e, ee',
  NK: '<- s ... -> e, es <- e, ee',
  NX: '-> e <- e, ee, s, es',
  XN: '-> e <- e, ee -> s, se',
  XK: '<- s ... -> e, es <- e, ee -> s, se',
  XX: '-> e <- e, ee, s, es -> s, se',
  KN: '-> s ... -> e <- e, ee, se',
  KK: '-> s <- s ... -> e, es, ss <- e, ee, se',
  KX: '-> s ... -> e <- e, ee, se, s, es',
  IN: '-> e, s <- e, ee, se',
  IK: '<- s ... -> e, es, s, ss <- e, ee, se',
  IX: '-> e, s <- e, ee, se, s, es',
  // §7.6 deferred
  NK1: '<- s ... -> e <- e, ee, es',
  NX1: '-> e <- e, ee, s -> es',
  X1N: '-> e <- e, ee -> s <- se',
  X1K: '<- s ... -> e, es <- e, ee -> s <- se',
  XK1: '<- s ... -> e <- e, ee, es -> s, se',
  X1K1: '<- s ... -> e <- e, ee, es -> s <- se',
  X1X: '-> e <- e, ee, s, es -> s <- se',
  XX1: '-> e <- e, ee, s -> es, s, se',
  X1X1: '-> e <- e, ee, s -> es, s <- se',
  K1N: '-> s ... -> e <- e, ee -> se',
  K1K: '-> s <- s ... -> e, es <- e, ee -> se',
  KK1: '-> s <- s ... -> e <- e, ee, se, es',
  K1K1: '-> s <- s ... -> e <- e, ee, es -> se',
  K1X: '-> s ... -> e <- e, ee, s, es -> se',
  KX1: '-> s ... -> e <- e, ee, se, s -> es',
  K1X1: '-> s ... -> e <- e, ee, s -> se, es',
  I1N: '-> e, s <- e, ee -> se',
  I1K: '<- s ... -> e, es, s <- e, ee -> se',
  IK1: '<- s ... -> e, s <- e, ee, se, es',
  I1K1: '<- s ... -> e, s <- e, ee, es -> se',
  I1X: '-> e, s <- e, ee, s, es -> se',
  IX1: '-> e, s <- e, ee, se, s -> es',
  I1X1: '-> e, s <- e, ee, s -> se, es',
};

/** Base pattern names this engine knows, one-way, fundamental and deferred. */
export const PATTERN_NAMES: readonly string[] = Object.freeze(Object.keys(BASE));

interface Parsed {
  pre: { initiator: ('e' | 's')[]; responder: ('e' | 's')[] };
  messages: { from: Role; tokens: Token[] }[];
}

function parseNotation(text: string): Parsed {
  const [preText, body] = text.includes('...') ? text.split('...') as [string, string] : ['', text];
  const segments = (s: string) =>
    s.split(/(->|<-)/).map((x) => x.trim()).filter(Boolean).reduce<{ from: Role; tokens: string[] }[]>((acc, x) => {
      if (x === '->' || x === '<-') acc.push({ from: x === '->' ? 'initiator' : 'responder', tokens: [] });
      else acc[acc.length - 1]!.tokens.push(...x.split(',').map((t) => t.trim()));
      return acc;
    }, []);
  const pre = { initiator: [] as ('e' | 's')[], responder: [] as ('e' | 's')[] };
  for (const seg of segments(preText)) pre[seg.from].push(...(seg.tokens as ('e' | 's')[]));
  return { pre, messages: segments(body).map((m) => ({ from: m.from, tokens: m.tokens as Token[] })) };
}

const unsupported = (name: string, why: string) =>
  new HandshakeError('UNSUPPORTED_PROTOCOL', `handshake pattern '${name}' is not supported: ${why}`);

/**
 * The pattern named `name` (`XX`, `IKpsk2`, `NNpsk0+psk2`, `XXfallback`...), modifiers applied in
 * the order written.
 */
export function handshakePattern(name: string): HandshakePattern {
  const match = /^([NKXI]1?[NKX]?1?)(.*)$/.exec(name);
  const baseName = match?.[1];
  const base = baseName === undefined ? undefined : BASE[baseName];
  if (!match || baseName === undefined || base === undefined) throw unsupported(name, 'unknown base pattern');
  const { pre, messages } = parseNotation(base);
  const modifiers = match[2] ? match[2].split('+') : [];
  for (const modifier of modifiers) {
    const psk = /^psk(0|[1-9]\d?)$/.exec(modifier);
    if (psk) {
      const n = Number(psk[1]);
      // psk0: start of the first message; pskN: end of the Nth message (Noise §9.2).
      if (n === 0) messages[0]!.tokens.unshift('psk');
      else if (n <= messages.length) messages[n - 1]!.tokens.push('psk');
      else throw unsupported(name, `${modifier} names message ${n} of ${messages.length}`);
    } else if (modifier === 'fallback') {
      // Noise §10.2: the initiator's first message becomes a pre-message; roles are unchanged.
      const first = messages[0];
      if (!first || first.from !== 'initiator' || pre.initiator.length || !first.tokens.every((t) => t === 'e' || t === 's')) {
        throw unsupported(name, 'fallback needs a first message made of e and s only');
      }
      pre.initiator.push(...(first.tokens as ('e' | 's')[]));
      messages.shift();
    } else {
      throw unsupported(name, `unknown modifier '${modifier}'`);
    }
  }
  const pskCount = messages.reduce((n, m) => n + m.tokens.filter((t) => t === 'psk').length, 0);
  // Frozen: parsed patterns are cached and shared by every handshake.
  return Object.freeze({
    name,
    preMessages: Object.freeze({ initiator: Object.freeze(pre.initiator), responder: Object.freeze(pre.responder) }),
    messages: Object.freeze(messages.map((m) => Object.freeze({ from: m.from, tokens: Object.freeze(m.tokens) }))),
    pskCount,
  });
}
