// A package README's examples, run as a reader would run them: each code block that imports a
// distkit package is saved next to the package's README and executed by node (through tsx for a
// TypeScript block), importing the built packages by name. What the README says it prints is read
// from the README too, never kept in a test by hand:
//   - an untagged fenced block right after the example (only blank lines between, or a line
//     "prints"): the output, line for line;
//   - else a trailing comment on each `console.log(...)` line: `console.log(x); // what it prints`.
// Node only (it spawns processes); the files are *.node.test.ts.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';

export interface ReadmeExample {
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
  readonly lang: 'ts' | 'js';
  readonly code: string;
  /** What the README says the example prints, one entry a line; empty when it says nothing. */
  readonly prints: readonly string[];
}

const FENCE = /^```(\w*)\n([\s\S]*?)^```$/gm;
const LOGGED = /console\.log\(.*\);?\s*\/\/\s?(.*)$/;

/** The examples of a README: its ```ts and ```js blocks that import a distkit package. */
export function readmeExamples(markdown: string): ReadmeExample[] {
  const blocks = [...markdown.matchAll(FENCE)].map((m) => ({ lang: m[1]!, code: m[2]!, start: m.index!, end: m.index! + m[0].length }));
  const out: ReadmeExample[] = [];
  blocks.forEach((b, i) => {
    if ((b.lang !== 'ts' && b.lang !== 'js') || !/^import .* from '@distkit\//m.test(b.code)) return;
    const next = blocks[i + 1];
    const between = next ? markdown.slice(b.end, next.start) : '';
    const prints = next && next.lang === '' && /^((it )?prints:?)?$/i.test(between.trim())
      ? next.code.replace(/\n$/, '').split('\n')
      : b.code.split('\n').flatMap((l) => LOGGED.exec(l)?.[1] ?? []);
    out.push({ line: markdown.slice(0, b.start).split('\n').length, lang: b.lang, code: b.code, prints });
  });
  return out;
}

/** The examples of the README at `readmePath`. */
export function readmeExamplesOf(readmePath: string): ReadmeExample[] {
  return readmeExamples(readFileSync(readmePath, 'utf8'));
}

const tsx = createRequire(import.meta.url).resolve('tsx');

/**
 * Runs `example` as a file in `dir` (so `@distkit/*` resolves as it does for a user of the
 * workspace: to the built packages) and returns what it printed. Throws with its stderr if it fails.
 */
export function runReadmeExample(example: ReadmeExample, dir: string, timeoutMs = 60_000): string {
  const file = join(dir, `readme-example.${process.pid}.tmp.${example.lang === 'ts' ? 'mts' : 'mjs'}`);
  writeFileSync(file, example.code);
  try {
    const args = example.lang === 'ts' ? ['--import', tsx, file] : [file];
    return execFileSync(process.execPath, args, { encoding: 'utf8', timeout: timeoutMs, cwd: dirname(file), stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * The tests of a package's README: it has at least one example that says what it prints, and
 * each such example, run against the built package, prints exactly that.
 */
export function readmeExampleTests(packageRoot: string): void {
  const examples = readmeExamplesOf(join(packageRoot, 'README.md'));
  it('the README has an example that says what it prints', () => {
    expect(examples.some((e) => e.prints.length > 0)).toBe(true);
  });
  for (const example of examples.filter((e) => e.prints.length > 0)) {
    it(`the example at README.md:${example.line} prints what the README shows`, () => {
      expect(runReadmeExample(example, packageRoot).trimEnd().split('\n')).toEqual(example.prints);
    }, 90_000);
  }
}
