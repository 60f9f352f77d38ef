// Events per second through the policy engine for 10 000 peers under a mixed event stream, and
// bytes of engine state per peer. Targets (issue 4): >= 1M events/s, <= 512 B per peer.
//
// The stream is recorded once by a driver that plays the kernel (it answers dials with connects or
// failures, accepted inbound with connects, and so on), then replayed into fresh engines seeded
// the same way, so every replay takes exactly the same path and only the engine is timed.
// Anchor, same run: the same stream through a loop that only looks the peer up in a Map and
// switches on the event type, the floor of any per-peer state machine in JavaScript.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { median, opsPerSecond, target, writeResults } from '../../../tooling/bench/report.ts';
import { prng } from '../../../tooling/test-support/seeded.ts';
import { createPolicy, type Decision, type Policy, type PolicyConfig, type PolicyEvent } from '../src/index.ts';

const PEERS = 10_000;
const EVENTS = 200_000;

const names = Array.from({ length: PEERS }, (_, i) => `node-${i}@host-${i % 97}`);
const modes: Record<string, 'once' | 'never'> = {};
for (let i = 0; i < PEERS; i++) if (i % 3 === 1) modes[names[i]!] = 'once';
else if (i % 6 === 2) modes[names[i]!] = 'never';
const config: PolicyConfig = {
  self: { name: 'self@host', id: 'ab'.repeat(32) },
  modes,
  peers: names.slice(0, 2_000),
  deny: names.slice(PEERS - 50),
  mesh: true,
  backoff: { base: 200, cap: 5_000, stableAfter: 2_000 },
};
const engine = (): Policy => createPolicy(config, { random: prng(7) });

/** Plays the kernel against an engine for EVENTS events and records them. */
function record(): { events: PolicyEvent[]; nows: number[]; mix: Record<string, number> } {
  const p = engine();
  const rnd = prng(42);
  const events: PolicyEvent[] = [];
  const nows: number[] = [];
  const mix: Record<string, number> = {};
  const dialing: string[] = [];
  const accepting: { node: string; connection: number }[] = [];
  const linked = new Map<string, number>();
  const inc = new Map<string, number>();
  let now = 0;
  let conn = 1;
  const pick = () => names[(rnd() * PEERS) | 0]!;
  const feed = (e: PolicyEvent) => {
    events.push(e);
    nows.push(now);
    mix[e.type] = (mix[e.type] ?? 0) + 1;
    apply(p.handle(e, now));
  };
  const apply = (ds: readonly Decision[]) => {
    for (const d of ds) {
      if (d.type === 'dial') dialing.push(d.node);
      else if (d.type === 'accept' && d.node !== null) accepting.push({ node: d.node, connection: d.connection as number });
      else if (d.type === 'close' && linked.get(d.node) === d.connection) linked.delete(d.node);
    }
  };
  feed({ type: 'start' });
  while (events.length < EVENTS) {
    now += 0.05;
    const r = rnd();
    if (dialing.length > 0 && r < 0.15) {
      const node = dialing.shift()!;
      if (p.state(node)?.phase !== 'dialing') continue;
      if (rnd() < 0.8) {
        const c = conn++;
        feed({ type: 'connected', node, connection: c, direction: 'out', incarnation: inc.get(node) ?? 1 });
        if (p.state(node)?.connection === c) linked.set(node, c);
      } else feed({ type: 'dialFailed', node, reason: 'econnrefused' });
    } else if (accepting.length > 0 && r < 0.2) {
      const a = accepting.shift()!;
      if (p.state(a.node)?.connection !== a.connection) continue;
      feed({ type: 'connected', node: a.node, connection: a.connection, direction: 'in', incarnation: inc.get(a.node) ?? 1 });
      linked.set(a.node, a.connection);
    } else if (r < 0.45) {
      const node = pick();
      if (rnd() < 0.002) inc.set(node, (inc.get(node) ?? 1) + 1);
      feed({ type: 'heard', node, incarnation: inc.get(node) ?? 1 });
    } else if (r < 0.7) {
      feed({ type: 'connectRequested', node: pick(), kind: 'auto', message: null });
    } else if (r < 0.72) {
      feed({ type: 'connectRequested', node: pick(), kind: 'explicit' });
    } else if (r < 0.77 && linked.size > 0) {
      const [node, c] = linked.entries().next().value as [string, number];
      linked.delete(node);
      feed({ type: 'disconnected', node, connection: c, reason: 'tickTimeout' });
    } else if (r < 0.82) {
      feed({ type: 'inboundAttempt', connection: conn++, node: pick(), incarnation: 1 });
    } else if (r < 0.85) {
      feed({ type: 'learned', node: pick(), via: pick() });
    } else if (r < 0.86) {
      feed({ type: 'tick' });
    } else {
      const node = pick();
      feed({ type: 'heard', node, incarnation: inc.get(node) ?? 1 });
    }
  }
  return { events, nows, mix };
}

