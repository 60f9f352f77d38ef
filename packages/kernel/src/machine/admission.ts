// Who may link, decided at each checkpoint before anything reaches the user (js-libp2p's gater):
// 1. a stream arrives: per-address rate, half-open slots;
// 2. the peer has proven its key and named itself: not ourselves, the name we dialled, trusted,
//    and allowed by the policy (allow/deny, limits, simultaneous connects);
// 3. both sides hold the same keys: the policy's `connected` (conflicts between two links).
// And the policy's decisions, carried out: dials, refusals, closes, dropped sends.
import { fingerprint, type Trust } from '@distkit/handshake';
import type { Decision, Policy } from '@distkit/policy';
import type { Hello } from '@distkit/wire';
import type { KernelEvent, NodedownReason } from '../api.ts';
import { KernelError } from '../errors.ts';
import { equal } from './heartbeat-channel.ts';
import type { LinkMachine, PeerVerdict } from './link-machine.ts';
import type { Peer, PeerTable } from './peer-table.ts';
import { AddressRateLimiter } from './rate-limit.ts';

export interface HandshakeCounters {
  ok: number;
  failed: number;
  refused: number;
  timeout: number;
}

export interface AdmissionHost {
  readonly name: string;
  readonly peers: PeerTable;
  readonly handshakes: HandshakeCounters;
  trust(): Trust;
  link(conn: number): LinkMachine | undefined;
  /** Start a dial to `name` now (the policy said so). */
  dial(name: string, now: number): void;
  closeLink(link: LinkMachine, reason: NodedownReason, detail: string, notify: boolean): void;
  /** connectNode() callers and queued sends for `name` fail with `error`. */
  failWaiters(peer: Peer, error: KernelError): void;
  /** One queued send (the `message` of a `drop` decision) fails. */
  dropQueued(name: string, token: unknown, error: KernelError): void;
  publish(event: KernelEvent): void;
}

const hex = (key: Uint8Array): string => {
  let s = '';
  for (const b of key) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
};

export class Admission {
  readonly policy: Policy;
  readonly #host: AdmissionHost;
  readonly #rate: AddressRateLimiter;
  /** Dials in flight: connection -> the name dialled (the peer must prove that name). */
  readonly dialing: Map<number, string> = new Map();

  constructor(host: AdmissionHost, policy: Policy, handshakesPerSecondPerAddress: number) {
    this.#host = host;
    this.policy = policy;
    this.#rate = new AddressRateLimiter(handshakesPerSecondPerAddress);
  }

  // ---- checkpoint 1: a stream arrives ----------------------------------------------------------

  /** Whether a new inbound stream from `host` may start a handshake (before any crypto). */
  stream(conn: number, host: string, now: number): boolean {
    if (!this.#rate.take(host, now)) {
      this.#host.handshakes.refused++;
      return false;
    }
    const decisions = this.policy.handle({ type: 'inboundAttempt', connection: conn, address: host }, now);
    const refused = decisions.some((d) => d.type === 'refuse' && d.connection === conn);
    this.apply(decisions.filter((d) => !(d.type === 'refuse' && d.connection === conn)), now);
    if (refused) this.#host.handshakes.refused++;
    return !refused;
  }

  // ---- checkpoint 2: the peer named itself and proved its key -------------------------------------

  peer(link: LinkMachine, hello: Hello, key: Uint8Array, now: number): PeerVerdict {
    const h = this.#host;
    const expected = this.dialing.get(link.conn);
    let verdict: PeerVerdict;
    if (expected !== undefined && hello.name !== expected) {
      verdict = { accept: false, reason: 'refused', detail: `dialled ${expected} but the peer says it is ${hello.name}` };
    } else if (hello.name === h.name) {
      verdict = { accept: false, reason: 'refused', detail: 'connected to itself' };
    } else {
      verdict = this.#trusted(hello.name, key, now);
    }
    if (verdict.accept && link.role === 'responder') {
      const decisions = this.policy.handle({
        type: 'inboundAttempt', connection: link.conn, node: hello.name, incarnation: hello.incarnation, id: key, hidden: hello.hidden,
      }, now);
      const refused = decisions.find((d) => d.type === 'refuse' && d.connection === link.conn);
      this.apply(decisions.filter((d) => d !== refused), now);
      if (refused && refused.type === 'refuse') verdict = { accept: false, reason: 'refused', detail: `refused by policy: ${refused.reason}` };
    }
    if (!verdict.accept) {
      h.handshakes.refused++;
      h.publish({ type: 'refused', node: hello.name, remote: `${link.remote.host}:${link.remote.port}`, reason: verdict.detail, at: now });
    }
    return verdict;
  }

