// A throw-away copy of the repository for release rehearsals (release-dry.mjs, rehearse.mjs):
// the developer's checkout is never versioned, built or published from. The copy holds what
// `git add -A` would commit (tracked files plus new untracked ones, so a changeset just written
// counts) and borrows node_modules through symlinks.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { members } from '../scripts/workspace.mjs';

/** Copies `repo` as `git add -A` would commit it into `to`, file by file; returns the file count. */
export function copyRepository(repo, to) {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' });
  let n = 0;
  for (const file of new Set(listed.split('\0').filter(Boolean))) {
    if (!existsSync(join(repo, file))) continue; // deleted in the working tree
    if (statSync(join(repo, file)).isDirectory()) continue; // e.g. a node_modules symlink, which `node_modules/` does not ignore
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(join(repo, file), join(to, file));
    n++;
  }
  return n;
}

/**
 * node_modules for the copy: a symlink to each of the repository's entries, except the
 * workspace's own packages, which must be the copy's (they get the new versions and builds).
 */
export function linkNodeModules(repo, copy) {
  const from = join(repo, 'node_modules');
  const to = join(copy, 'node_modules');
  mkdirSync(to);
  const own = new Map(members(copy).map((m) => [m.name, m.dir]));
  const scopes = new Set([...own.keys()].filter((n) => n.startsWith('@')).map((n) => n.split('/')[0]));
  for (const entry of readdirSync(from)) {
    if (entry === '.cache') continue; // tools' caches stay out of the real node_modules
    if (!scopes.has(entry)) {
      symlinkSync(join(from, entry), join(to, entry));
      continue;
    }
    mkdirSync(join(to, entry));
    for (const inner of readdirSync(join(from, entry))) {
      if (!own.has(`${entry}/${inner}`)) symlinkSync(join(from, entry, inner), join(to, entry, inner));
    }
  }
  for (const [name, dir] of own) {
    mkdirSync(dirname(join(to, name)), { recursive: true });
    if (!existsSync(join(to, name))) symlinkSync(relative(dirname(join(to, name)), dir), join(to, name));
  }
}

/**
 * Removes the copy's node_modules (symlinks only: nothing they point at is touched). npm
 * commands that rewrite the lock file run without it, so they can never write through the
 * symlinks into the real node_modules.
 */
export function unlinkNodeModules(copy) {
  rmSync(join(copy, 'node_modules'), { recursive: true, force: true });
}
