import { describe, expect, it } from 'vitest';
import { TrustStore, encodeKey, formatTrustEntry, generateIdentity, parseTrustFile } from './index.ts';
import { thrown } from './bytes.test-support.ts';

const [a, b, c] = [generateIdentity(), generateIdentity(), generateIdentity()].map((k) => k.publicKey) as [Uint8Array, Uint8Array, Uint8Array];
const line = (name: string, key: Uint8Array, options = '') => `${name} ${encodeKey(key)}${options ? ` ${options}` : ''}\n`;

describe('trust store: strict (authorized_nodes)', () => {
  const store = new TrustStore({
    mode: 'strict',
    authorizedNodes: `# the cluster\n\n${line('alpha', a)}${line('db-1@host.example', b, 'hidden,mode=once')}${line('gone', c, 'revoked')}`,
    knownNodes: line('stranger', c),
  });

  it('trusts the listed key under its name', () => {
    expect(store.check('alpha', a)).toBe('trusted');
    expect(store.check('db-1@host.example', b)).toBe('trusted');
  });

  it('reports a listed name with another key as changed', () => {
    expect(store.check('alpha', b)).toBe('changed');
    expect(store.explain('alpha', b).reason).toContain('another key');
  });

  it('refuses names not listed, even if known_nodes has them (strict ignores TOFU memory)', () => {
    expect(store.check('beta', a)).toBe('refused');
    expect(store.check('stranger', c)).toBe('refused');
  });

  it('refuses a revoked key under any name', () => {
    expect(store.check('gone', c)).toBe('refused');
    expect(store.explain('alpha', c).reason).toBe('key is revoked');
  });

  it('refuses malformed names and keys instead of throwing', () => {
    expect(store.check('has space', a)).toBe('refused');
    expect(store.check('', a)).toBe('refused');
    expect(store.check('x'.repeat(256), a)).toBe('refused');
    expect(store.check('alpha', a.subarray(1))).toBe('refused');
    expect(store.check('alpha', 'key' as never)).toBe('refused');
  });

  it('keeps the options of each entry', () => {
    expect(store.entries().authorized[1]!.options).toEqual({ hidden: true, mode: 'once' });
  });
});

describe('trust store: TOFU (known_nodes)', () => {
  it('unknown, then learned and trusted; a later different key is changed and cannot be learned', () => {
    const store = new TrustStore({ mode: 'tofu', knownNodes: '# learned keys\n' });
    expect(store.check('alpha', a)).toBe('unknown');
    store.learn('alpha', a);
    expect(store.check('alpha', a)).toBe('trusted');
    expect(store.check('alpha', b)).toBe('changed');
    expect(thrown(() => store.learn('alpha', b)).message).toContain('changed');
    expect(store.check('alpha', a)).toBe('trusted');
  });

  it('serializes known_nodes back with comments kept and learned keys appended', () => {
    const original = `# learned keys\r\n${line('alpha', a)}\n`;
    const store = new TrustStore({ mode: 'tofu', knownNodes: original });
    store.learn('beta', b);
    const text = store.serializeKnownNodes();
    expect(text).toBe(`# learned keys\n${line('alpha', a)}\n${line('beta', b)}`);
    const again = new TrustStore({ mode: 'tofu', knownNodes: text });
    expect(again.check('beta', b)).toBe('trusted');
    expect(again.check('alpha', a)).toBe('trusted');
  });

  it('forget removes a pin (an operator decision), after which the new key is unknown', () => {
    const store = new TrustStore({ mode: 'tofu', knownNodes: line('alpha', a) + line('alpha', c, 'revoked') });
    expect(store.forget('alpha')).toBe(1);
    expect(store.check('alpha', b)).toBe('unknown');
    expect(store.check('alpha', c)).toBe('refused'); // revocations survive forget
  });

  it('authorized_nodes still wins in TOFU mode', () => {
    const store = new TrustStore({ mode: 'tofu', authorizedNodes: line('alpha', a), knownNodes: line('alpha', b) });
    expect(store.check('alpha', a)).toBe('trusted');
    expect(store.check('alpha', b)).toBe('changed');
  });

  it('a name may have several keys (rotation): any of them is trusted', () => {
    const store = new TrustStore({ mode: 'strict', authorizedNodes: line('alpha', a) + line('alpha', b) });
    expect(store.check('alpha', a)).toBe('trusted');
    expect(store.check('alpha', b)).toBe('trusted');
    expect(store.check('alpha', c)).toBe('changed');
  });
});

describe('trust files: parsing', () => {
  it('accepts comments, blank lines, tabs and trailing comments', () => {
    const lines = parseTrustFile(`# c\n\n  \nalpha\t${encodeKey(a)}   hidden # the first node\n`);
    expect(lines.filter((l) => l.entry)).toHaveLength(1);
    expect(lines[3]!.entry!.options).toEqual({ hidden: true });
  });

  it('refuses every malformed line, naming the file and line', () => {
    const k = encodeKey(a);
    const cases: [string, string][] = [
      ['alpha', 'expected `name key [options]`'],
      [`alpha ${k} hidden extra`, "unexpected field 'extra'"],
      [`al pha ${k}`, 'not valid base64'],
      [`-alpha ${k}`, "invalid node name '-alpha'"],
      [`alpha,beta ${k}`, 'invalid node name'],
      [`${'n'.repeat(256)} ${k}`, 'invalid node name'],
      [`alpha ${k.slice(0, -4)}`, '32 bytes'],
      [`alpha ${k}x`, 'not valid base64'],
      [`alpha ${k} Hidden`, "invalid option 'Hidden'"],
      [`alpha ${k} hidden,`, "invalid option ''"],
      [`alpha ${k} mode=`, "invalid option 'mode='"],
      [`alpha ${k} mode=a=b`, 'invalid option'],
      [`alpha ${k} hidden,hidden`, "option 'hidden' given twice"],
      [`alpha ${k} __proto__`, 'invalid option'],
      [`alphä ${k}`, 'non-ASCII'],
      [`alpha ${k}\u0007`, 'control'],
    ];
    for (const [text, words] of cases) {
      const err = thrown(() => new TrustStore({ mode: 'strict', authorizedNodes: `# ok\n${text}\n` }));
      expect(err.code, text).toBe('MALFORMED_TRUST_FILE');
      expect(err.message, text).toContain('authorized_nodes line 2: ');
      expect(err.message, text).toContain(words);
    }
    expect(thrown(() => new TrustStore({ mode: 'paranoid' as never })).code).toBe('INVALID_CONFIG');
    expect(thrown(() => parseTrustFile(7 as never)).code).toBe('MALFORMED_TRUST_FILE');
  });

  it('formatTrustEntry writes what parseTrustFile reads', () => {
    const text = formatTrustEntry({ name: 'db@[::1]', key: a, options: { hidden: true, mode: 'never' } });
    expect(text).toBe(`db@[::1] ${encodeKey(a)} hidden,mode=never`);
    expect(parseTrustFile(text)[0]!.entry!.options).toEqual({ hidden: true, mode: 'never' });
    expect(thrown(() => formatTrustEntry({ name: 'a b', key: a, options: {} })).code).toBe('MALFORMED_TRUST_FILE');
  });
});
