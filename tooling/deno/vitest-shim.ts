// The subset of vitest's API that the cores' portable tests use, implemented on `Deno.test`, so the
// very same `*.test.ts` files run under vitest (Node) and `deno test` without a change. The root
// deno.json maps the bare specifier `vitest` here. Anything a test uses that is missing here fails
// loudly ("not supported by the Deno shim") rather than passing silently.
import { isDeepStrictEqual, inspect } from 'node:util';

declare const Deno: {
  test(def: { name: string; fn: () => unknown | Promise<unknown>; sanitizeOps?: boolean; sanitizeResources?: boolean }): void;
};

type Fn = () => unknown | Promise<unknown>;
const prefix: string[] = [];
const beforeEachStack: Fn[][] = [[]];
const afterEachStack: Fn[][] = [[]];

export function describe(name: string, body: () => void): void {
  prefix.push(name);
  beforeEachStack.push([]);
  afterEachStack.push([]);
  try {
    body();
  } finally {
    prefix.pop();
    beforeEachStack.pop();
    afterEachStack.pop();
  }
}
describe.skip = (_name: string, _body: () => void): void => {
  throw new Error('describe.skip is not supported by the Deno shim: a skipped check is a defect');
};

function register(name: string, fn: Fn): void {
  const befores = beforeEachStack.flat();
  const afters = afterEachStack.flat();
  Deno.test({
    name: [...prefix, name].join(' > '),
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      for (const b of befores) await b();
      try {
        await fn();
      } finally {
        for (const a of afters) await a();
      }
    },
  });
}

export function it(name: string, fn: Fn, _timeout?: number): void {
  register(name, fn);
}
it.each = <T>(cases: readonly T[]) =>
  (name: string, fn: (...args: never[]) => unknown, _timeout?: number): void => {
    // Like vitest: an array case is spread into the arguments, anything else is passed as one.
    cases.forEach((c, i) => {
      const args = (Array.isArray(c) ? c : [c]) as never[];
      let n = 0;
      register(`${name.replace(/%[sdjo]/g, () => inspect(args[n++]))} #${i}`, () => fn(...args));
    });
  };
export const test: typeof it = it;

export function beforeEach(fn: Fn): void {
  beforeEachStack[beforeEachStack.length - 1]!.push(fn);
}
export function afterEach(fn: Fn): void {
  afterEachStack[afterEachStack.length - 1]!.push(fn);
}

class AssertionError extends Error {
  override name = 'AssertionError';
}

function fail(message: string): never {
  throw new AssertionError(message);
}

/** vitest's toEqual: structural, prototype-blind, undefined properties ignored. */
function equals(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => equals(v, (b as unknown[])[i]));
  if (a instanceof Map || a instanceof Set || a instanceof Date || a instanceof RegExp) return isDeepStrictEqual(a, b);
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => equals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function matchesObject(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object' || ArrayBuffer.isView(expected)) {
    return equals(actual, expected);
  }
  if (actual === null || typeof actual !== 'object') return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length &&
      expected.every((e, i) => matchesObject(actual[i], e));
  }
  return Object.entries(expected).every(([k, v]) => matchesObject((actual as Record<string, unknown>)[k], v));
}

function throwMatches(err: unknown, expected: unknown): boolean {
  if (expected === undefined) return true;
  if (typeof expected === 'function') return err instanceof (expected as new () => unknown);
  const message = err instanceof Error ? err.message : String(err);
  if (typeof expected === 'string') return message.includes(expected);
  if (expected instanceof RegExp) return expected.test(message);
  return matchesObject(err, expected);
}

// deno-lint-ignore no-explicit-any
type AsyncMatchers = Record<string, (...args: any[]) => Promise<void>>;
// deno-lint-ignore no-explicit-any
type Matchers = Record<string, (...args: any[]) => void>;

