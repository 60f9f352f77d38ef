// Kernel-to-kernel requests over a link (system frames): never user messages. Each op has a strict
// shape; a frame that does not match is a protocol error, not something to guess at.
import { checkString, checkUint, readString, readUint } from './codec.ts';
import { WireError } from './errors.ts';
import { readViewFields, viewFields, type ViewSummary } from './heartbeat.ts';
import { checkTags } from './hello.ts';
import { MAX_NAME_BYTES } from './limits.ts';

/** Most node names one `nodes` answer carries. */
export const MAX_LISTED_NODES = 4096;
const MAX_STRATEGY_BYTES = 32;

/** A partition or decision a node forwards to the hidden nodes linked to it (they run no detector). */
export type ForwardedEvent =
  | { readonly type: 'partition'; readonly node: string; readonly incarnation: number }
  | {
    readonly type: 'decision';
    readonly node: string;
    readonly strategy: string;
    readonly decision: 'stay' | 'restart';
    readonly mine: ViewSummary;
    readonly theirs: ViewSummary;
  };

export type SystemMessage =
  /** "Which visible nodes are you connected to?" `id` pairs the answer with the question. */
  | { readonly op: 'nodes?'; readonly id: number }
  /**
   * The visible nodes the sender is linked to now, and those it is apart from: its policy will not
   * link to them (`never`, barred, denied), or its link to them was lost and is not back. Sent when
   * either changes: the mesh (OTP's connect_all) and the overlapping-partition check read them.
   */
  | { readonly op: 'links'; readonly nodes: readonly string[]; readonly apart: readonly string[] }
  /**
   * "Where do these nodes take links?" Asked of the peer whose `links` list named nodes we have no
   * address for (they joined it by address, nobody configured them here).
   */
  | { readonly op: 'where?'; readonly nodes: readonly string[] }
  /** The answer: the addresses the sender knows, configured or learned (a node it does not know is left out). */
  | { readonly op: 'here'; readonly addresses: readonly NodeAddress[] }
  /** The sender's tags changed (they travel in the hello; this carries a change on a live link). */
  | { readonly op: 'tags'; readonly tags: Readonly<Record<string, string>> }
  | { readonly op: 'nodes'; readonly id: number; readonly nodes: readonly string[] }
  | { readonly op: 'event'; readonly event: ForwardedEvent };

/** Where a node takes links. */
export interface NodeAddress {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** A host name or an IP literal. */
const MAX_HOST_BYTES = 255;

/** The msgpack body of a system frame: `[op, ...fields]`. */
export function encodeSystem(m: SystemMessage): unknown[] {
  switch (m.op) {
    case 'nodes?':
      checkUint(m.id, 'id');
      return ['nodes?', m.id];
    case 'nodes':
      checkUint(m.id, 'id');
      checkNames(m.nodes);
      return ['nodes', m.id, [...m.nodes]];
    case 'links':
      checkNames(m.nodes);
      checkNames(m.apart);
      return ['links', [...m.nodes], [...m.apart]];
    case 'where?':
      checkNames(m.nodes);
      return ['where?', [...m.nodes]];
    case 'here':
      if (!Array.isArray(m.addresses) || m.addresses.length > MAX_LISTED_NODES) throw new WireError('INVALID_VALUE', `addresses must list at most ${MAX_LISTED_NODES} nodes`);
      return ['here', m.addresses.map((a, i) => {
        checkString(a.name, `addresses[${i}].name`, MAX_NAME_BYTES);
        checkString(a.host, `addresses[${i}].host`, MAX_HOST_BYTES);
        if (!(Number.isInteger(a.port) && a.port > 0 && a.port < 65536)) throw new WireError('INVALID_VALUE', `addresses[${i}].port must be a port number 1..65535`);
        return [a.name, a.host, a.port];
      })];
    case 'tags':
      return ['tags', { ...checkTags(m.tags) }];
    case 'event': {
      const e = m.event;
      checkString(e?.node, 'event.node', MAX_NAME_BYTES);
      if (e.type === 'partition') {
        checkUint(e.incarnation, 'event.incarnation');
        return ['event', 'partition', e.node, e.incarnation];
      }
      if (e.type === 'decision') {
        checkString(e.strategy, 'event.strategy', MAX_STRATEGY_BYTES);
        if (e.decision !== 'stay' && e.decision !== 'restart') throw new WireError('INVALID_VALUE', 'event.decision must be stay or restart');
        return ['event', 'decision', e.node, e.strategy, e.decision, viewFields(e.mine, 'event.mine'), viewFields(e.theirs, 'event.theirs')];
      }
      throw new WireError('INVALID_VALUE', `unknown forwarded event type ${String((e as { type: unknown }).type)}`);
    }
    default:
      throw new WireError('INVALID_VALUE', `unknown system op ${String((m as { op: unknown }).op)}`);
  }
}

function checkNames(nodes: unknown): void {
  if (!Array.isArray(nodes) || nodes.length > MAX_LISTED_NODES) throw new WireError('INVALID_VALUE', `nodes must list at most ${MAX_LISTED_NODES} names`);
  nodes.forEach((n, i) => checkString(n, `nodes[${i}]`, MAX_NAME_BYTES));
}

function readNames(list: unknown): string[] {
  if (!Array.isArray(list) || list.length > MAX_LISTED_NODES) throw new WireError('MALFORMED', `nodes must list at most ${MAX_LISTED_NODES} names`);
  return list.map((n, i) => readString(n, `nodes[${i}]`, MAX_NAME_BYTES));
}

function fields(v: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length !== n) throw new WireError('MALFORMED', `${what} must have ${n} fields`);
  return v;
}

