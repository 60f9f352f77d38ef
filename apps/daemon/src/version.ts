import { readFileSync } from 'node:fs';

/** The package version, read from package.json beside src/ or dist/ ("unknown" if unreadable). */
export function daemonVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
