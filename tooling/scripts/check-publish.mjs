// publint and `attw --pack` on every publishable package: what npm users would install must
// resolve, for import and require, with types, under every module resolution mode.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publishable, report } from './workspace.mjs';

function run(cmd, args, cwd) {
  try {
    return { ok: true, out: execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

export function publishProblems(root, toolsRoot = root) {
  const problems = [];
  const bin = (name) => join(toolsRoot, 'node_modules', '.bin', name);
  for (const { dir, name } of publishable(root)) {
    const lint = run(bin('publint'), ['--strict'], dir);
    if (!lint.ok || /error|warning/i.test(lint.out.replace(/No issues found/i, ''))) {
      problems.push(`${name}: publint\n${lint.out.trim()}`);
    }
    const attw = run(bin('attw'), ['--pack', '.', '--format', 'ascii'], dir);
    if (!attw.ok) problems.push(`${name}: attw --pack\n${attw.out.trim()}`);
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  report('publint and attw --pack', publishProblems(process.argv[2] ?? process.cwd()));
}
