import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import type { DistkitNode } from './api.ts';
import { members, nodeFor, portBase } from './cluster.test-support.ts';

// The collector, to see what the kernel keeps reachable (a Node-only test: node:v8 and node:vm).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const running: DistkitNode[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.stop()));
});

/** a linked to b on loopback. */
async function linkedPair(): Promise<[DistkitNode, DistkitNode]> {
  const ms = members(['a', 'b'], portBase(71));
  const [a, b] = ms.map((m) => nodeFor(m, ms, { connectAtStart: false })) as [DistkitNode, DistkitNode];
  running.push(a, b);
  await Promise.all([a.start(), b.start()]);
  await a.connectNode('b');
  return [a, b];
}

describe('messages() memory', () => {
  it('a message the reader has taken is no longer reachable from the kernel, while the reader stays subscribed', async () => {
    const [a, b] = await linkedPair();
    const reader = b.messages()[Symbol.asyncIterator]();
    const N = 1000; // 64 MB in all: each value kept after its read would show
    const refs: WeakRef<Uint8Array>[] = [];
    const reading = (async () => {
      for (let i = 0; i < N; i++) {
        const r = await reader.next();
        refs.push(new WeakRef((r.value as { value: Uint8Array }).value));
      }
    })();
    for (let i = 0; i < N; i++) await a.send('b', new Uint8Array(64 * 1024).fill(i & 0xff));
    await reading;
    // WeakRef targets live to the end of the job that made them: collect on a later turn.
    await new Promise((r) => setTimeout(r, 10));
    gc();
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    expect(alive, `${alive} of ${N} values read still reachable`).toBeLessThanOrEqual(2);
    await reader.return?.();
  });
});
