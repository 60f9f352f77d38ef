// The kernel README's own instructions, read from packages/kernel/README.md as written (never a
// copy kept in step by hand), for the release rehearsal to follow like a newcomer: the install
// lines, the ESM example, the CommonJS form (its placeholder line filled with the example's
// body, as the README tells the reader to do) and the `deno run` permissions.

/** Code blocks of `markdown` under the heading `heading` (up to the next heading of its level). */
function blocksUnder(markdown, heading) {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) return { text: '', blocks: [] };
  const level = heading.match(/^#+/)[0];
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^${level} `, 'm'));
  const text = end < 0 ? rest : rest.slice(0, end);
  const blocks = [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], code: m[2] }));
  return { text, blocks };
}

const PLACEHOLDER = /^([ \t]*)\/\/ … the example above.*$/m;

/**
 * `{ npmInstall, denoAdd, esm, cjs, denoPermissions }` from the README text. Throws, naming
 * what is missing, if the README no longer has one of them.
 */
export function readmeExample(markdown, where = 'packages/kernel/README.md') {
  const missing = (what) => new Error(`${where}: ${what} not found (the release rehearsal runs what the README says)`);
  const install = blocksUnder(markdown, '## Install').blocks.find((b) => b.lang === 'sh');
  if (!install) throw missing('a ```sh block under "## Install"');
  const lines = install.code.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
  const npmInstall = lines.find((l) => /^npm (i|install) /.test(l));
  const denoAdd = lines.find((l) => l.startsWith('deno add '));
  if (!npmInstall) throw missing('an `npm i ...` line under "## Install"');
  if (!denoAdd) throw missing('a `deno add ...` line under "## Install"');

  const example = blocksUnder(markdown, '## Embedding example');
  const esm = example.blocks.find((b) => b.lang === 'js' && /^import /m.test(b.code))?.code;
  const wrapper = example.blocks.find((b) => b.lang === 'js' && /\brequire\(/.test(b.code))?.code;
  if (!esm) throw missing('the ESM example (a ```js block with imports under "## Embedding example")');
  if (!wrapper || !PLACEHOLDER.test(wrapper)) throw missing('the CommonJS form (a ```js block with require() and a "// … the example above" line)');
  const body = esm.split('\n').filter((l) => !/^import /.test(l)).join('\n').replace(/^\n+/, '').trimEnd();
  const cjs = wrapper.replace(PLACEHOLDER, (_, indent) => body.split('\n').map((l) => (l ? `${indent}${l}` : l)).join('\n'));

  const run = /`deno run ((?:--allow-[\w-]+(?:=\S+)? )*)example\.mjs`/.exec(example.text);
  if (!run) throw missing('a `deno run --allow-... example.mjs` command under "## Embedding example"');
  const denoPermissions = run[1].trim().split(/\s+/).filter(Boolean);
  return { npmInstall: npmInstall.split(/\s+/), denoAdd: denoAdd.split(/\s+/), esm, cjs, denoPermissions };
}
