import { describe, expect, it } from 'vitest';
import type { ViewSummary } from '@distkit/wire';
import { createDetector, DetectorError, isDetectorError, viewSummary, type Detector, type DetectorConfig, type DetectorEvent } from './index.ts';

const member = (b: number) => ({ id: new Uint8Array(32).fill(b), startedAt: 1000 + b });
const VIEW_ALL: ViewSummary = viewSummary({ self: member(1), peers: [2, 3, 4, 5].map(member) });
const VIEW_SMALL: ViewSummary = viewSummary({ self: member(1), peers: [2, 3].map(member) });
const VIEW_OTHER: ViewSummary = viewSummary({ self: member(4), peers: [member(5)] });

/** A deterministic random source (a fixed sequence), enough for unit tests. */
function fixedRandom(): () => number {
  let i = 0;
  return () => ((i++ * 0.618033988749895) % 1);
}

/** A detector with peers b, c, d linked and heartbeating every 1000 ms until `until`. */
function running(config: DetectorConfig = {}, until = 20_000): { d: Detector; events: DetectorEvent[]; seq: { n: number } } {
  const d = createDetector({ interval: 1000, stableAfter: 3000, ...config }, { random: fixedRandom() });
  const events: DetectorEvent[] = [];
  d.setView(VIEW_ALL, 0);
  d.tick(0);
  for (const p of ['b', 'c', 'd']) d.linkUp(p, 1, 0);
  const seq = { n: 0 };
  for (let t = 0; t <= until; t += 100) {
    if (t % 1000 === 0) for (const p of ['b', 'c', 'd']) d.heartbeat(p, { incarnation: 1, seq: ++seq.n, view: VIEW_ALL }, t + 5);
    events.push(...d.tick(t + 10).events);
  }
  return { d, events, seq };
}

