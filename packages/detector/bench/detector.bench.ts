// Detector costs as one node sees them: heartbeat() with 999 peers, tick() scanning them, decide()
// and viewSummary() over 1000 members. Anchor, measured in the same run: the floor of any
// per-peer detector, a Map lookup plus updating a last-seen time. Targets (issue 5, `scale`):
// <= 2 µs of detector CPU per heartbeat, <= 1 KiB of memory per peer.
import { opsPerSecond, target, writeResults } from '../../../tooling/bench/report.ts';
import { createDetector, decide, viewSummary, type Member } from '../src/index.ts';

const PEERS = 999;
const INTERVAL = 5000;
const members: Member[] = Array.from({ length: PEERS + 1 }, (_, i) => ({ id: Uint8Array.from({ length: 32 }, (_, j) => (i * 31 + j * 7) & 255), startedAt: i }));
const view = viewSummary({ self: members[0]!, peers: members.slice(1) });
const names = Array.from({ length: PEERS }, (_, i) => `n${i}`);

const d = createDetector({ interval: INTERVAL }, { random: Math.random });
for (const p of names) d.linkUp(p, 0, 0);
d.setView(view, 0);
d.tick(0);
let seq = 0;
let t = 0;
const round = () => {
  t += INTERVAL;
  seq++;
  const hb = { incarnation: 0, seq, view };
  for (let i = 0; i < PEERS; i++) d.heartbeat(names[i]!, hb, t + i);
};
const heartbeatOps = opsPerSecond(round, { opsPerCall: PEERS });

// The floor: what any per-peer liveness table costs per heartbeat.
const lastSeen = new Map(names.map((n) => [n, { at: 0, seq: 0 }]));
let tf = 0;
const floor = opsPerSecond(() => {
  tf += INTERVAL;
  for (let i = 0; i < PEERS; i++) {
    const e = lastSeen.get(names[i]!)!;
    e.at = tf + i;
    e.seq++;
  }
}, { opsPerCall: PEERS });

let tt = t;
const tickOps = opsPerSecond(() => {
  tt += 500;
  d.tick(tt);
});

const other = viewSummary({ self: members[1]!, peers: members.slice(2, 500) });
let sink = 0;
const decideOps = opsPerSecond(() => {
  sink += decide(view, other, { strategy: 'keep-majority' }) === 'stay' ? 1 : 0;
});
const summaryOps = opsPerSecond(() => {
  sink += viewSummary({ self: members[0]!, peers: members.slice(1) }).connected;
}, { samples: 5, sampleMs: 200 });
if (sink === -1) console.log('');

// Memory: 20 detectors × 999 peers, every peer heard (interval windows allocated).
const gc = (globalThis as { gc?: () => void }).gc;
const used = () => {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const before = used();
const many = Array.from({ length: 20 }, () => createDetector({ interval: INTERVAL }, { random: Math.random }));
for (const x of many) for (const p of names) x.linkUp(p, 0, 0);
for (let k = 1; k <= 3; k++) for (const x of many) for (let i = 0; i < PEERS; i++) x.heartbeat(names[i]!, { incarnation: 0, seq: k, view }, k * INTERVAL + i);
const perPeer = (used() - before) / (many.length * PEERS);
if (many.length === 0) console.log('');

const usPerHeartbeat = 1e6 / heartbeatOps;
console.log(`heartbeat() costs ${(heartbeatOps === 0 ? 0 : floor / heartbeatOps).toFixed(1)}x the Map-lookup floor${gc ? '' : ' (run with --expose-gc for a steadier memory figure)'}`);
writeResults('detector', [
  { name: 'heartbeat(), 999 peers', value: heartbeatOps, unit: 'ops/s' },
  { name: 'heartbeat(), 999 peers, per call', value: usPerHeartbeat, unit: 'µs' },
  { name: 'Map lookup + last-seen update (anchor: the floor)', value: floor, unit: 'ops/s' },
  { name: 'ratio heartbeat() / floor', value: floor / heartbeatOps, unit: 'x slower' },
  { name: 'tick() scanning 999 peers', value: tickOps, unit: 'ops/s' },
  { name: 'decide(keep-majority)', value: decideOps, unit: 'ops/s' },
  { name: 'viewSummary(1000 members)', value: summaryOps, unit: 'ops/s' },
  { name: 'memory per peer (heap + array buffers)', value: perPeer, unit: 'bytes' },
], [
  target('detector CPU per heartbeat (µs)', usPerHeartbeat, '<=', 2),
  target('detector memory per peer (bytes)', perPeer, '<=', 1024),
]);
