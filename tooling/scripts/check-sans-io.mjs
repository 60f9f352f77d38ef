// Fails when a sans-I/O core (or the kernel's node machine) reaches for the outside world: sockets, files, timers, clocks, Deno's
// namespace. Time and randomness must come in as arguments (DESIGN.md, rule 1). node:crypto is
// allowed only in the handshake's native crypto provider, the one seam meant for it.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SANS_IO_DIRS, report } from './workspace.mjs';

const FORBIDDEN = [
  [/\bfrom\s*['"](node:)?(net|dgram|fs|fs\/promises|timers|timers\/promises|child_process|http|https|http2|os|worker_threads|cluster)['"]/, 'imports an I/O module'],
  [/\bimport\s*\(\s*['"](node:)?(net|dgram|fs|timers|child_process)['"]/, 'imports an I/O module dynamically'],
  [/\brequire\s*\(/, 'calls require()'],
  [/\bDeno\s*\./, 'uses the Deno namespace'],
  [/\bDate\.now\s*\(/, 'reads the wall clock (Date.now)'],
  [/\bnew\s+Date\s*\(\s*\)/, 'reads the wall clock (new Date())'],
  [/\bperformance\.now\s*\(/, 'reads the clock (performance.now)'],
  [/\bprocess\.hrtime/, 'reads the clock (process.hrtime)'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'starts a timer'],
];
const CRYPTO = /\bfrom\s*['"](node:)?crypto['"]|\bimport\s*\(\s*['"](node:)?crypto['"]/;
/** The crypto-provider seam: the only core files that may import node:crypto. */
const CRYPTO_SEAM = /^packages\/handshake\/src\/crypto\/native[\w-]*\.ts$/;

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(entry) && !/\.(test|bench)\.ts$|\.test-support\.ts$/.test(entry) ? [path] : [];
  });
}

/** Blank out comments and string contents of template/quoted text that is not an import path. */
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export function sansIoProblems(root, dirs = SANS_IO_DIRS) {
  const problems = [];
  for (const dir of dirs) {
    for (const file of sourceFiles(join(root, dir))) {
      const rel = relative(root, file).split('\\').join('/');
      const lines = stripComments(readFileSync(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        for (const [re, why] of FORBIDDEN) if (re.test(line)) problems.push(`${rel}:${i + 1} ${why}: ${line.trim()}`);
        if (CRYPTO.test(line) && !CRYPTO_SEAM.test(rel)) {
          problems.push(`${rel}:${i + 1} imports node:crypto outside the crypto-provider seam: ${line.trim()}`);
        }
      });
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  report('cores are sans-I/O', sansIoProblems(process.argv[2] ?? process.cwd()));
}