export function decodeSystem(body: unknown): SystemMessage {
  if (!Array.isArray(body) || body.length === 0) throw new WireError('MALFORMED', 'system body must be [op, ...]');
  const op = readString(body[0], 'op', 16);
  switch (op) {
    case 'nodes?':
      fields(body, 2, 'nodes?');
      return { op, id: readUint(body[1], 'id') };
    case 'nodes':
      fields(body, 3, 'nodes');
      return { op, id: readUint(body[1], 'id'), nodes: readNames(body[2]) };
    case 'links':
      fields(body, 3, 'links');
      return { op, nodes: readNames(body[1]), apart: readNames(body[2]) };
    case 'where?':
      fields(body, 2, 'where?');
      return { op, nodes: readNames(body[1]) };
    case 'here': {
      fields(body, 2, 'here');
      const list = body[1];
      if (!Array.isArray(list) || list.length > MAX_LISTED_NODES) throw new WireError('MALFORMED', `addresses must list at most ${MAX_LISTED_NODES} nodes`);
      return {
        op,
        addresses: list.map((e, i) => {
          const a = fields(e, 3, `addresses[${i}]`);
          const port = readUint(a[2], `addresses[${i}].port`);
          if (port < 1 || port > 65535) throw new WireError('MALFORMED', `addresses[${i}].port must be a port number`);
          return { name: readString(a[0], `addresses[${i}].name`, MAX_NAME_BYTES), host: readString(a[1], `addresses[${i}].host`, MAX_HOST_BYTES), port };
        }),
      };
    }
    case 'tags':
      fields(body, 2, 'tags');
      try {
        return { op, tags: { ...checkTags(body[1]) } };
      } catch (err) {
        throw new WireError('MALFORMED', (err as Error).message);
      }
    case 'event': {
      const type = readString(body[1], 'event.type', 16);
      if (type === 'partition') {
        fields(body, 4, 'partition event');
        return { op, event: { type, node: readString(body[2], 'event.node', MAX_NAME_BYTES), incarnation: readUint(body[3], 'event.incarnation') } };
      }
      if (type === 'decision') {
        fields(body, 7, 'decision event');
        const decision = readString(body[4], 'event.decision', 8);
        if (decision !== 'stay' && decision !== 'restart') throw new WireError('MALFORMED', 'event.decision must be stay or restart');
        return {
          op,
          event: {
            type,
            node: readString(body[2], 'event.node', MAX_NAME_BYTES),
            strategy: readString(body[3], 'event.strategy', MAX_STRATEGY_BYTES),
            decision,
            mine: readViewFields(fields(body[5], 6, 'event.mine'), 0, 'event.mine'),
            theirs: readViewFields(fields(body[6], 6, 'event.theirs'), 0, 'event.theirs'),
          },
        };
      }
      throw new WireError('UNKNOWN_TYPE', `unknown forwarded event type ${JSON.stringify(type)}`);
    }
    default:
      throw new WireError('UNKNOWN_TYPE', `unknown system op ${JSON.stringify(op)}`);
  }
}
