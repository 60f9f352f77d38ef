// The two halves of a release as the rehearsal runs them in its throw-away copy: the real root
// scripts `npm run release:version` and `npm run release:publish`, then what the registry and
// git must show afterwards. When publishing fails, the registry itself says which packages did
// not make it.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { exportsSyncProblems } from '../scripts/check-exports-sync.mjs';
import { members, publishable } from '../scripts/workspace.mjs';
import { dependencyOrder } from './dependency-order.mjs';
import { lockstepProblems, versions } from './lockstep.mjs';
import { CheckFailed, run } from './step-report.mjs';
import { linkNodeModules, unlinkNodeModules } from './throwaway-copy.mjs';

/** `git ...args` in `dir`, as a throw-away identity with no hooks or signing; returns stdout. */
export function gitIn(dir) {
  const config = ['user.name=distkit rehearsal', 'user.email=rehearsal@localhost', 'commit.gpgsign=false', 'tag.gpgsign=false', 'core.hooksPath=/dev/null'];
  return (...args) => execFileSync('git', [...config.flatMap((c) => ['-c', c]), ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * `npm run release:version` in `copy` (its node_modules unlinked meanwhile, so the lock-file
 * update has nothing to write through), the fixed groups and deno.json versions checked, the
 * node_modules links back, and the result committed. Returns { before, after } versions.
 */
export async function versionRelease({ repo, copy, env, log }) {
  const before = versions(copy);
  unlinkNodeModules(copy);
  const names = members(copy).map((m) => m.name);
  await run('npm', ['run', 'release:version'], { cwd: copy, env: { ...env, PATH: `${join(repo, 'node_modules', '.bin')}:${env.PATH}` }, blame: names, log });
  const problems = [...lockstepProblems(copy, before), ...exportsSyncProblems(copy)];
  if (problems.length > 0) throw new CheckFailed(problems, { command: 'npm run release:version' });
  linkNodeModules(repo, copy);
  const git = gitIn(copy);
  git('add', '-A');
  git('commit', '-q', '-m', 'Version Packages');
  return { before, after: versions(copy) };
}

const onRegistry = async (registry, m) => Boolean((await registry.packument(m.name))?.versions?.[m.pkg.version]);

/**
 * `npm run release:publish` in `copy` with `env` (which points npm at `registry`) and
 * DISTKIT_JSR_PUBLISH=`jsr`; then every publishable package must be on the registry at its
 * version as `latest`, and each newly published one tagged in git. Returns the names published.
 */
export async function publishRelease({ copy, registry, env, jsr, log }) {
  const shipping = dependencyOrder(publishable(copy));
  const due = [];
  for (const m of shipping) if (!(await onRegistry(registry, m))) due.push(m);
  const command = 'npm run release:publish';
  try {
    // `changeset publish` tags with `git tag -a`, which needs an identity: the throw-away one
    // (a developer or CI user may have none configured).
    const identity = { GIT_AUTHOR_NAME: 'distkit rehearsal', GIT_AUTHOR_EMAIL: 'rehearsal@localhost', GIT_COMMITTER_NAME: 'distkit rehearsal', GIT_COMMITTER_EMAIL: 'rehearsal@localhost' };
    await run('npm', ['run', 'release:publish'], { cwd: copy, env: { ...identity, ...env, DISTKIT_JSR_PUBLISH: jsr }, blame: members(copy).map((m) => m.name), log });
  } catch (err) {
    const missing = [];
    for (const m of due) if (!(await onRegistry(registry, m))) missing.push(m);
    if (missing.length > 0) {
      err.message += `\n  not on the registry afterwards: ${missing.map((m) => `${m.name}@${m.pkg.version}`).join(', ')}`;
      err.pkg ??= missing.map((m) => m.name).join(', ');
    }
    throw err;
  }
  const tags = new Set(gitIn(copy)('tag', '-l').split('\n'));
  const problems = [];
  for (const m of shipping) {
    const doc = await registry.packument(m.name);
    if (!doc?.versions?.[m.pkg.version]) problems.push(`${m.name}@${m.pkg.version}: not on the registry after \`${command}\``);
    else if (doc['dist-tags']?.latest !== m.pkg.version) problems.push(`${m.name}: latest is ${doc['dist-tags']?.latest}, not ${m.pkg.version}`);
  }
  for (const m of due) if (!tags.has(`${m.name}@${m.pkg.version}`)) problems.push(`${m.name}@${m.pkg.version}: \`changeset publish\` made no git tag for it`);
  if (problems.length > 0) throw new CheckFailed(problems, { command });
  return due.map((m) => m.name);
}