  /** Trust of `key` under `name`: a pin in the configuration first, then the trust store. */
  #trusted(name: string, key: Uint8Array, now: number): PeerVerdict {
    const p = this.#host.peers.get(name);
    const pinned = p?.config?.publicKey ?? null;
    const v = pinned && !equal(pinned, key)
      ? { decision: 'changed' as const, reason: `the configuration pins another key for '${name}'` }
      : pinned ? { decision: 'trusted' as const, reason: 'pinned in the configuration' } : this.#host.trust().explain(name, key);
    switch (v.decision) {
      case 'trusted':
      case 'unknown': // TOFU: learned once the link is confirmed (see `learn`)
        return { accept: true };
      case 'changed': {
        const expected = pinned ?? this.#host.trust().keyFor(name) ?? p?.key ?? null;
        this.#host.publish({ type: 'key-changed', node: name, expected: expected ? fingerprint(expected) : 'unknown', presented: fingerprint(key), at: now });
        return { accept: false, reason: 'key_changed', detail: `${name} presented ${fingerprint(key)}: ${v.reason}` };
      }
      default:
        return { accept: false, reason: 'refused', detail: `${name} (${fingerprint(key)}): ${v.reason}` };
    }
  }

  /**
   * After confirmation, a TOFU peer's key is pinned. Returns what the store's `learn` returned (a
   * promise when it persists), or a verdict refusing the link when the key is no longer learnable
   * (another link pinned another key for the name meanwhile).
   */
  learn(name: string, key: Uint8Array): { readonly verdict: PeerVerdict; readonly pending: Promise<unknown> | null } {
    const trust = this.#host.trust();
    const p = this.#host.peers.get(name);
    if (p?.config?.publicKey) return { verdict: { accept: true }, pending: null };
    const v = trust.explain(name, key);
    if (v.decision === 'trusted') return { verdict: { accept: true }, pending: null };
    if (v.decision !== 'unknown') return { verdict: { accept: false, reason: v.decision === 'changed' ? 'key_changed' : 'refused', detail: `${name}: ${v.reason}` }, pending: null };
    try {
      const r = trust.learn(name, key);
      return { verdict: { accept: true }, pending: r instanceof Promise ? r : null };
    } catch (err) {
      return { verdict: { accept: false, reason: 'refused', detail: `${name}: cannot trust on first use: ${(err as Error).message}` }, pending: null };
    }
  }

  // ---- checkpoint 3: both sides confirmed ---------------------------------------------------------

  /** Tells the policy the link is up; false when its decisions closed this very link. */
  connected(link: LinkMachine, now: number): boolean {
    const hello = link.remoteHello!;
    this.apply(this.policy.handle({
      type: 'connected', node: hello.name, connection: link.conn, direction: link.role === 'initiator' ? 'out' : 'in',
      incarnation: hello.incarnation, id: hex(link.remoteKey!), hidden: hello.hidden,
    }, now), now);
    return link.state !== 'closed';
  }

  // ---- the policy's decisions, carried out --------------------------------------------------------

  apply(decisions: readonly Decision[], now: number): void {
    const h = this.#host;
    for (const d of decisions) {
      switch (d.type) {
        case 'dial':
          h.dial(d.node, now);
          break;
        case 'refuse':
          if (d.connection !== null) {
            const l = h.link(Number(d.connection));
            if (l) h.closeLink(l, 'refused', `refused by policy: ${d.reason}`, false);
          } else if (d.node) {
            const p = h.peers.get(d.node);
            const why = d.reason === 'denied' ? 'denied by the policy (deny list)' : d.reason === 'notAllowed' ? 'not in the allow list' : `refused by policy: ${d.reason}`;
            if (p) h.failWaiters(p, new KernelError('REFUSED', `connect to ${d.node}: ${why}`));
          }
          break;
        case 'drop':
          h.dropQueued(d.node, d.message, new KernelError('AUTO_CONNECT_REFUSED', `not connected to ${d.node}, and auto-connect may not connect it (${d.reason})`));
          break;
        case 'cancel':
          if (d.inFlight && d.connection !== null) {
            const l = h.link(Number(d.connection));
            if (l) h.closeLink(l, 'replaced', `dial cancelled: ${d.reason}`, false);
          }
          break;
        case 'close': {
          const l = h.link(Number(d.connection));
          if (l) h.closeLink(l, d.reason === 'denied' || d.reason === 'notAllowed' ? 'refused' : 'replaced', `closed by policy: ${d.reason}`, false);
          break;
        }
        case 'violation': {
          // A shrunk allow/deny list: links that now break it are closed, with a word to the peer.
          const l = h.link(Number(d.connection));
          if (l) h.closeLink(l, 'refused', `link no longer allowed (${d.reason})`, false);
          break;
        }
        case 'giveUp': {
          const p = h.peers.get(d.node);
          if (p) h.failWaiters(p, new KernelError('CONNECT_FAILED', `gave up on ${d.node} after ${d.attempts} attempts`));
          break;
        }
        default:
          // retry, wait, ready, accept, keep, barred, unbarred, ignore: nothing to carry out; the
          // policy keeps the schedule (`nextWakeup`).
          break;
      }
    }
  }

  /** Fails a peer's waiters unless the policy still has a dial or a link on its way for it. */
  failWaitersIfIdle(p: Peer, error: KernelError): void {
    const phase = this.policy.state(p.name)?.phase;
    if (phase === 'dialing' || phase === 'queued' || phase === 'accepting' || phase === 'linked') return;
    this.#host.failWaiters(p, error);
  }
}
