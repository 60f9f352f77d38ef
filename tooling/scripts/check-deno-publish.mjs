// `deno publish --dry-run` for every package that ships to npm: JSR's own checks, offline (no
// slow types in the public API, every export resolvable, the file list). One run at the
// workspace root checks every member in a single type-check pass (about 2 s, against 2 s per
// package run one by one); this script then confirms that every npm-published package was in
// it, at its package.json version.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { members, report } from './workspace.mjs';

/** `{ name, version, files }` for each package a `deno publish` output says it would upload. */
export function simulatedPublishes(output) {
  const found = [];
  for (const line of output.split('\n')) {
    const header = /Simulating publish of (@[^@\s]+\/[^@\s]+)@(\S+) with files:/.exec(line);
    if (header) found.push({ name: header[1], version: header[2], files: 0 });
    else if (/^\s+file:\/\//.test(line) && found.length > 0) found[found.length - 1].files++;
  }
  return found;
}

/**
 * Problems from `deno publish --dry-run` at the root of the workspace `root`; `tools` holds the
 * deno binary (node_modules/.bin/deno). `log` gets one line per package.
 */
export function denoPublishProblems(root, { tools = root, log = console.log } = {}) {
  const deno = join(tools, 'node_modules', '.bin', 'deno');
  const env = { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
  const r = spawnSync(deno, ['publish', '--dry-run', '--allow-dirty'], { cwd: root, env, encoding: 'utf8' });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0 || !/Dry run complete/.test(out)) {
    const tail = out.trim().split('\n').filter((l) => !/^\s+file:\/\//.test(l)).slice(-40);
    return [`deno publish --dry-run failed (exit ${r.status ?? r.signal}):\n${tail.map((l) => `    ${l}`).join('\n')}`];
  }
  const simulated = new Map(simulatedPublishes(out).map((p) => [p.name, p]));
  const problems = [];
  for (const m of members(root)) {
    const jsr = simulated.get(m.name);
    if (m.pkg.private === true) {
      // Harmless in a dry run, but the real root-level publish would upload it: the real
      // publish goes package by package (tooling/release/jsr-publish.mjs) for that reason.
      if (jsr) log(`  - jsr:${m.name} is private on npm; the root dry run includes it, the real publish skips it`);
      continue;
    }
    if (!jsr) {
      problems.push(`${m.name}: ships to npm but deno publish would not publish it to JSR (no deno.json in the deno workspace, or no name/exports in it)`);
      log(`  ✗ jsr:${m.name}`);
    } else if (jsr.version !== m.pkg.version) {
      problems.push(`${m.name}: JSR would get version ${jsr.version}, npm ${m.pkg.version}`);
      log(`  ✗ jsr:${m.name}@${jsr.version}`);
    } else {
      log(`  ✓ jsr:${m.name}@${jsr.version}: ${jsr.files} files`);
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  report('deno publish --dry-run', denoPublishProblems(process.argv[2] ?? process.cwd()));
}
