// Before `run` writes anything, it makes sure the addresses it will bind are free: a listen
// address in use (or not on this host) is then a clean exit 71 with nothing on disk changed,
// instead of a failed start after the incarnation has moved. Each address is bound and released
// at once; port 0 (pick one) needs no check. A race with another process remains possible, and
// the real bind still reports it.
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createServer } from 'node:net';
import type { Address } from '@distkit/kernel';
import type { ControlListen } from './config-schema.ts';
import { DaemonError } from './errors.ts';

export interface ProbeTargets {
  readonly listen: Address;
  readonly heartbeatListen: Address | null;
  readonly control: ControlListen;
}

export async function probeAddresses(targets: ProbeTargets): Promise<void> {
  const problems: string[] = [];
  const heartbeat = targets.heartbeatListen ?? targets.listen;
  const check = async (what: string, key: string, kind: 'tcp' | 'udp', a: Address): Promise<void> => {
    if (a.port === 0) return;
    const error = await (kind === 'tcp' ? bindTcp(a) : bindUdp(a));
    if (error !== null) problems.push(`${key}: cannot bind ${what} on ${format(a)} (${error})${hint(error, key)}`);
  };
  await check('links (TCP)', 'listen', 'tcp', targets.listen);
  await check('heartbeats (UDP)', targets.heartbeatListen ? 'heartbeat_listen' : 'listen', 'udp', heartbeat);
  if (targets.control.kind === 'tcp') await check('the control API (TCP)', 'control.listen', 'tcp', targets.control);
  if (problems.length === 1) throw new DaemonError('ADDRESS_UNAVAILABLE', problems[0] as string);
  if (problems.length > 1) throw new DaemonError('ADDRESS_UNAVAILABLE', `cannot start (${problems.length} problems):\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

function hint(code: string, key: string): string {
  const flag = key === 'control.listen' ? '--control' : key === 'heartbeat_listen' ? '--heartbeat-listen' : '--listen';
  if (code === 'EADDRINUSE') return `: another distkitd on this address? choose another with ${flag}`;
  if (code === 'EADDRNOTAVAIL') return ': that address is not on this host';
  if (code === 'EACCES') return ': ports below 1024 need privileges';
  return '';
}

function format(a: Address): string {
  return `${isIPv6(a.host) ? `[${a.host}]` : a.host}:${a.port}`;
}

function bindTcp(a: Address): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host: a.host, port: a.port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

function bindUdp(a: Address): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(a.host) ? 'udp6' : 'udp4');
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.close();
      resolve(err.code ?? err.message);
    });
    socket.bind(a.port, a.host, () => socket.close(() => resolve(null)));
  });
}
