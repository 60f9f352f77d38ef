import { constants } from 'node:os';
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
    'SIGHUP reloads the config, authorized_nodes/known_nodes, trust.allow/deny, the cluster secret file\n' +
    'and the tags; good links stay up.\n' +
    'With no file it runs on the embedded default: a state folder with a fresh identity, links and\n' +
    'heartbeats on 127.0.0.1:4370, the control API on 127.0.0.1:4380, trust on first use.\n' +
    '\n' +
    'Before anything is written, every file the configuration names and every file of the state\n' +
    'folder is checked (exists, mode, content) and the addresses are tried: a problem stops the start\n' +
    'with nothing changed on disk. A watchdog aborts the process (SIGABRT) when the event loop stalls\n' +
    'past watchdog.timeout (default 20 s), so a supervisor restarts it.\n' +
    '\n' +
    'Exit codes: 0 stopped by a signal; 65 a key, trust or state file does not parse; 71 an address\n' +
    'cannot be bound; 73 another distkitd uses the state folder; 74 the state folder cannot be written;\n' +
    '75 the partition resolver decided this node restarts (after the on_restart hook); 77 a key or\n' +
    'token file readable by others; 78 bad config, flags, or a file they name (nothing was written).',
  options: NODE_OPTIONS,
  optionHelp: NODE_HELP,
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const load = () => configFrom(ctx, nodeFlags(ctx.values));
    const config = await load();
    const createNode = await loadKernel();
    // Loaded here so that the other commands start without the daemon's weight (pino, prom-client).
    const [{ Daemon }, { createLogger }, { LoopLag, startWatchdog }] = await Promise.all([import('../daemon.ts'), import('../log.ts'), import('../watchdog.ts')]);
    const log = createLogger(config.log);
    // The watchdog runs from the start: a start that wedges is restarted too.
    const lag = new LoopLag().start();
    const watchdog = config.watchdog.timeoutMs > 0 ? startWatchdog(lag, { timeoutMs: config.watchdog.timeoutMs, setting: 'watchdog.timeout' }) : null;
    // Handlers first: a signal that arrives while starting (or right after `ready`) must not hit
    // the default action, which would kill the process without a graceful stop.
    let daemon: DaemonType | null = null;
    let stopRequested = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopRequested) {
        log.warn({ signal }, 'second signal while stopping: exiting now');
        // As a shell reports a process killed by that signal (130 for SIGINT, 143 for SIGTERM).
        process.exit(128 + (constants.signals[signal] ?? 0));
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
      daemon = await Daemon.start({ config, createNode, log, reloadConfig: load, version: daemonVersion(), checkAddresses: true, health: () => lag.health() });
      printBanner(ctx.io, daemon.ready, daemon.uiLoginUrl());
      log.info({ ...daemon.ready }, 'ready');
      if (stopRequested) void daemon.stop(EXIT.OK);
      return await daemon.done;
    } finally {
      await watchdog?.stop();
      lag.stop();
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
