// The client commands: they talk to a running daemon's control API.
import { resolve } from 'node:path';
import type { NodeInfo } from '@distkit/kernel';
import { type Command, type CommandContext, CONFIG_FILE_HELP, CONFIG_FILE_OPTIONS, type Options, JSON_HELP, JSON_OPTION, configFrom, printJson } from './command.ts';
import { callControl, streamControlEvents, type ControlTarget } from '../control-client.ts';
import { DaemonError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { selfCommand } from '../invocation.ts';
import { recordedProcess } from '../process-identity.ts';
import { readControlInfo, readToken, statePaths } from '../state.ts';
import { formatTable } from '../table.ts';
import { formatTags, parseTagFilter, type Tags } from '../tags.ts';

export const CLIENT_OPTIONS: Options = {
  ...CONFIG_FILE_OPTIONS,
  control: { type: 'string' },
  'token-file': { type: 'string' },
  ...JSON_OPTION,
};

export const CLIENT_HELP: readonly (readonly [string, string])[] = [
  ...CONFIG_FILE_HELP,
  ['--control URL', 'the daemon: http://HOST:PORT, HOST:PORT or unix:PATH (default: control.json in the state folder)'],
  ['--token-file FILE', 'bearer token (default: control.token in the state folder)'],
  JSON_HELP,
];

export const TARGET_NOTE = '\nThe daemon is found through the state folder (control.json and control.token, written by run).';

/**
 * Where the daemon is and the token to show it: the daemon of the state folder the command was
 * pointed at (control.json, written by its `run`), or the one --control names. There is no
 * fallback to a default address: another daemon listening there would answer (with a 401, or
 * worse, with its own state).
 */
export async function controlTarget(ctx: CommandContext): Promise<ControlTarget> {
  const config = await configFrom(ctx);
  const paths = statePaths(config.stateDir);
  const flag = ctx.values['control'] as string | undefined;
  const start = `${selfCommand().map(shellQuote).join(' ')} run --state-dir ${shellQuote(config.stateDir)}`;
  let url: string;
  if (flag !== undefined) {
    url = /^(https?:|unix:)/.test(flag) ? flag : `http://${flag}`;
  } else {
    const info = await readControlInfo(paths);
    if (info === null) {
      throw new DaemonError('DAEMON_NOT_RUNNING', `no distkitd is running for the state folder ${config.stateDir} (it has no control.json). Start one with: ${start} (or point at another with --state-dir DIR or --control URL)`);
    }
    if (recordedProcess(info.pid, info.startTime ?? null, info.writtenAtMs) === 'gone') {
      throw new DaemonError('DAEMON_NOT_RUNNING', `the distkitd of the state folder ${config.stateDir} is not running (pid ${info.pid} has exited without removing control.json, e.g. after kill -9). Start it with: ${start}`);
    }
    url = info.url;
  }
  const tokenFile = resolve(ctx.io.cwd, (ctx.values['token-file'] as string | undefined) ?? config.control.tokenFile ?? paths.token);
  const token = await readToken(tokenFile).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DaemonError('DAEMON_NOT_RUNNING', `no control token at ${tokenFile}: is distkitd running with the state folder ${config.stateDir}? Start it with: ${start}`);
    }
    throw err;
  });
  return { url, token, tokenFile };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export const statusCommand: Command = {
  name: 'status',
  summary: "show this node: name, fingerprint, incarnation, addresses, links, counters",
  usage: 'status [--json]',
  description: `Asks the running daemon (GET /v1/status).${TARGET_NOTE}`,
  options: CLIENT_OPTIONS,
  optionHelp: CLIENT_HELP,
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const s = (await callControl(await controlTarget(ctx), 'GET', '/v1/status')) as Record<string, unknown> & {
      address?: { host: string; port: number };
      heartbeatAddress?: { host: string; port: number };
      stats?: Record<string, unknown>;
    };
    if (ctx.values['json'] === true) {
      printJson(ctx.io, s);
      return EXIT.OK;
    }
    const addr = (a?: { host: string; port: number }): string => (a ? `${a.host}:${a.port}` : '-');
    const stats = s.stats ?? {};
    ctx.io.out(
      `${[
        ['name', s['name']],
        ['cluster', s['cluster']],
        ['fingerprint', s['fingerprint']],
        ['incarnation', s['incarnation']],
        ['links', addr(s.address)],
        ['heartbeats', addr(s.heartbeatAddress)],
        ['connected', s['connected']],
        ['tags', formatTags(s['tags'] as Tags | undefined)],
        ['cluster secrets', Array.isArray(s['clusterSecrets']) && s['clusterSecrets'].length > 0 ? (s['clusterSecrets'] as string[]).join(', ') + ' (dials with the first)' : 'none'],
        ['suites', Array.isArray(s['suites']) ? (s['suites'] as string[]).join(', ') : undefined],
        ['uptime', s['uptimeSeconds'] === undefined ? '-' : `${s['uptimeSeconds']} s`],
        ['heartbeats', `${stats['heartbeatsSent'] ?? 0} sent, ${stats['heartbeatsReceived'] ?? 0} received`],
        ['messages', `${stats['messagesSent'] ?? 0} sent, ${stats['messagesReceived'] ?? 0} received`],
        ['pid', s['pid']],
        ['state', s['stateDir']],
      ]
        .map(([k, v]) => `${String(k).padEnd(15)} ${v ?? '-'}`)
        .join('\n')}\n`,
    );
    return EXIT.OK;
  },
};

