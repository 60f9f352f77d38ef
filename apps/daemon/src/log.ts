// Structured logs with pino: JSON lines by default (for journald, Loki, jq), pino-pretty's
// human-readable lines when stdout is a terminal, or as configured. Bytes (node ids, view
// hashes, keys) are logged as base64, as the control API streams them: JSON.stringify would
// spell a Uint8Array as {"0":96,"1":203,...}, a line of hundreds of characters.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config-schema.ts';

export type { Logger } from 'pino';

export interface LogOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Default: process.stdout. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export function createLogger(options: LogOptions): Logger {
  const stream = options.stream ?? process.stdout;
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && stream.isTTY === true);
  const base = { level: options.level, base: { pid: process.pid }, formatters: { log: (fields: Record<string, unknown>) => bytesAsBase64(fields) as Record<string, unknown> } };
  if (usePretty) {
    // In-thread, synchronous pretty-printing: no worker thread to outlive a fatal exit.
    return pino(base, pretty({ destination: stream, sync: true, colorize: stream.isTTY === true, ignore: 'pid,hostname' }));
  }
  return pino(base, stream);
}

/** A copy of `value` with every Uint8Array (Buffers too) as a base64 string. */
export function bytesAsBase64(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (typeof value !== 'object' || value === null || value instanceof Error || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => bytesAsBase64(v, seen));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = bytesAsBase64(v, seen);
  return out;
}

/** Node ids and view hashes in a log line: 8 base64 characters (48 bits) tell them apart. */
const SHORT_ID = 8;

/**
 * A view summary (a decision's `mine`/`theirs`) for a log line: the ids shortened, so a
 * decision is one short line. /v1/events streams the full values.
 */
export function viewForLog(view: unknown): unknown {
  if (typeof view !== 'object' || view === null) return view;
  const v = view as { connected?: unknown; lowest?: unknown; oldest?: { id?: unknown; startedAt?: unknown } | null; referee?: unknown; hash?: unknown };
  const short = (id: unknown): unknown => (id instanceof Uint8Array ? Buffer.from(id).toString('base64').slice(0, SHORT_ID) : id);
  return {
    connected: v.connected,
    lowest: short(v.lowest),
    oldest: v.oldest ? `${String(short(v.oldest.id))} since ${typeof v.oldest.startedAt === 'number' ? new Date(v.oldest.startedAt).toISOString() : String(v.oldest.startedAt)}` : null,
    referee: v.referee,
    hash: short(v.hash),
  };
}
