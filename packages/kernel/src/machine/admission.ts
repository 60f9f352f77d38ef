// Who may link, decided at each checkpoint before anything reaches the user (js-libp2p's gater):
// 1. a stream arrives: per-address rate, half-open slots;
// 2. the peer has proven its key and named itself: not ourselves, the name we dialled, trusted,
//    and allowed by the policy (allow/deny, limits, simultaneous connects);
// 3. both sides hold the same keys: the policy's `connected` (conflicts between two links).
// And the policy's decisions, carried out: dials, refusals, closes, dropped sends.
import { fingerprint, type Trust } from '@distkit/handshake';
import { toHex } from '@distkit/detector';
import type { Decision, Policy } from '@distkit/policy';
import type { Hello, LinkPreamble } from '@distkit/wire';
import type { KernelEvent, NodedownReason } from '../api.ts';
import { KernelError } from '../errors.ts';
import { equal } from './heartbeat-channel.ts';
import type { LinkMachine, PeerVerdict } from './link-machine.ts';
import type { Peer, PeerTable } from './peer-table.ts';
import { AddressRateLimiter } from './rate-limit.ts';

/** Why an inbound handshake was refused, one counter each. */
export type RefusalReason =
  | 'rate_limited' | 'slots_full' | 'untrusted' | 'key_changed' | 'self' | 'wrong_name' | 'policy' | 'replayed' | 'bad_secret';
export const REFUSAL_REASONS: readonly RefusalReason[] = Object.freeze([
  'rate_limited', 'slots_full', 'untrusted', 'key_changed', 'self', 'wrong_name', 'policy', 'replayed', 'bad_secret',
] as const);

export interface HandshakeCounters {
  ok: number;
  /** Failed during setup for any other reason (a bad record, a closed stream, a wrong pinned key). */
  failed: number;
  /** Every refusal, whatever the reason (the sum of the reasons below). */
  refused: number;
  /** Did not finish (or send its first record) in time. */
  timeout: number;
  rate_limited: number;
  slots_full: number;
  untrusted: number;
  key_changed: number;
  self: number;
  wrong_name: number;
  policy: number;
  replayed: number;
  bad_secret: number;
}

export function handshakeCounters(): HandshakeCounters {
  return { ok: 0, failed: 0, refused: 0, timeout: 0, rate_limited: 0, slots_full: 0, untrusted: 0, key_changed: 0, self: 0, wrong_name: 0, policy: 0, replayed: 0, bad_secret: 0 };
}

export interface AdmissionLimits {
  readonly handshakesPerSecondPerAddress: number;
  /** Half-open inbound connections from one address. */
  readonly halfOpenPerAddress: number;
  /** Half-open inbound connections in all (the policy's maxPendingInbound). */
  readonly halfOpen: number;
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

/** IK hellos remembered for freshness (the newest per key), beyond which the oldest are forgotten. */
const MAX_HELLO_MEMORY = 16_384;

export class Admission {
  readonly policy: Policy;
  readonly #host: AdmissionHost;
  readonly #limits: AdmissionLimits;
  readonly #rate: AddressRateLimiter;
  /** Dials in flight: connection -> the name dialled (the peer must prove that name). */
  readonly dialing: Map<number, string> = new Map();
  /** Inbound links not up yet, oldest first, and their remote host. */
  readonly #halfOpen = new Map<number, string>();
  readonly #halfOpenBy = new Map<string, number>();
  /** Inbound links taken with an empty rate bucket: only an IK handshake from a trusted key goes on. */
  readonly #limited = new Set<number>();
  /** The policy accepted these inbound links (so a failure is `disconnected`, not `inboundFailed`). */
  readonly accepted: Set<number> = new Set();
  /** The newest IK hello per key (hex): (incarnation, time). */
  readonly #lastHello = new Map<string, { incarnation: number; time: number }>();

  constructor(host: AdmissionHost, policy: Policy, limits: AdmissionLimits) {
    this.#host = host;
    this.policy = policy;
    this.#limits = limits;
    this.#rate = new AddressRateLimiter(limits.handshakesPerSecondPerAddress);
  }

