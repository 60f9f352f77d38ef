// The "I am here" channel: heartbeats and probes over datagrams, each sealed with the pair's key.
// Out: one heartbeat body per round (the same for every target), sealed per target. In: size,
// sender, tag, decode, cluster and id, then the detector; every failure is a counted drop and
// nothing here may throw out of the receive path.
import { openHeartbeat, sealHeartbeat } from '@distkit/handshake';
import type { Detector, OutgoingProbe } from '@distkit/detector';
import {
  MAX_DATAGRAM_BYTES, MessageType, datagramSender, decodeHeartbeat, decodeProbe, encodeHeartbeat, encodeProbe, peekType, senderId,
  type Address, type ViewSummary,
} from '@distkit/wire';
import type { KernelStats } from '../api.ts';
import type { Peer, PeerTable } from './peer-table.ts';

export type DropReason = keyof KernelStats['drops'];

export interface HeartbeatCounters {
  heartbeatsSent: number;
  heartbeatsReceived: number;
  readonly drops: Record<DropReason, number>;
}

export interface HeartbeatDeps {
  readonly cluster: string;
  readonly name: string;
  readonly id: Uint8Array;
  readonly incarnation: number;
  readonly peers: PeerTable;
  readonly detector: Detector;
  readonly counters: HeartbeatCounters;
  send(data: Uint8Array, to: Address): void;
  /** An authenticated, fresh heartbeat from `peer` (the policy hears of it). */
  heard(peer: Peer, incarnation: number, now: number): void;
}

export class HeartbeatChannel {
  readonly #d: HeartbeatDeps;
  readonly #sender: Uint8Array;
  #seq = 0;
  #view: ViewSummary | null = null;

  constructor(deps: HeartbeatDeps) {
    this.#d = deps;
    this.#sender = senderId(deps.id);
  }

  setView(view: ViewSummary): void {
    this.#view = view;
  }

  /**
   * One heartbeat round. The sequence number grows per round, not per datagram: each receiver
   * still sees it grow, and the body is encoded once for all targets.
   */
  round(targets: readonly string[], now: number): void {
    if (!this.#view || targets.length === 0) return;
    const d = this.#d;
    const body = encodeHeartbeat({
      cluster: d.cluster,
      from: { id: d.id, name: d.name },
      incarnation: d.incarnation,
      seq: this.#seq++,
      sentAt: now,
      view: this.#view,
    });
    for (const target of targets) if (this.#seal(target, body)) d.counters.heartbeatsSent++;
  }

  probes(probes: readonly OutgoingProbe[]): void {
    const d = this.#d;
    for (const { to, request: r } of probes) {
      this.#seal(to, encodeProbe({
        kind: 'request', cluster: d.cluster, from: d.id, id: r.id, target: r.target,
        last: r.incarnation >= 0 && r.seq >= 0 ? { incarnation: r.incarnation, seq: r.seq } : null,
      }));
    }
  }

  #seal(to: string, body: Uint8Array): boolean {
    const p = this.#d.peers.get(to);
    const key = p?.pairwise[0];
    if (!key || !p.heartbeat) return false;
    this.#d.send(sealHeartbeat(key, this.#sender, body), p.heartbeat);
    return true;
  }

  /** Counts a dropped datagram; false, for `return this.#drop(...)`. */
  #drop(reason: DropReason): false {
    this.#d.counters.drops[reason]++;
    return false;
  }

  /**
   * A datagram. The sender is found by the id it carries in the clear and proven by the tag; where
   * it came from (`_from`: NAT may rewrite it) decides nothing. Returns true when the detector
   * took something from it.
   */
  receive(bytes: Uint8Array, _from: Address, now: number): boolean {
    const d = this.#d;
    try {
      if (bytes.length > MAX_DATAGRAM_BYTES) return this.#drop('too_large');
      const id = datagramSender(bytes);
      if (!id) return this.#drop('malformed');
      let p: Peer | undefined;
      let body: Uint8Array | null = null;
      for (const candidate of d.peers.bySender(id)) {
        for (const key of candidate.pairwise) {
          body = openHeartbeat(key, bytes);
          if (body) break;
        }
        if (body) {
          p = candidate;
          break;
        }
      }
      if (!p) return this.#drop(d.peers.bySender(id).length === 0 ? 'unknown_sender' : 'unauthenticated');
      if (!body || !p.key) return this.#drop('unauthenticated');
      const type = peekType(body);
      if (type === MessageType.heartbeat) {
        let hb;
        try {
          hb = decodeHeartbeat(body);
        } catch {
          return this.#drop('malformed');
        }
        if (hb.cluster !== d.cluster) return this.#drop('foreign_cluster');
        if (!equal(hb.from.id, p.key) || hb.from.name !== p.name) return this.#drop('unauthenticated');
        if (!d.detector.heartbeat(p.name, { incarnation: hb.incarnation, seq: hb.seq, view: hb.view }, now)) return this.#drop('replayed');
        d.counters.heartbeatsReceived++;
        d.heard(p, hb.incarnation, now);
        return true;
      }
      if (type === MessageType.probe) {
        let probe;
        try {
          probe = decodeProbe(body);
        } catch {
          return this.#drop('malformed');
        }
        if (probe.cluster !== d.cluster) return this.#drop('foreign_cluster');
        if (!equal(probe.from, p.key)) return this.#drop('unauthenticated');
        if (probe.kind === 'request') {
          const last = probe.last ?? { incarnation: -1, seq: -1 };
          const answer = d.detector.probeRequest(p.name, { type: 'probe', id: probe.id, target: probe.target, ...last }, now);
          this.#seal(p.name, encodeProbe({ kind: 'answer', cluster: d.cluster, from: d.id, id: answer.id, target: answer.target, alive: answer.alive }));
        } else {
          d.detector.probeAnswer(p.name, { type: 'probe-answer', id: probe.id, target: probe.target, alive: probe.alive }, now);
        }
        return true;
      }
      return this.#drop('malformed');
    } catch {
      // A detector input error means the datagram was not something we can use.
      return this.#drop('malformed');
    }
  }
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
