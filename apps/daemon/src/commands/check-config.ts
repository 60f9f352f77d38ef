import { type Command, JSON_HELP, JSON_OPTION, NODE_HELP, NODE_OPTIONS, configFrom, nodeFlags, printJson } from './command.ts';
import { EXIT } from '../exit-codes.ts';
import { checkState } from '../preflight.ts';

export const checkConfigCommand: Command = {
  name: 'check-config',
  summary: 'validate the configuration (file, DISTKIT_* variables, flags) and print it',
  usage: 'check-config [-c FILE] [flags of run] [--json]',
  description:
    'Loads the configuration exactly as `distkitd run` would, checks every file it names and every\n' +
    'file of the state folder (exists, mode, content) without changing anything, and prints the\n' +
    'result. Exits 0 when all is well; otherwise lists every problem (key, file:line or variable or\n' +
    'flag, allowed values, path) and exits 78 (configuration), 77 (a file readable by others) or 65\n' +
    '(a file that does not parse), the configuration taking precedence.',
  options: { ...NODE_OPTIONS, ...JSON_OPTION },
  optionHelp: [...NODE_HELP, JSON_HELP],
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const config = await configFrom(ctx, nodeFlags(ctx.values));
    const checked = await checkState(config);
    if (ctx.values['json'] === true) {
      printJson(ctx.io, { ...config, files: checked.files });
      return EXIT.OK;
    }
    const listen = config.control.listen.kind === 'unix' ? `unix:${config.control.listen.path}` : `${config.control.listen.host}:${config.control.listen.port}`;
    ctx.io.out(
      [
        `configuration is valid (${config.source ?? 'embedded default'})`,
        `  name         ${config.name ?? '(derived from the key: node-<key id>@<host>)'}`,
        `  cluster      ${config.cluster}`,
        `  state_dir    ${config.stateDir}`,
        `  listen       ${config.listen.host}:${config.listen.port}`,
        `  control      ${listen}`,
        `  auto_connect ${config.autoConnect}    reconnect ${config.reconnect}    strategy ${config.strategy}    trust ${config.trust.mode}`,
        `  tags         ${Object.keys(config.tags).length === 0 ? '(none)' : Object.entries(config.tags).map(([k, v]) => `${k}=${v}`).join(',')}`,
        `  peers        ${config.peers.length === 0 ? '(none)' : config.peers.map((p) => p.name).join(', ')}`,
        `  dns          ${config.dns === null ? '(off)' : [...config.dns.srv.map((s) => `SRV ${s}`), ...config.dns.a.map((a) => `A ${a}`)].join(', ') || '(no queries)'}`,
        `  watchdog     ${config.watchdog.timeoutMs === 0 ? 'off' : `${config.watchdog.timeoutMs} ms`}`,
        '  files',
        ...checked.files.map((f) => `    ${f.what.padEnd(20)} ${f.path}: ${f.status}`),
        '',
      ].join('\n'),
    );
    return EXIT.OK;
  },
};