function makeMatchers(actual: unknown, negate: boolean, label?: string): Matchers {
  const check = (ok: boolean, what: string) => {
    if (ok === negate) fail(`${label ? `${label}: ` : ''}expected ${inspect(actual, { depth: 4 })} ${negate ? 'not ' : ''}${what}`);
  };
  return {
    toBe: (e: unknown) => check(Object.is(actual, e), `to be ${inspect(e)}`),
    toEqual: (e: unknown) => check(equals(actual, e), `to equal ${inspect(e, { depth: 4 })}`),
    toStrictEqual: (e: unknown) => check(isDeepStrictEqual(actual, e), `to strictly equal ${inspect(e)}`),
    toMatchObject: (e: unknown) => check(matchesObject(actual, e), `to match ${inspect(e, { depth: 4 })}`),
    toBeTruthy: () => check(Boolean(actual), 'to be truthy'),
    toBeFalsy: () => check(!actual, 'to be falsy'),
    toBeDefined: () => check(actual !== undefined, 'to be defined'),
    toBeUndefined: () => check(actual === undefined, 'to be undefined'),
    toBeNull: () => check(actual === null, 'to be null'),
    toBeInstanceOf: (c: new (...a: never[]) => unknown) => check(actual instanceof c, `to be an instance of ${c.name}`),
    toBeGreaterThan: (n: number) => check((actual as number) > n, `to be > ${n}`),
    toBeGreaterThanOrEqual: (n: number) => check((actual as number) >= n, `to be >= ${n}`),
    toBeLessThan: (n: number) => check((actual as number) < n, `to be < ${n}`),
    toBeLessThanOrEqual: (n: number) => check((actual as number) <= n, `to be <= ${n}`),
    toBeCloseTo: (n: number, digits = 2) => check(Math.abs((actual as number) - n) < 10 ** -digits / 2, `to be close to ${n}`),
    toHaveLength: (n: number) => check((actual as { length: number }).length === n, `to have length ${n}`),
    toContain: (item: unknown) =>
      check(
        typeof actual === 'string' ? actual.includes(item as string) : (actual as unknown[]).includes(item),
        `to contain ${inspect(item)}`,
      ),
    toContainEqual: (item: unknown) =>
      check(Array.isArray(actual) && actual.some((x) => equals(x, item)), `to contain an element equal to ${inspect(item, { depth: 4 })}`),
    toHaveProperty: (key: string, value?: unknown) =>
      check(
        actual != null && key in (actual as object) &&
          (value === undefined || isDeepStrictEqual((actual as Record<string, unknown>)[key], value)),
        `to have property ${key}`,
      ),
    toMatch: (re: RegExp | string) =>
      check(typeof re === 'string' ? String(actual).includes(re) : re.test(String(actual)), `to match ${re}`),
    toThrow: (expected?: unknown) => {
      let threw = false;
      let err: unknown;
      try {
        (actual as () => unknown)();
      } catch (e) {
        threw = true;
        err = e;
      }
      check(threw && throwMatches(err, expected), `to throw ${inspect(expected)} (got ${inspect(err)})`);
    },
  };
}

/** Like vitest, an optional second argument labels the failure message. */
export function expect(actual: unknown, label?: string): Matchers & { not: Matchers; rejects: AsyncMatchers; resolves: AsyncMatchers } {
  const async = (settle: 'rejects' | 'resolves') =>
    new Proxy({}, {
      get: (_t, key: string) => async (...args: unknown[]) => {
        let value: unknown;
        let rejected = false;
        try {
          value = await (actual as Promise<unknown>);
        } catch (e) {
          rejected = true;
          value = e;
        }
        if (rejected !== (settle === 'rejects')) fail(`expected promise to ${settle === 'rejects' ? 'reject' : 'resolve'}, got ${inspect(value)}`);
        if (key === 'toThrow') {
          if (!throwMatches(value, args[0])) fail(`expected rejection ${inspect(value)} to match ${inspect(args[0])}`);
          return;
        }
        const m = makeMatchers(value, false)[key];
        if (!m) fail(`matcher ${key} is not supported by the Deno shim`);
        m(...(args as never[]));
      },
    }) as AsyncMatchers;
  return Object.assign(
    new Proxy(makeMatchers(actual, false, label), {
      get: (t, key: string) => t[key] ?? fail(`matcher ${key} is not supported by the Deno shim`),
    }),
    { not: makeMatchers(actual, true, label), rejects: async('rejects'), resolves: async('resolves') },
  );
}