export const nodesCommand: Command = {
  name: 'nodes',
  summary: 'list known nodes: connected or not, verdict, incarnation, address, tags, fingerprint, the suite of the link',
  usage: 'nodes [--tag KEY=VALUE]... [--json]',
  description:
    'Asks the running daemon (GET /v1/nodes). --tag keeps the nodes whose tags match: KEY=VALUE\n' +
    `(that value) or KEY (any value); repeated, every one must match.${TARGET_NOTE}`,
  options: { ...CLIENT_OPTIONS, tag: { type: 'string', multiple: true } },
  optionHelp: [...CLIENT_HELP, ['--tag KEY=VALUE', 'only nodes with this tag (KEY alone: any value); repeatable, all must match']],
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const filters = ((ctx.values['tag'] as string[] | undefined) ?? []).map((t) => (parseTagFilter(t), t));
    const query = filters.length === 0 ? '' : `?${filters.map((t) => `tag=${encodeURIComponent(t)}`).join('&')}`;
    const { nodes } = (await callControl(await controlTarget(ctx), 'GET', `/v1/nodes${query}`)) as { nodes: NodeInfo[] };
    if (ctx.values['json'] === true) {
      printJson(ctx.io, nodes);
      return EXIT.OK;
    }
    if (nodes.length === 0) {
      ctx.io.out(filters.length > 0 ? `no known node has the tags ${filters.join(' ')}\n` : 'no known nodes\n');
      return EXIT.OK;
    }
    ctx.io.out(
      `${formatTable(
        ['NAME', 'LINK', 'VERDICT', 'INCARNATION', 'DIRECTION', 'ADDRESS', 'TAGS', 'FINGERPRINT', 'SUITE'],
        nodes.map((n) => [
          `${n.name}${n.hidden ? ' (hidden)' : ''}`,
          n.connected ? 'up' : 'down',
          n.verdict,
          n.incarnation === null ? '-' : String(n.incarnation),
          n.direction ?? '-',
          n.address ? `${n.address.host}:${n.address.port}` : '-',
          formatTags(n.tags),
          n.fingerprint ?? '-',
          n.suite ?? '-',
        ]),
      )}\n`,
    );
    return EXIT.OK;
  },
};

function nodeCommand(name: 'connect' | 'disconnect', summary: string, description: string): Command {
  return {
    name,
    summary,
    usage: `${name} NODE [--json]`,
    description: `${description}${TARGET_NOTE}`,
    options: CLIENT_OPTIONS,
    optionHelp: CLIENT_HELP,
    positionals: { min: 1, max: 1, names: 'NODE' },
    async run(ctx) {
      const node = ctx.positionals[0];
      const result = await callControl(await controlTarget(ctx), 'POST', `/v1/${name}`, { node });
      if (ctx.values['json'] === true) printJson(ctx.io, result);
      else ctx.io.out(`${name === 'connect' ? 'connected to' : 'disconnected from'} ${node}\n`);
      return EXIT.OK;
    },
  };
}