describe('verdicts', () => {
  it('a linked peer that heartbeats is up, with one verdict event', () => {
    const { d, events } = running();
    expect(d.verdict('b')).toBe('up');
    expect(events.filter((e) => e.type === 'verdict' && e.peer === 'b')).toMatchObject([{ from: 'unknown', to: 'up', evidence: { cause: 'link-up' } }]);
  });

  it('a silent peer is probed through the others, and declared down when every helper confirms', () => {
    const { d } = running();
    // b goes silent after t = 20 000; c and d keep going.
    let probes: { to: string; target: string; id: number }[] = [];
    let seq = 1000;
    for (let t = 20_100; t <= 23_000 && probes.length === 0; t += 100) {
      if (t % 1000 === 0) for (const p of ['c', 'd']) d.heartbeat(p, { incarnation: 1, seq: ++seq, view: VIEW_ALL }, t + 5);
      probes = d.tick(t + 10).probes.map((p) => ({ to: p.to, ...p.request }));
    }
    expect(probes.map((p) => p.to).sort()).toEqual(['c', 'd']);
    expect(probes.every((p) => p.target === 'b')).toBe(true);
    // The request carries the last heartbeat we had from b, for the helpers to compare.
    expect(probes[0]).toMatchObject({ incarnation: 1, seq: d.status('b', 22_000)!.heartbeat!.seq });
    expect(d.verdict('b')).toBe('up');
    for (const p of probes) d.probeAnswer(p.to, { type: 'probe-answer', id: p.id, target: 'b', alive: false }, 22_600);
    expect(d.verdict('b')).toBe('down');
    const [ev] = d.tick(22_600).events;
    expect(ev).toMatchObject({ type: 'verdict', peer: 'b', from: 'up', to: 'down', evidence: { cause: 'probes-confirmed', link: 'up', probes: { asked: 2, confirmed: 2, refuted: 0 } } });
  });

  it('one helper that still hears the peer refutes the suspicion; another round follows', () => {
    const { d } = running();
    let out = d.tick(20_110);
    let t = 20_110;
    let seq = 1000;
    while (out.probes.length === 0 && t < 23_000) {
      t += 100;
      if (t % 1000 === 10) for (const p of ['c', 'd']) d.heartbeat(p, { incarnation: 1, seq: ++seq, view: VIEW_ALL }, t);
      out = d.tick(t);
    }
    const [first, second] = out.probes;
    d.probeAnswer(first!.to, { type: 'probe-answer', id: first!.request.id, target: 'b', alive: true }, t);
    d.probeAnswer(second!.to, { type: 'probe-answer', id: second!.request.id, target: 'b', alive: false }, t);
    expect(d.verdict('b')).toBe('up');
    expect(d.status('b', t)?.suspected).toBe(true);
    const next = d.tick(t + 500).probes;
    expect(next).toHaveLength(2);
    expect(next[0]!.request.id).not.toBe(first!.request.id);
    // A late answer to the old round changes nothing.
    d.probeAnswer(second!.to, { type: 'probe-answer', id: first!.request.id, target: 'b', alive: false }, t + 501);
    expect(d.stats().answersIgnored).toBe(1);
  });

  it('a linked peer heard by others but not by us for maxSilence is degraded, and up again on its next heartbeat', () => {
    const { d } = running({ maxSilence: 5000 });
    let seq = 1000;
    let events: DetectorEvent[] = [];
    for (let t = 20_100; t <= 26_000; t += 100) {
      if (t % 1000 === 0) for (const p of ['c', 'd']) d.heartbeat(p, { incarnation: 1, seq: ++seq, view: VIEW_ALL }, t);
      const out = d.tick(t);
      for (const p of out.probes) d.probeAnswer(p.to, { type: 'probe-answer', id: p.request.id, target: p.request.target, alive: true }, t);
      events.push(...out.events);
    }
    expect(events).toMatchObject([{ type: 'verdict', peer: 'b', from: 'up', to: 'degraded', evidence: { cause: 'max-silence' } }]);
    d.heartbeat('b', { incarnation: 1, seq: ++seq, view: VIEW_ALL }, 26_050);
    events = d.tick(26_100).events;
    expect(events).toMatchObject([{ type: 'verdict', peer: 'b', from: 'degraded', to: 'up', evidence: { cause: 'heartbeat' } }]);
  });

  it('link down, then a heartbeat of the same incarnation: partitioned, a partition event, and a decision once views are stable', () => {
    const { d, seq } = running();
    d.linkDown('b', 'tick timeout', 20_500);
    d.setView(VIEW_SMALL, 20_500);
    expect(d.tick(20_500).events).toMatchObject([{ type: 'verdict', peer: 'b', to: 'down', evidence: { cause: 'link-down', linkReason: 'tick timeout' } }]);
    d.heartbeat('b', { incarnation: 1, seq: ++seq.n, view: VIEW_OTHER }, 21_000);
    const evs = d.tick(21_000).events;
    expect(evs).toMatchObject([
      { type: 'verdict', peer: 'b', from: 'down', to: 'partitioned' },
      { type: 'partition', peer: 'b', mine: VIEW_SMALL, theirs: VIEW_OTHER },
    ]);
    // stableAfter = 3000 from the later of the two views' last change (21 000).
    const decisions: DetectorEvent[] = [];
    for (let t = 21_100; t <= 25_000; t += 100) {
      if (t % 1000 === 0) {
        d.heartbeat('b', { incarnation: 1, seq: ++seq.n, view: VIEW_OTHER }, t);
        for (const p of ['c', 'd']) d.heartbeat(p, { incarnation: 1, seq: ++seq.n, view: VIEW_SMALL }, t);
      }
      decisions.push(...d.tick(t).events.filter((e) => e.type === 'decision'));
    }
    expect(d.verdict('b')).toBe('partitioned');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ type: 'decision', peer: 'b', strategy: 'keep-majority', decision: 'stay', mine: VIEW_SMALL, theirs: VIEW_OTHER });
    expect(decisions[0]!.at).toBeGreaterThanOrEqual(24_000);
    expect(decisions[0]!.at).toBeLessThan(24_200);
  });

  it('link down, then a heartbeat of a higher incarnation: restarted, no partition event', () => {
    const { d } = running();
    d.linkDown('b', 'closed', 20_500);
    d.heartbeat('b', { incarnation: 2, seq: 1, view: VIEW_ALL }, 21_000);
    const evs = d.tick(21_000).events;
    expect(evs.map((e) => e.type === 'verdict' && e.to)).toEqual(['down', 'restarted']);
  });

  it('drops replayed and reordered heartbeats', () => {
    const d = createDetector({}, { random: fixedRandom() });
    expect(d.heartbeat('b', { incarnation: 3, seq: 10, view: VIEW_ALL }, 0)).toBe(true);
    expect(d.heartbeat('b', { incarnation: 3, seq: 10, view: VIEW_ALL }, 1)).toBe(false);
    expect(d.heartbeat('b', { incarnation: 3, seq: 9, view: VIEW_ALL }, 2)).toBe(false);
    expect(d.heartbeat('b', { incarnation: 2, seq: 99, view: VIEW_ALL }, 3)).toBe(false);
    expect(d.heartbeat('b', { incarnation: 4, seq: 0, view: VIEW_ALL }, 4)).toBe(true);
    expect(d.stats()).toMatchObject({ heartbeats: 2, stale: 3 });
    expect(d.verdict('b')).toBe('alive');
  });
});