  #refuse(reason: RefusalReason): void {
    const c = this.#host.handshakes;
    c[reason]++;
    c.refused++;
  }

  // ---- checkpoint 1: a stream arrives ----------------------------------------------------------

  /**
   * Whether a new inbound stream from `host` may start a handshake (before any crypto). Half-open
   * slots are bounded per address and in all; when they are full, the oldest connection that has
   * not sent its first record yet makes room (a slowloris cannot hold slots against a peer that
   * speaks at once). With the address's rate budget spent, the stream is still taken, but only an
   * IK handshake from a key we trust may go on (an attacker sharing an honest peer's address
   * cannot lock it out by spending the budget).
   */
  stream(conn: number, host: string, now: number): boolean {
    const limited = !this.#rate.take(host, now);
    if ((this.#halfOpenBy.get(host) ?? 0) >= this.#limits.halfOpenPerAddress && !this.#evict(host)) {
      this.#refuse('slots_full');
      return false;
    }
    if (this.#halfOpen.size >= this.#limits.halfOpen && !this.#evict(null)) {
      this.#refuse('slots_full');
      return false;
    }
    const decisions = this.policy.handle({ type: 'inboundAttempt', connection: conn, address: host }, now);
    const refused = decisions.some((d) => d.type === 'refuse' && d.connection === conn);
    this.apply(decisions.filter((d) => !(d.type === 'refuse' && d.connection === conn)), now);
    if (refused) {
      this.#refuse('slots_full');
      return false;
    }
    this.#halfOpen.set(conn, host);
    this.#halfOpenBy.set(host, (this.#halfOpenBy.get(host) ?? 0) + 1);
    if (limited) this.#limited.add(conn);
    return true;
  }

  /** Closes the oldest half-open link (from `host`, or any) that has not sent its first record. */
  #evict(host: string | null): boolean {
    for (const [conn, from] of this.#halfOpen) {
      if (host !== null && from !== host) continue;
      const link = this.#host.link(conn);
      if (!link || !link.awaitingFirstRecord) continue;
      this.#host.closeLink(link, 'setup_timeout', 'a newer connection needed its slot and this one had sent nothing', false);
      return true;
    }
    return false;
  }

