// Structured logs with pino: JSON lines by default (for journald, Loki, jq), pino-pretty's
// human-readable lines when stdout is a terminal, or as configured.
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
  const base = { level: options.level, base: { pid: process.pid } };
  if (usePretty) {
    // In-thread, synchronous pretty-printing: no worker thread to outlive a fatal exit.
    return pino(base, pretty({ destination: stream, sync: true, colorize: stream.isTTY === true, ignore: 'pid,hostname' }));
  }
  return pino(base, stream);
}
