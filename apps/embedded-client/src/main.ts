// distkit-client: a hidden distkit node with auto-connect `never` that links to one daemon whose key
// it pins. The same file runs on Node (built with tsup, or tsx) and Deno (`deno run`), unchanged:
// it only uses node: built-ins that both runtimes provide.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import {
  TrustStore, formatPrivateKey, formatPublicKey, formatTrustEntry, generateIdentity, parsePrivateKey, parsePublicKey, decodeKey,
} from '@distkit/handshake';
import { createNode, type KernelEvent } from '@distkit/kernel';
import { USAGE, UsageError, parseOptions } from './options.ts';

const EXIT = { OK: 0, FAILED: 1, USAGE: 64, UNAVAILABLE: 69, PERMISSIONS: 77 } as const;

class ExitError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

/** Write-to-temp, fsync, rename, fsync the folder: a crash leaves the old file or the new one, never half. */
function writeAtomic(path: string, text: string, mode: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  rmSync(temp, { force: true }); // a leftover would keep its old mode: create it afresh
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  try {
    const dir = openSync(join(path, '..'), 'r');
    fsyncSync(dir);
    closeSync(dir);
  } catch {
    // Some platforms cannot fsync a folder; the rename is still atomic.
  }
}

/** This client's identity from DIR/client.key (0600), created on first use. */
function loadOrCreateKey(dir: string, name: string) {
  const file = join(dir, 'client.key');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let text: string;
  try {
    const mode = statSync(file).mode;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new ExitError(EXIT.PERMISSIONS, `${file} is readable by group or others: run chmod 600 ${file}`);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
    const identity = generateIdentity();
    writeAtomic(file, formatPrivateKey(identity), 0o600);
    writeAtomic(join(dir, 'client.pub'), formatPublicKey(identity.publicKey, name), 0o644);
    return { identity, created: true };
  }
  try {
    return { identity: parsePrivateKey(text), created: false };
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** base64, `distkit-x25519 <base64> [comment]`, or @FILE holding such a line. */
function parseDaemonKey(given: string): Uint8Array {
  const text = given.startsWith('@') ? readFileSync(given.slice(1), 'utf8') : given;
  return text.trim().includes(' ') ? parsePublicKey(text.trim()).publicKey : decodeKey(text.trim(), 'daemon key');
}

/** The incarnation grows on every start (persisted beside the key), as the daemon's does. */
function nextIncarnation(dir: string): number {
  let n = 0;
  try {
    n = Number.parseInt(readFileSync(join(dir, 'incarnation'), 'utf8'), 10) || 0;
  } catch {
    // First start.
  }
  writeAtomic(join(dir, 'incarnation'), `${n + 1}\n`, 0o644);
  return n + 1;
}

const show = (value: unknown) =>
  JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? { base64: btoa(String.fromCharCode(...v)) } : v));

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), process.env);
  if (!options) {
    console.log(USAGE);
    return EXIT.OK;
  }
  const out = (type: string, text: string, fields: Record<string, unknown>) =>
    console.log(options.json ? show({ type, ...fields }) : text);
  const { identity, created } = loadOrCreateKey(options.stateDir, options.name);
  const publicLine = formatPublicKey(identity.publicKey).trim();
  if (options.showKey) {
    console.log(publicLine);
    return EXIT.OK;
  }
  const daemonKey = parseDaemonKey(options.daemonKey);
  const { daemon } = options;
  // Strict: the daemon, with this key, is the only node this client will ever link to.
  const store = new TrustStore({ mode: 'strict', authorizedNodes: formatTrustEntry({ name: daemon.name, key: daemonKey, options: {} }) });
  const node = createNode({
    name: options.name, cluster: options.cluster, identity, incarnation: nextIncarnation(options.stateDir),
    peers: [{ name: daemon.name, address: { host: daemon.host, port: daemon.port }, publicKey: daemonKey }],
    trust: { store }, autoConnect: 'never', hidden: true,
  });
  out('identity', `${options.name} ${node.fingerprint}${created ? ' (new key)' : ''}\n  trust it on the daemon: distkitd trust add ${options.name} '${publicLine}'`,
    { name: options.name, fingerprint: node.fingerprint, publicKey: publicLine, created });

  // Subscribed before connecting, so no event is missed.
  const events = node.events()[Symbol.asyncIterator]();
  const messages = node.messages()[Symbol.asyncIterator]();
  await node.start();
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= node.stop());
  // First signal: graceful stop (links closed with reason `shutdown`); a second one: exit now.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopping ? process.exit(EXIT.FAILED) : void stop()));

  const printing = (async () => {
    for (let e = await events.next(); !e.done; e = await events.next()) printEvent(e.value);
  })();
  const receiving = (async () => {
    for (let m = await messages.next(); !m.done; m = await messages.next()) {
      out('message', `message from ${m.value.from}: ${show(m.value.value)}`, { from: m.value.from, value: m.value.value });
    }
  })();
  function printEvent(e: KernelEvent): void {
    if (e.type !== 'nodeup' && e.type !== 'nodedown' && e.type !== 'partition' && e.type !== 'decision') return;
    const detail = e.type === 'nodeup' ? `incarnation ${e.incarnation}, ${e.direction}`
      : e.type === 'nodedown' ? `reason ${e.reason}${e.deliberate ? ` (on purpose: ${e.deliberate})` : ''}${e.detail ? `: ${e.detail}` : ''}`
      : e.type === 'partition' ? `incarnation ${e.incarnation}` : `${e.decision} (${e.strategy})`;
    out(e.type, `${e.type} ${e.node}: ${detail}`, { ...e });
  }

  let code: number = EXIT.OK;
  try {
    try {
      await node.connectNode(daemon.name);
    } catch (err) {
      throw new ExitError(EXIT.UNAVAILABLE, `cannot link to ${daemon.name} at ${daemon.host}:${daemon.port}: ${(err as Error).message}\n` +
        `  is distkitd running there, with this key, and does it trust this client? (distkitd trust add ${options.name} '${publicLine}')`);
    }
    const nodes = await node.remoteNodes(daemon.name);
    out('nodes', `cluster nodes (via ${daemon.name}): ${nodes.join(', ')}`, { via: daemon.name, nodes });
    for (const [to, value] of options.send) {
      try {
        await node.send(to, value);
        out('sent', `sent to ${to}: ${show(value)}`, { to, value });
      } catch (err) {
        console.error(`distkit-client: cannot send to ${to}: ${(err as Error).message}`);
        code = EXIT.FAILED;
      }
    }
    if (options.once) await stop();
  } catch (err) {
    await stop();
    throw err;
  }
  await Promise.all([printing, receiving]);
  await stop();
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const code = err instanceof UsageError ? EXIT.USAGE : err instanceof ExitError ? err.exitCode : EXIT.FAILED;
    console.error(`distkit-client: ${err instanceof Error ? err.message : String(err)}${code === EXIT.USAGE ? '\n(see --help)' : ''}`);
    process.exit(code);
  },
);
