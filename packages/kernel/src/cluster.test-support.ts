// Test support: small clusters of kernels, and waiting for what they report.
import { TrustStore, formatTrustEntry, generateIdentity, type KeyPair } from '@distkit/handshake';
import type { DistkitNode, KernelEvent, NodeOptions, PeerConfig } from './api.ts';
import { createNode } from './node.ts';
import type { Address } from './transport.ts';

export interface Member {
  name: string;
  identity: KeyPair;
  port: number;
}

/** Members with fresh keys and fixed loopback ports (so peers can be configured up front). */
export function members(names: string[], basePort: number): Member[] {
  return names.map((name, i) => ({ name, identity: generateIdentity(), port: basePort + i }));
}

export function addressOf(m: Member): Address {
  return { host: '127.0.0.1', port: m.port };
}

/** A strict trust store holding every member's key. */
export function trustAll(ms: Member[]): TrustStore {
  return new TrustStore({
    mode: 'strict',
    authorizedNodes: ms.map((m) => formatTrustEntry({ name: m.name, key: m.identity.publicKey, options: {} })).join('\n'),
  });
}

export function nodeFor(m: Member, all: Member[], over: Partial<NodeOptions> = {}): DistkitNode {
  const peers: PeerConfig[] = all.filter((x) => x !== m).map((x) => ({ name: x.name, address: addressOf(x) }));
  return createNode({
    name: m.name,
    cluster: 'test',
    identity: m.identity,
    incarnation: 1,
    listen: addressOf(m),
    peers,
    trust: { store: trustAll(all) },
    ...over,
  });
}

/** Records every event of a node from now on. */
export function record(node: DistkitNode): { events: KernelEvent[]; stop(): void } {
  const events: KernelEvent[] = [];
  const it = node.events()[Symbol.asyncIterator]();
  let running = true;
  void (async () => {
    while (running) {
      const r = await it.next();
      if (r.done) return;
      events.push(r.value);
    }
  })();
  return { events, stop: () => { running = false; void it.return?.(); } };
}

export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Distinct port ranges per test file, so files running in parallel never collide. Offsets stop at
 * 74: from 27500 up, freePort (controlled-node.test-support.ts) hands out ports.
 */
export function portBase(offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset > 74) throw new RangeError(`portBase offset ${offset}: use 0..74`);
  return 20_000 + offset * 100 + Math.floor(Math.random() * 50);
}