  /** A link is up or gone: its half-open slot is free. */
  settled(conn: number): void {
    const host = this.#halfOpen.get(conn);
    this.#limited.delete(conn);
    this.accepted.delete(conn);
    if (host === undefined) return;
    this.#halfOpen.delete(conn);
    const n = (this.#halfOpenBy.get(host) ?? 1) - 1;
    if (n > 0) this.#halfOpenBy.set(host, n);
    else this.#halfOpenBy.delete(host);
  }

  /** The first record's preamble (pattern, suite), before any crypto. */
  preamble(link: LinkMachine, preamble: LinkPreamble, now: number): PeerVerdict {
    void now;
    if (this.#limited.has(link.conn) && !preamble.pattern.startsWith('IK')) {
      this.#refuse('rate_limited');
      return { accept: false, reason: 'refused', detail: `too many handshakes from ${link.remote.host}: only a trusted key (IK) goes on now` };
    }
    return { accept: true };
  }

  // ---- checkpoint 2: the peer named itself and proved its key -------------------------------------

  peer(link: LinkMachine, hello: Hello, key: Uint8Array, now: number): PeerVerdict {
    const h = this.#host;
    const expected = this.dialing.get(link.conn);
    let verdict: PeerVerdict;
    let why: RefusalReason | null = null;
    let quiet = false;
    if (expected !== undefined && hello.name !== expected) {
      verdict = { accept: false, reason: 'refused', detail: `dialled ${expected} but the peer says it is ${hello.name}` };
      why = 'wrong_name';
    } else if (hello.name === h.name) {
      verdict = { accept: false, reason: 'refused', detail: 'connected to itself' };
      why = 'self';
    } else if (link.role === 'responder' && link.pattern?.startsWith('IK') && !this.#fresh(key, hello)) {
      // A replayed (or duplicated) IK first message: it cannot complete, and it must cost the
      // link it copies nothing, so it is dropped without a word (and without an event).
      verdict = { accept: false, reason: 'refused', detail: `an IK first message from ${hello.name} that is not newer than the last one (a replay)` };
      why = 'replayed';
      quiet = true;
    } else {
      const trust = this.#trusted(hello.name, key, now);
      verdict = trust.verdict;
      if (!verdict.accept) why = trust.why;
      else if (this.#limited.has(link.conn) && verdict.learn) {
        verdict = { accept: false, reason: 'refused', detail: `too many handshakes from ${link.remote.host}: only a trusted key goes on now` };
        why = 'rate_limited';
      }
    }
    if (verdict.accept && link.role === 'responder') {
      const decisions = this.policy.handle({
        type: 'inboundAttempt', connection: link.conn, node: hello.name, incarnation: hello.incarnation, id: key, hidden: hello.hidden,
      }, now);
      const refused = decisions.find((d) => d.type === 'refuse' && d.connection === link.conn);
      this.apply(decisions.filter((d) => d !== refused), now);
      if (refused && refused.type === 'refuse') {
        verdict = { accept: false, reason: 'refused', detail: `refused by policy: ${refused.reason}` };
        why = 'policy';
      } else this.accepted.add(link.conn);
    }
    if (!verdict.accept) {
      this.#refuse(why ?? 'untrusted');
      if (!quiet) h.publish({ type: 'refused', node: hello.name, remote: `${link.remote.host}:${link.remote.port}`, reason: verdict.detail, at: now });
    } else if (link.role === 'responder' && link.pattern?.startsWith('IK')) {
      this.#remember(key, hello);
    }
    return verdict;
  }

  /** An IK hello newer than the last one from this key (by incarnation, then time). */
  #fresh(key: Uint8Array, hello: Hello): boolean {
    const last = this.#lastHello.get(toHex(key));
    return !last || hello.incarnation > last.incarnation || (hello.incarnation === last.incarnation && hello.time > last.time);
  }

  #remember(key: Uint8Array, hello: Hello): void {
    const k = toHex(key);
    this.#lastHello.delete(k);
    this.#lastHello.set(k, { incarnation: hello.incarnation, time: hello.time });
    if (this.#lastHello.size > MAX_HELLO_MEMORY) this.#lastHello.delete(this.#lastHello.keys().next().value!);
  }

  /** Trust of `key` under `name`: a pin in the configuration first, then the trust store. */
  #trusted(name: string, key: Uint8Array, now: number): { verdict: PeerVerdict; why: RefusalReason } {
    const p = this.#host.peers.get(name);
    const pinned = p?.config?.publicKey ?? null;
    const v = pinned && !equal(pinned, key)
      ? { decision: 'changed' as const, reason: `the configuration pins another key for '${name}'` }
      : pinned ? { decision: 'trusted' as const, reason: 'pinned in the configuration' } : this.#host.trust().explain(name, key);
    switch (v.decision) {
      case 'trusted':
        return { verdict: { accept: true }, why: 'untrusted' };
      case 'unknown': // TOFU: learned once the session is confirmed, before `ready` (see `learn`)
        return { verdict: { accept: true, learn: true }, why: 'untrusted' };
      case 'changed': {
        const expected = pinned ?? this.#host.trust().keyFor(name) ?? p?.key ?? null;
        this.#host.publish({ type: 'key-changed', node: name, expected: expected ? fingerprint(expected) : 'unknown', presented: fingerprint(key), at: now });
        return { verdict: { accept: false, reason: 'key_changed', detail: `${name} presented ${fingerprint(key)}: ${v.reason}` }, why: 'key_changed' };
      }
      default:
        return { verdict: { accept: false, reason: 'refused', detail: `${name} (${fingerprint(key)}): ${v.reason}` }, why: 'untrusted' };
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
      incarnation: hello.incarnation, id: toHex(link.remoteKey!), hidden: hello.hidden,
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
