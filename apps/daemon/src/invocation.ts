// How to run this distkitd again, for the join command the banner prints. It must run as
// printed, wherever distkitd came from: `distkitd` when that name on PATH is this very program
// (a global install, or a package's node_modules/.bin), else the node binary and the script by
// absolute path (a checkout: `npm start`, `node apps/daemon/bin/distkitd.js`, or the sources
// through tsx), which runs from any directory. `npx distkitd` is not printed: outside the
// checkout it would fetch whatever the registry calls `distkitd`. A `distkitd` found in a
// node_modules/.bin folder does not count: npm puts those on PATH only while it runs a script
// (`npm start`), so the name would not resolve once the user pastes the line into a shell.
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface InvocationFacts {
  readonly execPath: string;
  readonly execArgv: readonly string[];
  /** process.argv[1]: the script node was started with. */
  readonly script: string | undefined;
  readonly path: string | undefined;
}

export function selfCommand(facts: InvocationFacts = { execPath: process.execPath, execArgv: process.execArgv, script: process.argv[1], path: process.env['PATH'] }): string[] {
  const script = facts.script === undefined ? null : real(facts.script);
  const onPath = which('distkitd', facts.path, (dir) => !/(^|[\\/])node_modules[\\/]\.bin[\\/]?$/.test(dir));
  if (script !== null && onPath !== null && real(onPath) === script && facts.execArgv.length === 0) return ['distkitd'];
  const node = which('node', facts.path);
  const nodeCommand = node !== null && real(node) === real(facts.execPath) ? 'node' : facts.execPath;
  return [nodeCommand, ...facts.execArgv, ...(script === null ? [] : [script])];
}

function which(name: string, path: string | undefined, usable: (dir: string) => boolean = () => true): string | null {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '' || !usable(dir)) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return null;
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
