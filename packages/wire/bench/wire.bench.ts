// Heartbeat encode+decode per second, against bare msgpackr pack/unpack of the same object (no
// validation: the ceiling) and JSON.stringify/parse with the same validation (the alternative),
// all in the same run. Targets (issue: foundation + wire): >= 0.5x msgpackr, >= 2x JSON.
import { pack, unpack } from 'msgpackr';
import { opsPerSecond, target, writeResults } from '../../../tooling/bench/report.ts';
import { decodeHeartbeat, encodeHeartbeat, type Heartbeat } from '../src/index.ts';

const id = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const hb: Heartbeat = {
  cluster: 'prod-eu-1',
  from: { id, name: 'db-1@host-17' },
  incarnation: 12,
  seq: 918_273,
  sentAt: 81_234_567.25,
  view: { connected: 49, lowest: id, oldest: { id, startedAt: 1_795_000_000_000 }, referee: true, hash: id.subarray(0, 16) },
};

// JSON with the same validation: binary fields travel as base64 and are checked like ours.
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: unknown, n: number) => {
  if (typeof s !== 'string') throw new Error('bad');
  const b = Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  if (b.length !== n) throw new Error('bad');
  return b;
};
const uint = (v: unknown) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error('bad');
  return v;
};
function jsonEncode(h: Heartbeat): string {
  const v = h.view;
  return JSON.stringify({
    t: 1, v: 1, cluster: h.cluster, id: b64(h.from.id), name: h.from.name, inc: h.incarnation, seq: h.seq, at: h.sentAt,
    view: { c: v.connected, l: v.lowest && b64(v.lowest), o: v.oldest && { id: b64(v.oldest.id), at: v.oldest.startedAt }, r: v.referee, h: b64(v.hash) },
  });
}
function jsonDecode(s: string): Heartbeat {
  const o = JSON.parse(s);
  if (o.t !== 1 || o.v !== 1 || typeof o.cluster !== 'string' || typeof o.name !== 'string' || typeof o.view?.r !== 'boolean') throw new Error('bad');
  return {
    cluster: o.cluster, from: { id: unb64(o.id, 32), name: o.name }, incarnation: uint(o.inc), seq: uint(o.seq), sentAt: Number(o.at),
    view: { connected: uint(o.view.c), lowest: o.view.l === null ? null : unb64(o.view.l, 32), oldest: o.view.o === null ? null : { id: unb64(o.view.o.id, 32), startedAt: Number(o.view.o.at) }, referee: o.view.r, hash: unb64(o.view.h, 16) },
  };
}

let sink = 0;
const ours = opsPerSecond(() => { sink += decodeHeartbeat(encodeHeartbeat(hb)).seq; });
const oursEncode = opsPerSecond(() => { sink += encodeHeartbeat(hb).length; });
const encoded = encodeHeartbeat(hb);
const oursDecode = opsPerSecond(() => { sink += decodeHeartbeat(encoded).seq; });
const bare = opsPerSecond(() => { sink += (unpack(pack(hb)) as Heartbeat).seq; });
const json = opsPerSecond(() => { sink += jsonDecode(jsonEncode(hb)).seq; });
if (sink === 42) console.log('');

writeResults(
  'wire',
  [
    { name: 'heartbeat encode+decode (distkit)', value: ours, unit: 'ops/s' },
    { name: 'heartbeat encode (distkit)', value: oursEncode, unit: 'ops/s' },
    { name: 'heartbeat decode (distkit)', value: oursDecode, unit: 'ops/s' },
    { name: 'bare msgpackr pack+unpack (anchor)', value: bare, unit: 'ops/s' },
    { name: 'JSON stringify+parse, validated (anchor)', value: json, unit: 'ops/s' },
    { name: 'encoded heartbeat size', value: encoded.length, unit: 'bytes' },
    { name: 'JSON heartbeat size', value: jsonEncode(hb).length, unit: 'bytes' },
  ],
  [
    target('encode+decode vs bare msgpackr', ours / bare, '>=', 0.5),
    target('encode+decode vs validated JSON', ours / json, '>=', 2),
  ],
);
