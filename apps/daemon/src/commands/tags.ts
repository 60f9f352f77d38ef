// `distkitd tags set|reset`: this node's tags at run time (POST /v1/tags). The daemon tells its
// linked peers at once and keeps the change in the state folder (tags.json), over the config's
// tags table, so a reload or a restart keeps it.
import { type Command, printJson } from './command.ts';
import { CLIENT_HELP, CLIENT_OPTIONS, controlTarget, TARGET_NOTE } from './client.ts';
import { callControl } from '../control-client.ts';
import { DaemonError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { formatTags, parseTagAssignment, tagProblem, type Tags } from '../tags.ts';

export const tagsSetCommand: Command = {
  name: 'tags set',
  summary: "change this node's tags at run time (peers see them at once)",
  usage: 'tags set [KEY=VALUE]... [--remove KEY]... [--json]',
  description:
    'Sets (KEY=VALUE) and removes (--remove KEY) tags of the running daemon. Its linked peers see\n' +
    'the change at once (`distkitd nodes` there), new links carry it in the hello. The change is\n' +
    "kept in tags.json in the state folder, on top of the config's tags table: a reload (SIGHUP) or\n" +
    'a restart keeps it, and `distkitd tags reset` goes back to the config. Keys: letters, digits\n' +
    'and . _ - / (at most 64 bytes); values: non-empty text (at most 256 bytes); at most 32 tags.' +
    TARGET_NOTE,
  options: { ...CLIENT_OPTIONS, remove: { type: 'string', multiple: true } },
  optionHelp: [...CLIENT_HELP, ['--remove KEY', 'remove the tag KEY; repeatable']],
  positionals: { min: 0, max: Number.POSITIVE_INFINITY, names: '[KEY=VALUE]...' },
  async run(ctx) {
    const set: Record<string, string> = {};
    for (const text of ctx.positionals) {
      const [key, value] = parseTagAssignment(text, 'tags set');
      set[key] = value;
    }
    const remove = (ctx.values['remove'] as string[] | undefined) ?? [];
    for (const key of remove) {
      const problem = tagProblem(key, 'x');
      if (problem !== null) throw new DaemonError('BAD_FLAG', `--remove: ${problem}`);
    }
    if (ctx.positionals.length === 0 && remove.length === 0) throw new DaemonError('BAD_FLAG', 'tags set: nothing to do: give KEY=VALUE or --remove KEY (see distkitd tags set --help)');
    return change(ctx, { set, remove });
  },
};

export const tagsResetCommand: Command = {
  name: 'tags reset',
  summary: "drop the run-time tag changes: back to the config's tags",
  usage: 'tags reset [--json]',
  description: `Forgets every change of \`distkitd tags set\` (tags.json); the config's tags table is in force again.${TARGET_NOTE}`,
  options: CLIENT_OPTIONS,
  optionHelp: CLIENT_HELP,
  positionals: { min: 0, max: 0, names: '' },
  run: (ctx) => change(ctx, { reset: true }),
};

async function change(ctx: Parameters<Command['run']>[0], body: object): Promise<number> {
  const answer = (await callControl(await controlTarget(ctx), 'POST', '/v1/tags', body)) as { tags: Tags };
  if (ctx.values['json'] === true) printJson(ctx.io, answer.tags);
  else ctx.io.out(`tags now: ${formatTags(answer.tags)}\n`);
  return EXIT.OK;
}
