// One distkit kernel in its own OS process, the counterpart of test-fixtures/otp/dk_ctl.erl, so
// that kill -9 and SIGSTOP mean for it what they mean for an `erl` node. Started by
// kernel-system.test-support.ts as `node --import tsx` on this file (the kernel and its cores
// from source). Protocol, one JSON object a line:
//   stdin, first line:  the node's configuration (KernelProcessConfig, keys in base64)
//   stdin, then:        {"id":N,"cmd":"connect"|"disconnect"|"send"|"nodes"|"stop","args":[...]}
//   stdout:             {"event":"ready",...} once started; {"id":N,"result":R} per command;
//                       {"event":"nodeup"|"nodedown","node":..,"reason":..} as monitor_nodes does;
//                       {"event":"kernel","type":..,"node":..} for every other kernel event.
// End of stdin stops the node and exits, so no kernel outlives the test process.
import { createInterface } from 'node:readline';
import { TrustStore, formatTrustEntry } from '@distkit/handshake';
import type { AutoConnect } from './api.ts';
import { nodeKinds } from './node-kinds.test-support.ts';
import { createNode } from './node.ts';

export interface KernelProcessConfig {
  readonly name: string;
  readonly cluster: string;
  readonly publicKey: string;
  readonly privateKey: string;
  readonly clusterSecret: string;
  readonly incarnation: number;
  readonly port: number;
  readonly autoConnect: AutoConnect;
  readonly hidden: boolean;
  readonly tickTimeMs: number;
  readonly heartbeatIntervalMs: number;
  /** Every other node: where it listens (and takes heartbeats) and its pinned key. */
  readonly peers: readonly { name: string; port: number; heartbeatPort: number; publicKey: string }[];
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const print = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const errorCode = (err: unknown): string => (err as { code?: string }).code ?? (err as Error).message;

async function main(): Promise<void> {
  const input = createInterface({ input: process.stdin });
  const lines = input[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) return;
  const c = JSON.parse(first.value) as KernelProcessConfig;
  const authorized = [{ name: c.name, key: c.publicKey }, ...c.peers.map((p) => ({ name: p.name, key: p.publicKey }))]
    .map((e) => formatTrustEntry({ name: e.name, key: b64(e.key), options: {} }))
    .join('\n');
  const node = createNode({
    name: c.name,
    cluster: c.cluster,
    identity: { publicKey: b64(c.publicKey), privateKey: b64(c.privateKey) },
    incarnation: c.incarnation,
    listen: { host: '127.0.0.1', port: c.port },
    peers: c.peers.map((p) => ({
      name: p.name,
      address: { host: '127.0.0.1', port: p.port },
      heartbeat: { host: '127.0.0.1', port: p.heartbeatPort },
      publicKey: b64(p.publicKey),
    })),
    trust: { store: new TrustStore({ mode: 'strict', authorizedNodes: authorized }) },
    clusterSecrets: [b64(c.clusterSecret)],
    autoConnect: c.autoConnect,
    hidden: c.hidden,
    tickTimeMs: c.tickTimeMs,
    heartbeatIntervalMs: c.heartbeatIntervalMs,
    // An OTP node links to nobody at start unless told to (sync_nodes_optional); neither does this one.
    connectAtStart: false,
  });

  void (async () => {
    for await (const e of node.events()) {
      if (e.type === 'nodeup') print({ event: 'nodeup', node: e.node, type: e.hidden ? 'hidden' : 'visible' });
      else if (e.type === 'nodedown') print({ event: 'nodedown', node: e.node, reason: e.reason, ...(e.detail ? { detail: e.detail } : {}) });
      else print({ event: 'kernel', type: e.type, ...('node' in e ? { node: e.node } : {}), ...('decision' in e ? { decision: e.decision } : {}), ...('verdict' in e ? { verdict: e.verdict } : {}) });
    }
  })();

  // The peer's side of a send: every {ping} is answered with a {pong} (dk_ctl's responder).
  const replies = new Map<string, () => void>();
  void (async () => {
    for await (const m of node.messages()) {
      const v = m.value as { ping?: string; pong?: string } | null;
      if (typeof v?.ping === 'string') node.send(m.from, { pong: v.ping }).catch(() => {});
      else if (typeof v?.pong === 'string') replies.get(v.pong)?.();
    }
  })();

  await node.start();
  print({ event: 'ready', node: c.name, incarnation: c.incarnation });

  let refs = 0;
  const commands: Record<string, (args: unknown[]) => Promise<unknown>> = {
    connect: async ([to]) => {
      // OTP's connect_node answers false when it cannot connect; so does this, at the latest after
      // the setup time (net_setuptime, 7 s by default) and a margin.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10_000)));
      try {
        return await Promise.race([node.connectNode(String(to)).then(() => true, () => false), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    disconnect: async ([to]) => {
      try {
        await node.disconnectNode(String(to));
        return true;
      } catch {
        return false; // NOT_CONNECTED: OTP's disconnect_node/1 answers false
      }
    },
    send: async ([to, timeoutMs]) => {
      const ref = `${c.name}-${c.incarnation}-${++refs}`;
      let timer: NodeJS.Timeout | undefined;
      const reply = new Promise<'ok' | 'timeout'>((resolve) => {
        replies.set(ref, () => resolve('ok'));
        timer = setTimeout(() => resolve('timeout'), Number(timeoutMs));
      });
      let detail: string | undefined;
      // A rejected send is a message that never arrives: no reply can come, the answer is `timeout`.
      const sent = node.send(String(to), { ping: ref }).then(() => true, (err: unknown) => {
        detail = errorCode(err);
        return false;
      });
      const result = await Promise.race([reply, sent.then((ok) => (ok ? reply : 'timeout' as const))]);
      clearTimeout(timer);
      replies.delete(ref);
      return detail === undefined ? { result } : { result, detail };
    },
    nodes: async () => nodeKinds(node),
    stop: async () => {
      await node.stop();
      setTimeout(() => process.exit(0), 10);
      return 'ok';
    },
  };

  for (;;) {
    const next = await lines.next();
    if (next.done) break;
    if (next.value.trim() === '') continue;
    let cmd: { id: number; cmd: string; args?: unknown[] };
    try {
      cmd = JSON.parse(next.value) as typeof cmd;
    } catch {
      print({ error: 'not JSON' });
      continue;
    }
    const run = commands[cmd.cmd];
    if (!run) {
      print({ id: cmd.id, result: { error: `unknown command ${cmd.cmd}` } });
      continue;
    }
    run(cmd.args ?? []).then(
      (result) => print({ id: cmd.id, result }),
      (err: unknown) => print({ id: cmd.id, result: { error: errorCode(err) } }),
    );
  }
  await node.stop();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
