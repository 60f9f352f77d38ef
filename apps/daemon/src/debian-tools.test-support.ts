// The Debian tools some tests start (dnsmasq, ip, unshare/nsenter), found the way `.ci/run`
// finds them: on PATH or in the sbin folders an ordinary user's PATH may lack. When one is
// missing, root installs it as `.ci/run` does (apt-get, its Debian package); anyone else gets one
// line naming the command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** The absolute path of `name`, or null. */
export function locateTool(name: string): string | null {
  for (const dir of [...(process.env['PATH'] ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin']) {
    if (dir === '') continue;
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      // Not here.
    }
  }
  return null;
}

/**
 * The path of `name` from Debian package `pkg`; installed first when missing and running as
 * root. Throws one line saying what to run when it cannot be had.
 */
export function requireDebianTool(name: string, pkg: string, neededFor: string): string {
  const found = locateTool(name);
  if (found !== null) return found;
  if (process.getuid?.() === 0 && locateTool('apt-get') !== null) {
    // As .ci/run does it.
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    try {
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: 'ignore', env });
    } catch {
      // Reported below.
    }
    const installed = locateTool(name);
    if (installed !== null) return installed;
  }
  throw new Error(`${neededFor} need ${name}: run \`sudo apt-get install -y ${pkg}\` (or .ci/run as root, which installs it)`);
}
