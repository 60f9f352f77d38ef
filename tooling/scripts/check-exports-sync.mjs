// Fails when a package's package.json (npm) and deno.json (JSR) disagree on name, version or the
// set of entry points, so the two registries never ship different shapes of one package.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publishable, report } from './workspace.mjs';

export function exportsSyncProblems(root) {
  const problems = [];
  for (const { dir, name, pkg, deno } of publishable(root)) {
    if (!deno) {
      problems.push(`${name}: no deno.json`);
      continue;
    }
    if (deno.name !== name) problems.push(`${name}: deno.json name is ${deno.name}`);
    if (deno.version !== pkg.version) problems.push(`${name}: package.json version ${pkg.version} but deno.json ${deno.version}`);
    const npmKeys = Object.keys(pkg.exports ?? {}).filter((k) => k !== './package.json').sort();
    const denoExports = typeof deno.exports === 'string' ? { '.': deno.exports } : (deno.exports ?? {});
    const denoKeys = Object.keys(denoExports).sort();
    if (npmKeys.join() !== denoKeys.join()) {
      problems.push(`${name}: exports differ: package.json [${npmKeys}] vs deno.json [${denoKeys}]`);
    }
    for (const [key, target] of Object.entries(denoExports)) {
      if (!existsSync(join(dir, target))) problems.push(`${name}: deno.json export ${key} -> ${target} does not exist`);
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  report('package.json and deno.json agree', exportsSyncProblems(process.argv[2] ?? process.cwd()));
}
