// `npm run demo`: three distkitd daemons on loopback with each other's keys trusted, then a
// scripted cut and heal between {alpha, beta} and {gamma}: nodedown -> partitioned -> decision ->
// gamma restarts (exit 75; this script plays systemd and starts it again) -> whole again. A
// refreshing table of nodes and verdicts shows it live; the script exits 0 when the mesh is whole.
// It prints alpha's one-time login URL for the cluster page; on a terminal it waits for Enter (or
// 30 s) before the cut and again before stopping, so a person can watch it in a browser.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callControl, streamControlEvents, type ControlTarget } from '../src/control-client.ts';
import { encodePublicKey, generateIdentity } from '../src/identity.ts';
import { writeIdentity } from '../src/state.ts';
import { DemoRelay } from './demo-relay.ts';
import { freePort } from '../src/free-port.ts';

const BIN = fileURLToPath(new URL('../bin/distkitd.js', import.meta.url));
if (!existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))) {
  console.error('distkitd is not built: run `npm run build` first');
  process.exit(1);
}
const NAMES = ['alpha', 'beta', 'gamma'] as const;
type Name = (typeof NAMES)[number];
const TTY = process.stdout.isTTY === true;
const root = mkdtempSync(join(tmpdir(), 'distkitd-demo-'));
const started = Date.now();
const log: string[] = [];
let phase = 'starting three daemons';
let pageUrl: string | null = null;

function note(line: string): void {
  const stamp = `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  log.push(`${stamp}  ${line}`);
  if (!TTY) console.log(`${stamp}  ${line}`);
}


interface Daemon {
  name: Name;
  port: number;
  state: string;
  child: ChildProcess | null;
  target: ControlTarget | null;
  incarnation: number;
  view: Array<{ name: string; connected: boolean; verdict: string }>;
}

const relay = await DemoRelay.create(NAMES);
const daemons = new Map<Name, Daemon>();
const keys = new Map<Name, Uint8Array>();
for (const name of NAMES) {
  const state = join(root, name);
  const identity = generateIdentity();
  keys.set(name, identity.publicKey);
  mkdirSync(state, { recursive: true, mode: 0o700 });
  await writeIdentity(join(state, 'identity.key'), join(state, 'identity.pub'), identity, name);
  const port = await freePort();
  relay.setTarget(name, { host: '127.0.0.1', port });
  daemons.set(name, { name, port, state, child: null, target: null, incarnation: 0, view: [] });
}
// Each other's keys trusted: strict mode, everyone in everyone's authorized_nodes.
const authorized = NAMES.map((n) => `${n} ${encodePublicKey(keys.get(n) as Uint8Array)}`).join('\n');
for (const d of daemons.values()) {
  writeFileSync(join(d.state, 'authorized_nodes'), `${authorized}\n`);
  const peers = NAMES.filter((n) => n !== d.name).map((n) => {
    const via = relay.route(d.name, n);
    return `[[peers]]\nname = "${n}"\naddress = "${via.host}:${via.port}"\n`;
  });
  writeFileSync(
    join(d.state, 'distkitd.toml'),
    [
      `name = "${d.name}"`,
      'cluster = "demo"',
      `listen = "127.0.0.1:${d.port}"`,
      'auto_connect = "once"',
      'strategy = "keep-majority"',
      'heartbeat_interval = "400ms"',
      'tick_time = "2s"',
      '[detector]',
      'stable_after = "1s"',
      'max_silence = "1600ms"',
      '[trust]',
      'mode = "strict"',
      '[control]',
      'listen = "127.0.0.1:0"',
      '[log]',
      'level = "warn"',
      'format = "json"',
      '[hooks]',
      `on_restart = "echo \\"$DISTKIT_SELF: restart decided against $DISTKIT_NODE ($DISTKIT_STRATEGY)\\" > hook.out"`,
      'restart_delay = "1500ms"',
      ...peers,
    ].join('\n'),
  );
}

function start(d: Daemon): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', '--config', join(d.state, 'distkitd.toml'), '--state-dir', d.state, '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    d.child = child;
    // The banner on stderr carries the one-time login URL of the daemon's page.
    let banner = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      banner += chunk.toString();
      const url = /^ {2}page +(http:\/\/\S+)/m.exec(banner)?.[1];
      if (url && d.name === 'alpha' && pageUrl === null) {
        pageUrl = url;
        note(`watch it live: open ${url} (alpha's cluster page; the link logs in once)`);
      }
    });
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line.includes('"msg":"ready"')) continue;
        const ready = JSON.parse(line) as { control: string; incarnation: number };
        d.incarnation = ready.incarnation;
        d.target = { url: ready.control, token: readFileSync(join(d.state, 'control.token'), 'utf8').trim() };
        note(`${d.name} ready (incarnation ${ready.incarnation})`);
        void follow(d, d.target);
        resolve();
      }
    });
    child.on('exit', (code) => {
      d.target = null;
      d.child = null;
      if (code === 75) {
        note(`${d.name} exited 75 (restart decided); supervisor restarts it`);
        void start(d);
      } else if (!stopping) {
        note(`${d.name} exited ${code}`);
        reject(new Error(`${d.name} exited ${code}`));
      }
    });
  });
}

