// The README's tables list what the code offers: every command of `distkitd --help` in the
// command table, every top-level config key and every flag of `run` in the configuration table,
// every control API route in the route table. A command or key added without its line fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from './cli.ts';
import { NODE_OPTIONS } from './commands/command.ts';
import { allowedKeysAt } from './config-schema.ts';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = (title: string): string => {
  const start = README.indexOf(`\n## ${title}\n`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
};

describe('the README lists what distkitd offers', () => {
  it('every command in the command table', async () => {
    let out = '';
    await main(['--help'], { out: (t) => void (out += t), err: () => {}, env: {}, cwd: '/', stdoutIsTTY: false, stderrIsTTY: false });
    const commands = [...out.matchAll(/^ {2}([a-z-]+(?: [a-z-]+)?) {2,}/gm)].map((m) => m[1] as string);
    expect(commands).toContain('secret install');
    const table = section('Commands');
    for (const c of commands) expect(table, c).toMatch(new RegExp(`^\\| \`${c}[ \`]|/ \`${c}[ \`]`, 'm'));
  });

  it('every top-level config key and every flag of run in the configuration table', () => {
    const table = section('Configuration');
    for (const key of allowedKeysAt([]) ?? []) expect(table, key).toMatch(new RegExp(`\`(\\[\\[)?${key}(\\]\\])?[.\` ]`));
    for (const flag of Object.keys(NODE_OPTIONS)) if (flag !== 'config') expect(README, flag).toContain(`--${flag}`);
  });

  it('every route in the control API table', () => {
    const source = readFileSync(new URL('./control-api.ts', import.meta.url), 'utf8');
    const routes = [...source.matchAll(/case '(GET|POST) (\/[a-z0-9/-]+)'/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(routes).toContain('POST /v1/join');
    const table = section('Control API');
    for (const r of routes) expect(table, r).toContain(`\`${r}`);
  });
});
