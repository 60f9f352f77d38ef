// fast-check generators for wire values, shared by the round-trip and fuzz tests.
import fc from 'fast-check';
import type { Frame, Heartbeat, Hello, Probe, SystemMessage, ViewSummary } from './index.ts';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const name = fc.string({ minLength: 1, maxLength: 80 });
const uint = fc.maxSafeNat();

export const heartbeatArb: fc.Arbitrary<Heartbeat> = fc.record({
  cluster: fc.string({ minLength: 1, maxLength: 21 }),
  from: fc.record({ id: bytes(32), name }),
  incarnation: uint,
  seq: uint,
  sentAt: fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  view: viewArb(),
});

function viewArb(): fc.Arbitrary<ViewSummary> {
  return fc.record({
    connected: fc.nat(100_000),
    lowest: fc.option(bytes(32), { nil: null }),
    oldest: fc.option(fc.record({ id: bytes(32), startedAt: fc.maxSafeNat() }), { nil: null }),
    referee: fc.boolean(),
    hash: bytes(16),
  });
}

export const helloArb: fc.Arbitrary<Hello> = fc.record({
  name,
  incarnation: uint,
  hidden: fc.boolean(),
  versions: fc.array(fc.nat(1000), { minLength: 1, maxLength: 8 }),
  startedAt: fc.maxSafeNat(),
  heartbeatPort: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }),
  listenPort: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }),
  time: fc.maxSafeNat(),
  tags: fc.dictionary(fc.stringMatching(/^[a-z0-9._/-]{1,20}$/).filter((k) => k !== '__proto__'), fc.string({ minLength: 1, maxLength: 30 }), { maxKeys: 5 }),
});

// User values: what JSON-like data plus binary can express. No -0 (msgpack has no negative zero
// integer; msgpackr encodes -0 as 0) and no undefined (encoded as nil).
export const userValueArb: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 5 }),
  ),
})).v;

export const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ kind: fc.constant('message' as const), counter: uint, value: userValueArb }),
  fc.record({ kind: fc.constant('tick' as const), counter: uint }),
  fc.record({ kind: fc.constant('control' as const), counter: uint, op: fc.constantFrom('welcome' as const, 'ready' as const) }),
  fc.record({
    kind: fc.constant('control' as const),
    counter: uint,
    op: fc.constant('disconnect' as const),
    reason: fc.constantFrom('disconnect' as const, 'shutdown' as const, 'leave' as const),
  }),
  fc.record({
    kind: fc.constant('control' as const),
    counter: uint,
    op: fc.constant('open' as const),
    channel: fc.integer({ min: 3, max: 255 }),
    name: fc.string({ minLength: 1, maxLength: 21 }),
  }),
  fc.record({ kind: fc.constant('control' as const), counter: uint, op: fc.constant('ack' as const), bytes: uint }),
  fc.record({ kind: fc.constant('system' as const), counter: uint, message: systemArb() }),
);

function systemArb(): fc.Arbitrary<SystemMessage> {
  return fc.oneof(
    fc.record({ op: fc.constant('nodes?' as const), id: uint }),
    fc.record({ op: fc.constant('nodes' as const), id: uint, nodes: fc.array(name, { maxLength: 20 }) }),
    fc.record({ op: fc.constant('links' as const), nodes: fc.array(name, { maxLength: 20 }), apart: fc.array(name, { maxLength: 5 }) }),
    fc.record({ op: fc.constant('where?' as const), nodes: fc.array(name, { maxLength: 20 }) }),
    fc.record({
      op: fc.constant('here' as const),
      addresses: fc.array(fc.record({ name, host: fc.constantFrom('127.0.0.1', '::1', 'db-1.example'), port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 8 }),
    }),
    fc.record({ op: fc.constant('tags' as const), tags: fc.dictionary(fc.stringMatching(/^[a-z0-9.-]{1,12}$/), fc.string({ minLength: 1, maxLength: 20 }), { maxKeys: 4 }) }),
    fc.record({
      op: fc.constant('event' as const),
      event: fc.oneof(
        fc.record({ type: fc.constant('partition' as const), node: name, incarnation: uint }),
        fc.record({
          type: fc.constant('decision' as const),
          node: name,
          strategy: fc.constantFrom('keep-majority', 'keep-oldest', 'static-quorum', 'keep-referee', 'down-all'),
          decision: fc.constantFrom('stay' as const, 'restart' as const),
          mine: viewArb(),
          theirs: viewArb(),
        }),
      ),
    }),
  );
}

/** Buffer (Node) and Uint8Array compare unequal in deep equality; normalise decoded binaries. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

export { seeded } from '../../../tooling/test-support/seeded.ts';

export const probeArb: fc.Arbitrary<Probe> = fc.oneof(
  fc.record({
    kind: fc.constant('request' as const), cluster: fc.string({ minLength: 1, maxLength: 21 }), from: bytes(32), id: uint, target: name,
    last: fc.option(fc.record({ incarnation: uint, seq: uint }), { nil: null }),
  }),
  fc.record({ kind: fc.constant('answer' as const), cluster: fc.string({ minLength: 1, maxLength: 21 }), from: bytes(32), id: uint, target: name, alive: fc.boolean() }),
);