describe('heartbeat targets and probes', () => {
  it('sends to every known host once per interval, jittered within ±10%', () => {
    const d = createDetector({ interval: 1000 }, { random: Math.random });
    for (const p of ['b', 'c', 'd', 'e']) d.addPeer(p);
    const rounds: number[] = [];
    for (let t = 0; t < 100_000; t += 1) {
      if (d.nextWakeup() > t) continue;
      const out = d.tick(t);
      if (out.targets.length > 0) {
        expect([...out.targets].sort()).toEqual(['b', 'c', 'd', 'e']);
        rounds.push(t);
      }
    }
    const gaps = rounds.slice(1).map((t, i) => t - rounds[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1101);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeGreaterThan(100);
  });

  it('with fanout k, sends to k distinct random hosts', () => {
    const d = createDetector({ interval: 1000, fanout: 2 }, { random: Math.random });
    for (const p of ['b', 'c', 'd', 'e', 'f']) d.addPeer(p);
    const seen = new Set<string>();
    for (let t = 0; t < 50_000; t += 100) {
      const { targets } = d.tick(t);
      if (targets.length === 0) continue;
      expect(targets).toHaveLength(2);
      expect(new Set(targets).size).toBe(2);
      for (const x of targets) seen.add(x);
    }
    expect(seen.size).toBe(5);
  });

  it('answers "alive" only for a peer it heard newer than the asker and does not suspect', () => {
    const { d } = running();
    const last = d.status('b', 20_100)!.heartbeat!;
    const ask = (id: number, target: string, at: number, seq = last.seq - 1) => d.probeRequest('c', { type: 'probe', id, target, incarnation: 1, seq }, at);
    expect(ask(7, 'b', 20_100)).toEqual({ type: 'probe-answer', id: 7, target: 'b', alive: true });
    // Nothing newer than what the asker has: no evidence to give.
    expect(ask(8, 'b', 20_100, last.seq).alive).toBe(false);
    expect(ask(9, 'zz', 20_100).alive).toBe(false);
    // Heard newer, but so long ago that we suspect it too.
    expect(ask(10, 'b', 25_000).alive).toBe(false);
  });
});

describe('configuration', () => {
  it.each([
    [{ interval: 0 }, 'interval'],
    [{ jitter: 1.5 }, 'jitter'],
    [{ fanout: 0 }, 'fanout'],
    [{ threshold: -1 }, 'threshold'],
    [{ maxSampleSize: 1.5 }, 'maxSampleSize'],
    [{ strategy: 'keep-everyone' }, 'strategy'],
    [{ strategy: 'static-quorum' }, 'quorum'],
    [{ probes: -1 }, 'probes'],
    [{ bogus: 1 }, 'bogus'],
  ])('refuses %j with a DetectorError naming %s', (config, key) => {
    let err: unknown;
    try {
      createDetector(config as DetectorConfig, { random: Math.random });
    } catch (e) {
      err = e;
    }
    expect(isDetectorError(err)).toBe(true);
    expect(err).toBeInstanceOf(DetectorError);
    expect(err).toMatchObject({ code: 'INVALID_CONFIG', key });
    expect((err as Error).message).toContain(key);
  });

  it('configure() changes keys, keeps the others, and validates the same way', () => {
    const d = createDetector({ interval: 2000, threshold: 10 }, { random: Math.random });
    d.configure({ strategy: 'static-quorum', quorum: 3 });
    expect(d.config).toMatchObject({ interval: 2000, threshold: 10, strategy: 'static-quorum', quorum: 3, maxSilence: 20_000 });
    expect(() => d.configure({ probeTimeout: Number.NaN })).toThrow(/probeTimeout/);
    expect(d.config.probeTimeout).toBe(500);
  });

  it('defaults follow the issue and their sources', () => {
    expect(createDetector({}, { random: Math.random }).config).toMatchObject({
      interval: 5000, jitter: 0.1, fanout: 'all', threshold: 8, minStdDev: 100, acceptablePause: 0, maxSampleSize: 1000,
      maxSilence: 50_000, probes: 3, probeTimeout: 500, strategy: 'keep-majority', stableAfter: 20_000,
    });
  });
});

describe('a link closed on purpose', () => {
  it('is `disconnected`, not `partitioned`, while heartbeats go on; a restart or a new link ends it', () => {
    const d = createDetector({ interval: 1000, stableAfter: 2000 }, { random: () => 0.5 });
    const view = viewSummary({ self: { id: new Uint8Array(32).fill(1), startedAt: 0 }, peers: [] });
    d.setView(view, 0);
    d.linkUp('b', 1, 0);
    const hb = (seq: number, incarnation = 1, at = seq * 1000) => d.heartbeat('b', { incarnation, seq, view: viewSummary({ self: { id: new Uint8Array(32).fill(2), startedAt: 0 }, peers: [] }) }, at);
    hb(1);
    d.linkDown('b', 'disconnect', 1500, true);
    const events = [];
    for (let s = 2; s < 12; s++) {
      hb(s);
      events.push(...d.tick(s * 1000 + 1).events);
    }
    expect(d.verdict('b')).toBe('disconnected');
    expect(events.filter((e) => e.type === 'partition' || e.type === 'decision')).toEqual([]);
    hb(1, 2, 12_000); // it restarted
    expect(d.verdict('b')).toBe('restarted');
    d.linkUp('b', 2, 13_000);
    expect(d.verdict('b')).toBe('up');
    // Without `deliberate`, the same sequence is the seed's partition.
    d.linkDown('b', 'tick_timeout', 14_000);
    d.heartbeat('b', { incarnation: 2, seq: 5, view: viewSummary({ self: { id: new Uint8Array(32).fill(2), startedAt: 0 }, peers: [] }) }, 15_000);
    expect(d.verdict('b')).toBe('partitioned');
  });
});

describe('two nodes, link up: the link is second evidence', () => {
  it('a few lost heartbeats do not make a linked peer down (nobody to ask); silence ends as degraded, a dead link as down', () => {
    const d = createDetector({ interval: 1000, maxSilence: 10_000 }, { random: () => 0.5 });
    const view = viewSummary({ self: { id: new Uint8Array(32).fill(1), startedAt: 0 }, peers: [] });
    d.setView(view, 0);
    d.linkUp('b', 1, 0);
    const theirs = viewSummary({ self: { id: new Uint8Array(32).fill(2), startedAt: 0 }, peers: [] });
    for (let s = 1; s <= 10; s++) d.heartbeat('b', { incarnation: 1, seq: s, view: theirs }, s * 1000);
    for (let t = 10_100; t < 14_000; t += 100) d.tick(t); // three intervals without a datagram
    expect(d.verdict('b')).toBe('up');
    for (let t = 14_000; t <= 21_000; t += 100) d.tick(t);
    expect(d.verdict('b')).toBe('degraded');
    d.linkDown('b', 'tick_timeout', 21_500);
    expect(d.verdict('b')).toBe('down');
  });
});

describe('a flapping path', () => {
  it('delays the decision until heartbeats have come steadily for stableAfter', () => {
    const d = createDetector({ interval: 1000, stableAfter: 5000 }, { random: () => 0.5 });
    const mine = viewSummary({ self: { id: new Uint8Array(32).fill(1), startedAt: 0 }, peers: [] });
    const theirs = viewSummary({ self: { id: new Uint8Array(32).fill(2), startedAt: 0 }, peers: [] });
    d.setView(mine, 0);
    d.linkUp('b', 1, 0);
    d.heartbeat('b', { incarnation: 1, seq: 1, view: theirs }, 500);
    d.linkDown('b', 'tick_timeout', 1000);
    let seq = 2;
    const decisions = (events: DetectorEvent[]) => events.filter((e) => e.type === 'decision');
    const found: DetectorEvent[] = [];
    // Flapping: two heartbeats, then a 3 s gap, over and over for 20 s: no decision.
    for (let t = 1000; t < 21_000; t += 5000) {
      d.heartbeat('b', { incarnation: 1, seq: seq++, view: theirs }, t);
      d.heartbeat('b', { incarnation: 1, seq: seq++, view: theirs }, t + 1000);
      for (let u = t; u < t + 5000; u += 250) found.push(...d.tick(u).events);
    }
    expect(decisions(found)).toEqual([]);
    // Steady from 21 s: a decision once stableAfter has passed.
    for (let t = 21_000; t <= 28_000; t += 1000) {
      d.heartbeat('b', { incarnation: 1, seq: seq++, view: theirs }, t);
      found.push(...d.tick(t + 1).events);
    }
    const ds = decisions(found);
    expect(ds).toHaveLength(1);
    expect(ds[0]!.at).toBeGreaterThanOrEqual(26_000);
  });
});

describe('loss seen', () => {
  it("is the share of a peer's rounds that did not arrive, over its last 100 rounds; null with a fanout", () => {
    const d = createDetector({ interval: 1000 }, { random: fixedRandom() });
    d.setView(VIEW_ALL, 0);
    d.linkUp('b', 1, 0);
    const feed = (from: number, to: number, lostEvery: number) => {
      for (let seq = from; seq <= to; seq++) if (seq % lostEvery !== 0) d.heartbeat('b', { incarnation: 1, seq, view: VIEW_ALL }, seq * 1000);
    };
    feed(1, 5, 1000);
    expect(d.status('b', 5000)?.loss).toBeNull(); // too few rounds yet
    feed(6, 40, 10); // one round in ten lost
    expect(d.status('b', 40_000)?.loss).toBeCloseTo(3 / 39, 5); // seq 40 is lost too, but not known yet
    feed(41, 300, 4); // then one in four: the last whole window says so
    expect(d.status('b', 300_000)?.loss).toBeCloseTo(0.25, 1);
    // A silence counts while it lasts: cut off for 200 rounds, most of the window is lost.
    expect(d.status('b', 500_000)?.loss).toBeGreaterThan(0.6);
    expect(d.status('b', 500_000)?.loss).toBeLessThanOrEqual(1);
    // A restart starts over.
    d.heartbeat('b', { incarnation: 2, seq: 0, view: VIEW_ALL }, 301_000);
    expect(d.status('b', 301_000)?.loss).toBeNull();
    const f = createDetector({ interval: 1000, fanout: 2 }, { random: fixedRandom() });
    f.setView(VIEW_ALL, 0);
    for (let seq = 1; seq <= 50; seq++) f.heartbeat('b', { incarnation: 1, seq: seq * 3, view: VIEW_ALL }, seq * 1000);
    expect(f.status('b', 50_000)?.loss).toBeNull();
  });
});
