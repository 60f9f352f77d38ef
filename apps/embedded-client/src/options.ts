// Flags and DISTKIT_CLIENT_* variables -> the client's options. Flags win over variables; every
// problem names the flag (or variable) so the user can fix it. No I/O here but reading `env`.
import { parseArgs } from 'node:util';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { isValidNodeName } from '@distkit/handshake';

export interface ClientOptions {
  readonly daemon: { readonly name: string; readonly host: string; readonly port: number };
  /** The daemon's key as given: base64, a `distkit-x25519 …` line, or `@FILE` (its identity.pub). */
  readonly daemonKey: string;
  readonly name: string;
  readonly cluster: string;
  readonly stateDir: string;
  /** Messages to send once linked: [node, value]. */
  readonly send: ReadonlyArray<readonly [string, unknown]>;
  readonly once: boolean;
  readonly json: boolean;
  readonly showKey: boolean;
}

export const USAGE = `Usage: distkit-client --daemon NAME=HOST:PORT --daemon-key KEY [options]

A hidden distkit node (auto-connect never) that links to one daemon whose key it pins, lists the
cluster's nodes, sends messages and prints events until SIGINT/SIGTERM.

Options (each also as a variable):
  --daemon NAME=HOST:PORT  the daemon to link to                  DISTKIT_CLIENT_DAEMON
  --daemon-key KEY         its public key: base64, a 'distkit-x25519 ...' line,
                           or @FILE (the daemon's identity.pub)   DISTKIT_CLIENT_DAEMON_KEY
  --name NAME              this client's node name (default client@<host>)  DISTKIT_CLIENT_NAME
  --cluster ID             cluster id (default distkit)           DISTKIT_CLIENT_CLUSTER
  --state-dir DIR          where client.key lives (default ~/.local/state/distkit-client)
                                                                  DISTKIT_CLIENT_STATE_DIR
  --send NODE=VALUE        send VALUE (JSON, else a string) once linked; repeatable
  --once                   exit after linking, listing and sending
  --show-key               print this client's public key (created if missing) and exit
  --json                   one JSON object per line instead of text
  -h, --help               show this help

Exit codes: 0 stopped, 1 unexpected error or a send refused, 64 bad flag or variable,
69 the daemon cannot be linked to, 77 the key file is readable by group or others.`;

/** A bad flag or variable: printed with the usage hint, exit 64 (EX_USAGE). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `null` when --help was asked. */
export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ClientOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        daemon: { type: 'string' }, 'daemon-key': { type: 'string' }, name: { type: 'string' },
        cluster: { type: 'string' }, 'state-dir': { type: 'string' }, send: { type: 'string', multiple: true },
        once: { type: 'boolean' }, json: { type: 'boolean' }, 'show-key': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return null;
  const pick = (flag: string, variable: string, value: string | undefined) => {
    const raw = value ?? env[variable];
    if (raw !== undefined && raw.trim() === '') throw new UsageError(`${value !== undefined ? `--${flag}` : variable} is empty`);
    return raw === undefined ? undefined : { raw, from: value !== undefined ? `--${flag}` : variable };
  };
  const showKey = v['show-key'] === true;
  const daemon = pick('daemon', 'DISTKIT_CLIENT_DAEMON', v.daemon);
  const daemonKey = pick('daemon-key', 'DISTKIT_CLIENT_DAEMON_KEY', v['daemon-key']);
  if (!showKey && !daemon) throw new UsageError('--daemon NAME=HOST:PORT is required (or DISTKIT_CLIENT_DAEMON)');
  if (!showKey && !daemonKey) throw new UsageError("--daemon-key is required (or DISTKIT_CLIENT_DAEMON_KEY): the client pins the daemon's key");
  const m = daemon ? /^([^=\s]+)=(\[[0-9a-fA-F:.]+\]|[^:\s\[\]]+):(\d{1,5})$/.exec(daemon.raw) : null;
  if (daemon && (!m || Number(m[3]) < 1 || Number(m[3]) > 65535)) {
    throw new UsageError(`${daemon.from}: expected NAME=HOST:PORT with a port in 1..65535, got '${daemon.raw}'`);
  }
  if (m && !isValidNodeName(m[1]!)) throw new UsageError(`${daemon!.from}: '${m[1]}' is not a valid node name (letters, digits, _ . @ : + - [ ])`);
  const name = pick('name', 'DISTKIT_CLIENT_NAME', v.name)?.raw ?? `client@${hostname()}`;
  if (!isValidNodeName(name)) throw new UsageError(`--name: '${name}' is not a valid node name (letters, digits, _ . @ : + - [ ])`);
  const send = (v.send ?? []).map((s): readonly [string, unknown] => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--send: expected NODE=VALUE, got '${s}'`);
    const text = s.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Not JSON: sent as a string, as `distkitd send` does.
    }
    return [s.slice(0, eq), value];
  });
  return {
    daemon: m ? { name: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) } : { name: '', host: '', port: 0 },
    daemonKey: daemonKey?.raw ?? '',
    name,
    cluster: pick('cluster', 'DISTKIT_CLIENT_CLUSTER', v.cluster)?.raw ?? 'distkit',
    stateDir: pick('state-dir', 'DISTKIT_CLIENT_STATE_DIR', v['state-dir'])?.raw ?? join(homedir(), '.local', 'state', 'distkit-client'),
    send,
    once: v.once === true,
    json: v.json === true,
    showKey,
  };
}
