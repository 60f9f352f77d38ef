// When membership.ts links a joined peer again, on a clock this test controls (the end-to-end
// flow, with real daemons restarted, is in membership.test.ts): after the peer stopped on purpose
// only, with backoff, until it is back, and never under `never` or once it was forced out. The
// node is a recording stand-in: what matters here is which connects are asked for, and when.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeInfo } from '@distkit/kernel';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';
import { Membership, type Timers } from './membership.ts';

const log = createLogger({ level: 'silent', format: 'json' });

function clock(): Timers & { advance(ms: number): Promise<void>; now(): number } {
  let now = 0;
  const due: Array<{ at: number; fn: () => void; id: number }> = [];
  let next = 0;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++next;
      due.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(id) {
      const i = due.findIndex((d) => d.id === id);
      if (i >= 0) due.splice(i, 1);
    },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        due.sort((a, b) => a.at - b.at);
        const first = due[0];
        if (first === undefined || first.at > end) break;
        due.shift();
        now = first.at;
        first.fn();
        await new Promise((r) => setImmediate(r));
      }
      now = end;
    },
  };
}

async function setup(mode: 'once' | 'never' = 'once') {
  const dir = await mkdtemp(join(tmpdir(), 'distkitd-rejoin-'));
  const connects: number[] = [];
  let up = false;
  const timers = clock();
  const node = {
    joinNode: async () => 'b',
    connectNode: async () => {
      connects.push(timers.now());
      if (!up) throw new Error('connection refused');
    },
    addPeer: () => {},
    removePeer: () => {},
    info: (): NodeInfo[] => [],
  };
  const m = new Membership({
    node,
    path: join(dir, 'joined_nodes'),
    log,
    joined: [{ name: 'b', address: { host: '127.0.0.1', port: 1 }, publicKey: null }],
    inConfig: () => false,
    peerConfig: (e) => ({ name: e.name, address: e.address }),
    modeOf: () => mode,
    timers,
    random: () => 1,
  });
  const advance = (ms: number): Promise<void> => timers.advance(ms);
  return { m, connects, advance, comeBack: () => (up = true) };
}

const stopped = { type: 'nodedown', node: 'b', reason: 'connection_closed', deliberate: 'shutdown', at: 0 } as const;

describe('linking a joined peer again', () => {
  it('after its deliberate stop: 1 s, 2 s, 4 s... until it is back, then no more', async () => {
    const { m, connects, advance, comeBack } = await setup();
    m.observe(stopped);
    await advance(1000 + 2000 + 4000);
    expect(connects).toEqual([1000, 3000, 7000]);
    comeBack();
    await advance(8000);
    expect(connects).toEqual([1000, 3000, 7000, 15000]);
    await advance(120_000);
    expect(connects).toHaveLength(4);
    m.close();
  });

  it('the bound stops at 30 s', async () => {
    const { m, connects, advance } = await setup();
    m.observe(stopped);
    await advance(300_000);
    const gaps = connects.slice(1).map((c, i) => c - (connects[i] as number));
    expect(Math.max(...gaps)).toBe(30_000);
    m.close();
  });

  it('not after a crash, a leave or our own stop; not under never; not after force-leave or a nodeup', async () => {
    for (const event of [
      { ...stopped, deliberate: undefined, reason: 'tick_timeout' },
      { ...stopped, deliberate: 'leave' },
      { ...stopped, reason: 'shutdown' },
      { ...stopped, deliberate: 'disconnect' },
    ]) {
      const { m, connects, advance } = await setup();
      m.observe(event as never);
      await advance(60_000);
      expect(connects, JSON.stringify(event)).toEqual([]);
      m.close();
    }
    const never = await setup('never');
    never.m.observe(stopped);
    await never.advance(60_000);
    expect(never.connects).toEqual([]);
    const forced = await setup();
    forced.m.observe(stopped);
    await forced.m.forceLeave('b');
    await forced.advance(60_000);
    expect(forced.connects).toEqual([]);
    const back = await setup();
    back.m.observe(stopped);
    back.m.observe({ type: 'nodeup', node: 'b', incarnation: 2, direction: 'inbound', hidden: false, at: 0 });
    await back.advance(60_000);
    expect(back.connects).toEqual([]);
  });
});