const { events, nows, mix } = record();
let sink = 0;

const ours = opsPerSecond(() => {
  const p = engine();
  for (let i = 0; i < events.length; i++) sink += p.handle(events[i]!, nows[i]!).length;
}, { samples: 7, sampleMs: 1_000, opsPerCall: events.length });

// The anchor: a Map lookup (creating the entry once) and a switch per event, nothing else.
const anchor = opsPerSecond(() => {
  const m = new Map<string, { n: number }>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const node = (e as { node?: string }).node;
    if (node === undefined) continue;
    let s = m.get(node);
    if (s === undefined) m.set(node, (s = { n: 0 }));
    switch (e.type) {
      case 'heard': s.n += 1; break;
      case 'connectRequested': s.n += 2; break;
      default: s.n += 3;
    }
    sink += s.n & 1;
  }
}, { samples: 7, sampleMs: 1_000, opsPerCall: events.length });

// Bytes per peer: heap growth of one engine holding N peers (half linked, a quarter barred after a
// link failure under `once`, a quarter only heard of), measured between two full GCs. Node names
// are allocated before the first measurement: they belong to the kernel, the engine only points
// at them. `--expose-gc` is switched on at run time so a plain `tsx` run works.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function bytesPerPeer(n: number): number {
  const ns = Array.from({ length: n }, (_, i) => `mem-${i}@host-${i % 97}`);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const p = createPolicy({ self: { name: 'self' }, modes: Object.fromEntries(ns.filter((_, i) => i % 4 === 1).map((x) => [x, 'once'])) }, { random: prng(1) });
  let c = 0;
  for (let i = 0; i < n; i++) {
    const node = ns[i]!;
    if (i % 4 === 0 || i % 4 === 1) {
      p.handle({ type: 'inboundAttempt', connection: ++c, node, incarnation: 1 }, 1);
      p.handle({ type: 'connected', node, connection: c, direction: 'in', incarnation: 1 }, 1);
      if (i % 4 === 1) p.handle({ type: 'disconnected', node, connection: c, reason: 'closed' }, 1);
    } else p.handle({ type: 'heard', node, incarnation: 1 }, 1);
  }
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  sink += p.stats().peers + ns.length;
  // The modes map costs memory too, but it is configuration, not per-peer state: subtract it.
  const modesOnly = (() => {
    gc();
    const b = process.memoryUsage().heapUsed;
    const cfg = createPolicy({ self: { name: 'self' }, modes: Object.fromEntries(ns.filter((_, i) => i % 4 === 1).map((x) => [x, 'once'])) }, { random: prng(1) });
    gc();
    const a = process.memoryUsage().heapUsed;
    sink += cfg.stats().peers;
    return a - b;
  })();
  return (after - before - modesOnly) / n;
}
const perPeer = median([bytesPerPeer(PEERS * 10), bytesPerPeer(PEERS * 10), bytesPerPeer(PEERS * 10)]);
// Anchor for the memory figure: the name strings themselves, which the kernel holds anyway.
function bytesPerName(n: number): number {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const ns = Array.from({ length: n }, (_, i) => `mem-${i}@host-${i % 97}`);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  sink += ns.length;
  return (after - before) / n;
}
const perName = median([bytesPerName(PEERS * 10), bytesPerName(PEERS * 10), bytesPerName(PEERS * 10)]);
if (sink === 42) console.log('');

console.log('event mix:', Object.entries(mix).map(([k, v]) => `${k} ${((100 * v) / events.length).toFixed(1)}%`).join(', '));
writeResults(
  'policy',
  [
    { name: `mixed stream, ${PEERS} peers (distkit)`, value: ours, unit: 'events/s' },
    { name: 'Map lookup + switch per event (anchor)', value: anchor, unit: 'events/s' },
    { name: 'engine / anchor', value: ours / anchor, unit: 'ratio' },
    { name: 'state per peer (100k peers, names excluded)', value: perPeer, unit: 'bytes' },
    { name: 'a node name string + array slot (anchor)', value: perName, unit: 'bytes' },
  ],
  [target('events/s, 10k peers, mixed stream', ours, '>=', 1_000_000), target('bytes of state per peer', perPeer, '<=', 512)],
);
