import { freePortIn } from '../../../tooling/test-support/free-port.ts';

/**
 * The daemon tests' ports: under the ephemeral range (see tooling/test-support/free-port.ts), and
 * under the ranges the kernel's test support uses (20000 and up), so daemon and kernel tests
 * running side by side do not draw the same port.
 */
const FREE_PORTS = { from: 12_000, to: 19_900 } as const;

/** A port free for both TCP and UDP on 127.0.0.1 (links and heartbeats share it), checked and released for the caller. */
export function freePort(): Promise<number> {
  return freePortIn(FREE_PORTS, { udp: true });
}
