import { type Command, type Io, NODE_HELP, NODE_OPTIONS, configFrom, nodeFlags } from './command.ts';
import type { CreateNode, Daemon as DaemonType, ReadyInfo } from '../daemon.ts';
import { DaemonError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { daemonVersion } from '../version.ts';

export const runCommand: Command = {
  name: 'run',
  summary: 'run the node: links, heartbeats, partition detection, control API',
  usage: 'run [-c FILE] [flags]',
  description:
    'Runs in the foreground until SIGTERM or SIGINT (links are closed with reason `shutdown`).\n' +
    'SIGHUP reloads the config, authorized_nodes/known_nodes and trust.allow/deny; good links stay up.\n' +
    'With no file it runs on the embedded default: a state folder with a fresh identity, links and\n' +
    'heartbeats on 127.0.0.1:4370, the control API on 127.0.0.1:4380, trust on first use.\n' +
    '\n' +
    'Exit codes: 0 stopped by a signal; 75 the partition resolver decided this node restarts (after the\n' +
    'on_restart hook; systemd Restart= brings it back); 77 a key or token file readable by others;\n' +
    '73 another distkitd uses the state folder; 78 bad config or flags (nothing was written).',
  options: NODE_OPTIONS,
  optionHelp: NODE_HELP,
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const load = () => configFrom(ctx, nodeFlags(ctx.values));
    const config = await load();
    const createNode = await loadKernel();
    // Loaded here so that the other commands start without the daemon's weight (pino, prom-client).
    const [{ Daemon }, { createLogger }] = await Promise.all([import('../daemon.ts'), import('../log.ts')]);
    const log = createLogger(config.log);
    // Handlers first: a signal that arrives while starting (or right after `ready`) must not hit
    // the default action, which would kill the process without a graceful stop.
    let daemon: DaemonType | null = null;
    let stopRequested = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopRequested) {
        log.warn({ signal }, 'second signal while stopping: exiting now');
        process.exit(EXIT.FAILURE);
      }
      stopRequested = true;
      log.info({ signal }, 'graceful stop');
      if (daemon) void daemon.stop(EXIT.OK);
    };
    const reload = (): void => {
      log.info({ signal: 'SIGHUP' }, 'reloading');
      if (daemon) void daemon.reload();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', reload);
    try {
      daemon = await Daemon.start({ config, createNode, log, reloadConfig: load, version: daemonVersion() });
      printBanner(ctx.io, daemon.ready, daemon.uiLoginUrl());
      log.info({ ...daemon.ready }, 'ready');
      if (stopRequested) void daemon.stop(EXIT.OK);
      return await daemon.done;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', reload);
    }
  },
};

/** createNode from @distkit/kernel, loaded only by `run` so the other commands start fast. */
export async function loadKernel(): Promise<CreateNode> {
  const kernel = (await import('@distkit/kernel')) as unknown as { createNode?: unknown };
  if (typeof kernel.createNode !== 'function') {
    throw new DaemonError('KERNEL_MISSING', 'this build of @distkit/kernel does not export createNode(); distkitd run needs it');
  }
  return kernel.createNode as CreateNode;
}

/** For people, on stderr, so stdout stays pure JSON logs when piped. */
function printBanner(io: Io, ready: ReadyInfo, page: string | null): void {
  io.err(
    [
      '',
      `distkitd ready${ready.createdIdentity ? ' (new identity generated)' : ''}`,
      `  name         ${ready.name}`,
      `  fingerprint  ${ready.fingerprint}`,
      `  links        ${ready.listen}`,
      `  control      ${ready.control}`,
      `  state        ${ready.stateDir} (incarnation ${ready.incarnation})`,
      ...(page ? [`  page         ${page}  (one-time login link)`] : []),
      '',
      'Start a second node on this host that joins this one:',
      `  ${ready.join}`,
      '',
      '',
    ].join('\n'),
  );
}