export const connectCommand: Command = nodeCommand(
  'connect',
  'link to NODE now (explicit connect: lifts a `once` bar)',
  'Like net_kernel:connect_node/1: resolves when the link is up, fails with the reason otherwise.',
);

export const disconnectCommand: Command = nodeCommand(
  'disconnect',
  'close the link to NODE, on purpose',
  'Like erlang:disconnect_node/1. The peer is told it was on purpose: neither side then reports a partition\n' +
    'or a restart decision for the pair (verdict "disconnected"). What follows: both nodes keep running and\n' +
    'keep each other known (heartbeats go on). Under `always` the next send makes the link again (with\n' +
    'reconnect = "eager" it is redialled by itself, with backoff); under `once` NODE is barred from\n' +
    'auto-connect until `distkitd connect NODE` or NODE connects in; under `never` only an explicit connect\n' +
    'links them again. To take this node out of the cluster use `distkitd leave`; to forget a dead node,\n' +
    '`distkitd force-leave NODE`.',
);

export const sendCommand: Command = {
  name: 'send',
  summary: 'send a message (a JSON value) to NODE',
  usage: 'send NODE VALUE [--json]   (or: send NODE -- VALUE)',
  description:
    'VALUE is parsed as JSON; text that is not JSON is sent as a string. Delivery is at most once.\n' +
    'A negative number is a value (send NODE -5); any other VALUE starting with a dash goes after\n' +
    `--: send NODE -- -x sends the string "-x".${TARGET_NOTE}`,
  options: CLIENT_OPTIONS,
  optionHelp: CLIENT_HELP,
  positionals: { min: 2, max: 2, names: 'NODE VALUE' },
  async run(ctx) {
    const [node, text = ''] = ctx.positionals;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    const result = await callControl(await controlTarget(ctx), 'POST', '/v1/send', { node, value });
    if (ctx.values['json'] === true) printJson(ctx.io, result);
    else ctx.io.out(`sent to ${node}\n`);
    return EXIT.OK;
  },
};

export const eventsCommand: Command = {
  name: 'events',
  summary: 'follow the event stream: nodeup, nodedown, verdicts, partitions, decisions, messages',
  usage: 'events [--type TYPE]... [--count N] [--json]',
  description:
    'Streams server-sent events from GET /v1/events until interrupted (or N events were printed).\n' +
    'With --json: one JSON object per line (NDJSON).' + TARGET_NOTE,
  options: { ...CLIENT_OPTIONS, type: { type: 'string', multiple: true }, count: { type: 'string' } },
  optionHelp: [...CLIENT_HELP, ['--type TYPE', 'only these event types (nodeup, nodedown, verdict, partition, decision, message, ...); repeatable'], ['--count N', 'stop after N events']],
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const countText = ctx.values['count'] as string | undefined;
    const limit = countText === undefined ? Number.POSITIVE_INFINITY : Number(countText);
    if (countText !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new DaemonError('BAD_FLAG', `--count: must be a positive integer (got ${JSON.stringify(countText)})`);
    }
    const types = ((ctx.values['type'] as string[] | undefined) ?? []).flatMap((t) => t.split(','));
    let seen = 0;
    for await (const event of streamControlEvents(await controlTarget(ctx), types)) {
      if (ctx.values['json'] === true) ctx.io.out(`${JSON.stringify(event.data)}\n`);
      else ctx.io.out(`${describeEvent(event.type, event.data as Record<string, unknown>)}\n`);
      if (++seen >= limit) break;
    }
    return EXIT.OK;
  },
};

function describeEvent(type: string, data: Record<string, unknown>): string {
  const at = typeof data['at'] === 'number' && data['at'] > 1e12 ? new Date(data['at']).toISOString().slice(11, 23) : new Date().toISOString().slice(11, 23);
  const rest = Object.entries(data)
    .filter(([k]) => !['type', 'at', 'node', 'from'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${at}  ${type.padEnd(11)} ${String(data['node'] ?? data['from'] ?? '')}  ${rest}`.trimEnd();
}
