// Run-time membership from the command line: `join`, `leave`, `force-leave` (the daemon side is
// membership.ts). Each is one request to the daemon of the state folder.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, printJson } from './command.ts';
import { CLIENT_HELP, CLIENT_OPTIONS, controlTarget, TARGET_NOTE } from './client.ts';
import { callControl } from '../control-client.ts';
import { HOST_PORT } from '../config-schema.ts';
import { DaemonError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { encodePublicKey, isNodeName, parsePublicKey } from '../identity.ts';
import { recordedProcess } from '../process-identity.ts';

export const joinCommand: Command = {
  name: 'join',
  summary: 'link to the node at HOST:PORT and keep it as a peer (remembered across restarts)',
  usage: 'join HOST:PORT [--name NAME] [--key KEY] [--json]',
  description:
    'Links to the node listening at HOST:PORT (POST /v1/join), under this node\'s trust and policy:\n' +
    'trust.allow/deny, strict or tofu trust and the cluster secret apply as to any link. Without\n' +
    '--name the node names itself in the handshake; with it, it must answer to NAME. KEY pins its\n' +
    'public key (base64, a distkit-x25519 line, or @FILE such as its identity.pub).\n' +
    '\n' +
    'Once the link is up the peer is written to joined_nodes in the state folder: this node links it\n' +
    'again at every start, and again when it comes back from a deliberate stop (a restart by its\n' +
    'supervisor). Fails (exit 1, nothing recorded) when the link cannot be made.\n' +
    'Undo with `distkitd force-leave NAME` (once it is gone) or `distkitd leave` (this node leaves).' +
    TARGET_NOTE,
  options: { ...CLIENT_OPTIONS, name: { type: 'string' }, key: { type: 'string' } },
  optionHelp: [...CLIENT_HELP, ['--name NAME', 'the node must answer to NAME'], ['--key KEY', 'pin its public key: base64, a distkit-x25519 line, or @FILE']],
  positionals: { min: 1, max: 1, names: 'HOST:PORT' },
  async run(ctx) {
    const address = ctx.positionals[0] ?? '';
    const m = HOST_PORT.exec(address);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new DaemonError('BAD_FLAG', `join: ${JSON.stringify(address)} is not HOST:PORT (a port from 1 to 65535, IPv6 in brackets: [::1]:4370)`);
    const name = ctx.values['name'] as string | undefined;
    if (name !== undefined && !isNodeName(name)) throw new DaemonError('BAD_FLAG', `--name: ${JSON.stringify(name)} is not a node name (letters, digits, _ . @ : + - [ ])`);
    const keyArg = ctx.values['key'] as string | undefined;
    let publicKey: string | undefined;
    if (keyArg !== undefined) {
      const text = keyArg.startsWith('@') ? await readFile(resolve(ctx.io.cwd, keyArg.slice(1)), 'utf8') : keyArg;
      try {
        publicKey = encodePublicKey(parsePublicKey(text, keyArg.startsWith('@') ? keyArg.slice(1) : '--key'));
      } catch (err) {
        throw new DaemonError('BAD_FLAG', (err as Error).message);
      }
    }
    const answer = (await callControl(await controlTarget(ctx), 'POST', '/v1/join', { address, ...(name ? { name } : {}), ...(publicKey ? { publicKey } : {}) })) as { node: string; recorded: boolean };
    if (ctx.values['json'] === true) printJson(ctx.io, answer);
    else {
      ctx.io.out(
        `joined ${answer.node} at ${address}; ${answer.recorded ? 'recorded in joined_nodes (linked again at every start)' : 'it is a peer of the config file (not recorded in joined_nodes)'}\n`,
      );
    }
    return EXIT.OK;
  },
};

export const leaveCommand: Command = {
  name: 'leave',
  summary: 'leave the cluster on purpose, then stop the daemon (exit 0)',
  usage: 'leave [--json]',
  description:
    'Tells every linked peer that this node leaves on purpose (POST /v1/leave). What follows:\n' +
    '- the peers report nodedown with deliberate "leave": never a partition, never a restart\n' +
    '  decision, on either side; they forget this node (a node their own config file lists stays\n' +
    '  listed, shown as disconnected on purpose);\n' +
    '- this node forgets its joined peers (joined_nodes is emptied): started again, it links only\n' +
    '  the peers of its config (join again with distkitd join);\n' +
    '- the daemon stops and exits 0, so a supervisor with Restart=on-failure leaves it stopped.\n' +
    'Compare: `disconnect NODE` closes one link and keeps running; SIGTERM stops without leaving\n' +
    '(peers see deliberate "shutdown"; the nodes that joined this one link again when it is back).' +
    TARGET_NOTE,
  options: CLIENT_OPTIONS,
  optionHelp: CLIENT_HELP,
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const target = await controlTarget(ctx);
    const status = (await callControl(target, 'GET', '/v1/status')) as { name?: string; pid?: number };
    const answer = await callControl(target, 'POST', '/v1/leave', {});
    // The daemon stops once the answer is out: wait (a little) until it has.
    const end = Date.now() + 15_000;
    let stopped = typeof status.pid !== 'number';
    while (!stopped && Date.now() < end) {
      stopped = recordedProcess(status.pid as number, null, Date.now()) === 'gone';
      if (!stopped) await new Promise((r) => setTimeout(r, 100));
    }
    if (ctx.values['json'] === true) printJson(ctx.io, { ...(answer as object), node: status.name ?? null, pid: status.pid ?? null, stopped });
    else ctx.io.out(`${status.name ?? 'this node'} left the cluster: every peer was told; distkitd (pid ${status.pid ?? '?'}) ${stopped ? 'stopped' : 'is stopping'}\n`);
    return EXIT.OK;
  },
};

export const forceLeaveCommand: Command = {
  name: 'force-leave',
  summary: 'forget NODE, a node that is gone: no more dials or heartbeats to it',
  usage: 'force-leave NODE [--json]',
  description:
    'For a node that died and will not come back (POST /v1/force-leave): this node stops dialling\n' +
    'and heartbeating it, forgets it (it leaves `distkitd nodes`) and removes it from joined_nodes.\n' +
    'Refused (exit 1) while NODE is linked: it is not gone (run `distkitd leave` on it instead).\n' +
    "A node the config file's peers list comes back at the next reload or start (remove it there\n" +
    'too); one found by DNS, at the next refresh.' +
    TARGET_NOTE,
  options: CLIENT_OPTIONS,
  optionHelp: CLIENT_HELP,
  positionals: { min: 1, max: 1, names: 'NODE' },
  async run(ctx) {
    const node = ctx.positionals[0] ?? '';
    const answer = (await callControl(await controlTarget(ctx), 'POST', '/v1/force-leave', { node })) as { inConfig: boolean; joined: boolean };
    if (ctx.values['json'] === true) printJson(ctx.io, { node, ...answer });
    else {
      ctx.io.out(
        `forgot ${node}${answer.joined ? ' (removed from joined_nodes)' : ''}` +
          `${answer.inConfig ? `\nnote: ${node} is in the config file's peers: it comes back at the next reload or start unless you remove it there` : ''}\n`,
      );
    }
    return EXIT.OK;
  },
};
