// Installs every publishable package the way an npm user meets it: `npm pack`, then the tarball
// (plus the tarballs of its workspace dependencies, nothing else of ours) goes into a fresh
// project outside the workspace, third-party dependencies from the registry. In that project,
// `import` and `require` must both work, export the same names, and a strict TypeScript consumer
// (.mts importing, .cts requiring, module nodenext) must see every runtime export in the types.
// Each package gets its own project, so a dependency that only a sibling declares is caught.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workspaceClosure } from '../release/dependency-order.mjs';
import { missingEntryPoints } from './entry-points.mjs';
import { userNpmEnv } from './npm-env.mjs';
import { members, report } from './workspace.mjs';

/** Runs a command; resolves with its exit code, stdout and combined output, never rejects. */
function exec(cmd, args, options) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stdout = '';
    child.stdout.on('data', (d) => {
      out += d;
      stdout += d;
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => resolve({ code: -1, stdout, out: `${out}${err.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? signal, stdout, out }));
  });
}

/** Runs `task` over `items` with at most `limit` at a time, keeping the input order. */
async function inParallel(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const indent = (text) => text.trim().split('\n').slice(-25).map((l) => `    ${l}`).join('\n');

/**
 * Problems found installing each publishable package of the workspace at `root`, one string per
 * problem. `tools` is where tsc and @types/node come from (this repository by default); `log`
 * receives one line per package.
 */
export async function tarballProblems(root, { tools = root, log = console.log, keep = false } = {}) {
  const all = members(root);
  const byName = new Map(all.map((m) => [m.name, m]));
  const shipped = all.filter((m) => m.pkg.private !== true);
  if (shipped.length === 0) return [];
  const unbuilt = shipped.map((m) => ({ m, missing: missingEntryPoints(m.dir, m.pkg) })).filter((u) => u.missing.length > 0);
  if (unbuilt.length > 0) return unbuilt.map(({ m, missing }) => `${m.name}: not built (missing ${missing.join(', ')}): run \`npm run build\` first`);
  const problems = [];
  const env = userNpmEnv();
  const work = mkdtempSync(join(tmpdir(), 'distkit-tarballs-'));
  try {
    // One `npm pack` for all packages: one npm start-up instead of one per package.
    const packed = await exec('npm', ['pack', '--json', '--pack-destination', work, ...shipped.map((m) => m.dir)], { cwd: work, env });
    let tarballs;
    try {
      tarballs = new Map(JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))).map((t) => [t.name, t]));
    } catch {
      return [`npm pack failed (exit ${packed.code}):\n${indent(packed.out)}`];
    }
    const spec = (name) => `file:${join(work, tarballs.get(name).filename)}`;

    const projects = [];
    for (const m of shipped) {
      const closure = workspaceClosure(m, byName);
      const unpublished = closure.filter((n) => !tarballs.has(n));
      if (unpublished.length > 0) {
        problems.push(`${m.name}: depends on ${unpublished.join(', ')}, which ${unpublished.length > 1 ? 'are' : 'is'} not published (private); npm users could not install it`);
        continue;
      }
      const dir = join(work, m.name.replace(/^@/, '').replace('/', '__'));
      mkdirSync(dir);
      // The workspace dependencies are pinned to their tarballs with overrides (never fetched
      // from the registry) but are not made direct dependencies: each must arrive through a
      // declared dependency of the package under test.
      const project = {
        name: 'distkit-tarball-consumer',
        private: true,
        type: 'module',
        dependencies: { [m.name]: spec(m.name) },
        ...(closure.length > 0 && { overrides: Object.fromEntries(closure.map((n) => [n, spec(n)])) }),
      };
      writeFileSync(join(dir, 'package.json'), `${JSON.stringify(project, null, 2)}\n`);
      projects.push({ m, dir, closure, size: tarballs.get(m.name).size, ok: true });
    }

    const fail = (p, why) => {
      p.ok = false;
      problems.push(`${p.m.name}: ${why}`);
    };
    const name = JSON.stringify;
    // Installs are mostly waiting on the cache; two at a time suits a 2-core box.
    await inParallel(projects, 2, async (p) => {
      const t0 = performance.now();
      const install = await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: p.dir, env });
      p.installMs = performance.now() - t0;
      if (install.code !== 0) return fail(p, `npm install of its tarball failed (exit ${install.code}):\n${indent(install.out)}`);
      const esm = await exec(process.execPath, ['--input-type=module', '-e', `import * as m from ${name(p.m.name)}; console.log(JSON.stringify(Object.keys(m).sort()));`], { cwd: p.dir, env });
      const cjs = await exec(process.execPath, ['-e', `console.log(JSON.stringify(Object.keys(require(${name(p.m.name)})).sort()));`], { cwd: p.dir, env });
      if (esm.code !== 0) fail(p, `import failed:\n${indent(esm.out)}`);
      if (cjs.code !== 0) fail(p, `require failed:\n${indent(cjs.out)}`);
      if (!p.ok) return;
      const esmNames = JSON.parse(esm.stdout.trim().split('\n').at(-1));
      const cjsNames = JSON.parse(cjs.stdout.trim().split('\n').at(-1));
      if (esmNames.join() !== cjsNames.join()) {
        return fail(p, `import and require export different names:\n    import:  ${esmNames.join(', ')}\n    require: ${cjsNames.join(', ')}`);
      }
      p.exports = esmNames;
      // Every runtime export must be declared (a missing one is error TS2339), and a package
      // without types at all is error TS7016 under --strict.
      const uses = esmNames.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n)).map((n) => `m.${n}`);
      const body = `export type Shape = typeof m;\nexport const runtime: readonly unknown[] = [${uses.join(', ')}];\n`;
      writeFileSync(join(p.dir, 'consumer.mts'), `import * as m from ${name(p.m.name)};\n${body}`);
      writeFileSync(join(p.dir, 'consumer.cts'), `import m = require(${name(p.m.name)});\n${body}`);
    });

    // One tsc run over every consumer: resolution is per file, so each still sees only its own
    // project's node_modules, and tsc starts once instead of once per package.
    const typed = projects.filter((p) => p.ok);
    if (typed.length > 0) {
      const tsc = await exec(
        join(tools, 'node_modules', '.bin', 'tsc'),
        [
          '--module', 'nodenext', '--moduleResolution', 'nodenext', '--strict', '--noEmit', '--pretty', 'false',
          '--target', 'es2022', '--lib', 'es2022',
          // The kernel's declarations mention node:net; its Node users have @types/node.
          '--typeRoots', join(tools, 'node_modules', '@types'), '--types', 'node',
          ...typed.flatMap((p) => [join(p.dir, 'consumer.mts'), join(p.dir, 'consumer.cts')]),
        ],
        { cwd: work, env },
      );
      if (tsc.code !== 0) {
        const lines = tsc.out.trim().split('\n');
        let claimed = 0;
        for (const p of typed) {
          const prefix = `${p.dir.slice(work.length + 1)}${sep}`;
          const mine = lines.filter((l) => l.startsWith(prefix) || l.startsWith(p.dir));
          claimed += mine.length;
          if (mine.length > 0) fail(p, `types do not resolve for a strict nodenext consumer (tsc):\n${indent(mine.join('\n'))}`);
        }
        if (claimed === 0) problems.push(`tsc failed on the consumers (exit ${tsc.code}):\n${indent(tsc.out)}`);
      }
    }

    for (const p of projects) {
      const what = p.ok
        ? `import + require (${p.exports.length} exports), types .mts + .cts`
        : 'FAILED';
      const deps = p.closure.length > 0 ? ` with ${p.closure.join(', ')}` : '';
      log(`  ${p.ok ? '✓' : '✗'} ${p.m.name}: ${(p.size / 1024).toFixed(1)} kB tarball${deps}, installed in ${((p.installMs ?? 0) / 1000).toFixed(1)} s; ${what}`);
    }
  } finally {
    if (keep) log(`  (kept ${work})`);
    else rmSync(work, { recursive: true, force: true });
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const t0 = performance.now();
  const problems = await tarballProblems(process.argv[2] ?? process.cwd(), { keep: process.env.DISTKIT_KEEP_TARBALLS === '1' });
  report(`tarballs install one by one (${((performance.now() - t0) / 1000).toFixed(1)} s)`, problems);
}
