import { type Command, JSON_HELP, JSON_OPTION, NODE_HELP, NODE_OPTIONS, configFrom, nodeFlags, printJson } from './command.ts';
import { EXIT } from '../exit-codes.ts';

export const checkConfigCommand: Command = {
  name: 'check-config',
  summary: 'validate the configuration (file, DISTKIT_* variables, flags) and print it',
  usage: 'check-config [-c FILE] [flags of run] [--json]',
  description:
    'Loads the configuration exactly as `distkitd run` would, without touching the state folder,\n' +
    'and prints the result. Exits 0 when it is valid, 78 (EX_CONFIG) with every problem listed\n' +
    '(key, file:line or variable or flag, allowed values) when it is not.',
  options: { ...NODE_OPTIONS, ...JSON_OPTION },
  optionHelp: [...NODE_HELP, JSON_HELP],
  positionals: { min: 0, max: 0, names: '' },
  async run(ctx) {
    const config = await configFrom(ctx, nodeFlags(ctx.values));
    if (ctx.values['json'] === true) {
      printJson(ctx.io, config);
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
        `  auto_connect ${config.autoConnect}    strategy ${config.strategy}    trust ${config.trust.mode}`,
        `  peers        ${config.peers.length === 0 ? '(none)' : config.peers.map((p) => p.name).join(', ')}`,
        `  dns          ${config.dns === null ? '(off)' : [...config.dns.srv.map((s) => `SRV ${s}`), ...config.dns.a.map((a) => `A ${a}`)].join(', ') || '(no queries)'}`,
        '',
      ].join('\n'),
    );
    return EXIT.OK;
  },
};