/** Prints the interesting events of one daemon as they happen. */
async function follow(d: Daemon, target: ControlTarget): Promise<void> {
  try {
    for await (const e of streamControlEvents(target, ['nodeup', 'nodedown', 'partition', 'restarted', 'decision'])) {
      const data = e.data as Record<string, string>;
      const detail = e.type === 'nodedown' ? ` (${data['reason']})` : e.type === 'decision' ? `: ${data['decision']} (${data['strategy']})` : '';
      note(`${d.name.padEnd(5)}  ${e.type.padEnd(9)} ${data['node']}${detail}`);
    }
  } catch {
    // The daemon went away; its successor is followed anew.
  }
}

async function refresh(): Promise<void> {
  for (const d of daemons.values()) {
    if (!d.target) continue;
    try {
      d.view = ((await callControl(d.target, 'GET', '/v1/nodes')) as { nodes: Daemon['view'] }).nodes;
    } catch {
      d.view = [];
    }
  }
  if (!TTY) return;
  const rows = [...daemons.values()].map((d) => {
    const cells = NAMES.map((n) => {
      if (n === d.name) return '   -    ';
      const v = d.view.find((x) => x.name === n);
      return d.target === null ? '        ' : `${v?.connected ? 'up  ' : 'down'} ${(v?.verdict ?? '?').slice(0, 11).padEnd(11)}`;
    });
    return `  ${d.name.padEnd(6)} ${String(d.target ? d.incarnation : '-').padStart(4)}   ${cells.map((c) => c.padEnd(17)).join('')}`;
  });
  process.stdout.write(
    `\x1b[2J\x1b[H distkit demo: three daemons on loopback (${root})\n` +
      (pageUrl ? ` alpha's page: ${pageUrl}\n\n` : '\n') +
      `  node   inc.   ${NAMES.map((n) => `to ${n}`.padEnd(17)).join('')}\n${rows.join('\n')}\n\n` +
      `  ${phase}\n\n${log.slice(-16).join('\n')}\n`,
  );
}

const meshWhole = (): boolean =>
  [...daemons.values()].every((d) => d.target !== null && d.view.filter((v) => v.connected).length === NAMES.length - 1);

async function until(what: string, cond: () => boolean, ms = 45_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
    await refresh();
  }
}

/** On a terminal: waits for Enter (or `ms`), refreshing the table, so a person can open the page. */
async function pause(what: string, ms: number): Promise<void> {
  if (!TTY || process.stdin.isTTY !== true) return;
  const previous = phase;
  phase = `${what}: press Enter (or wait ${Math.round(ms / 1000)} s)`;
  let pressed = false;
  const onData = (): void => {
    pressed = true;
  };
  process.stdin.resume();
  process.stdin.on('data', onData);
  const end = Date.now() + ms;
  while (!pressed && Date.now() < end) {
    await refresh();
    await new Promise((r) => setTimeout(r, 250));
  }
  process.stdin.off('data', onData);
  process.stdin.pause();
  phase = previous;
}

let stopping = false;
let code = 0;
try {
  await Promise.all([...daemons.values()].map(start));
  await until('the mesh', meshWhole);
  phase = 'whole: every node linked to the two others';
  note('mesh whole');
  await new Promise((r) => setTimeout(r, 1500));
  await pause('open the page above, then cut the network', 30_000);

  phase = 'CUT: {alpha, beta} | {gamma}, all traffic dropped';
  note('cutting gamma off from alpha and beta');
  relay.cut(['alpha', 'beta'], ['gamma']);
  const g = daemons.get('gamma') as Daemon;
  await until('links across the cut down', () => g.view.every((v) => !v.connected) && (daemons.get('alpha')?.view.find((v) => v.name === 'gamma')?.connected ?? true) === false);
  await new Promise((r) => setTimeout(r, 2500));

  phase = 'HEAL: traffic flows again, links stay down (auto_connect = once): a partition';
  note('healing the network');
  relay.heal();
  const firstInc = g.incarnation;
  await until('gamma restarted', () => g.incarnation > firstInc && g.target !== null);
  await until('the mesh whole again', meshWhole);
  phase = `whole again: gamma back with incarnation ${g.incarnation}`;
  note('mesh whole again');
  const hook = join(g.state, 'hook.out');
  if (existsSync(hook)) note(`on_restart hook said: ${readFileSync(hook, 'utf8').trim()}`);
  await refresh();
  await pause('done; stop the daemons', 60_000);
} catch (err) {
  code = 1;
  note(`demo failed: ${(err as Error).message}`);
} finally {
  stopping = true;
  await Promise.all(
    [...daemons.values()].map(
      (d) =>
        new Promise<void>((resolve) => {
          if (!d.child) return resolve();
          d.child.once('exit', () => resolve());
          d.child.kill('SIGTERM');
        }),
    ),
  );
  relay.close();
  console.log(code === 0 ? '\ndemo finished: nodedown -> partitioned -> decision -> restart -> whole again' : '\ndemo failed');
  rmSync(root, { recursive: true, force: true });
  process.exit(code);
}
