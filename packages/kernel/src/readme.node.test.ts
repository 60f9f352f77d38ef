import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

// The README's embedding example, run as a user would: its first code block saved as a .mjs file
// importing the built packages, executed by plain node (no loader: the README promises plain
// JavaScript). The release rehearsal also runs its CommonJS form, type-checks it and runs it on
// Deno, against packages installed from a registry.
it('the README example runs and prints what it promises', () => {
  const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const file = join(import.meta.dirname, '../readme-example.tmp.mjs');
  writeFileSync(file, code!);
  try {
    const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
    expect(out).toContain("alpha says { hello: 'from alpha'");
    expect(out).toContain("alpha sees [ 'beta' ]");
  } finally {
    rmSync(file, { force: true });
  }
});
