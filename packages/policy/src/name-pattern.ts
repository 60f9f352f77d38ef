// Allow and deny lists take node names or glob patterns: `*` any run of characters, `?` one
// character (as in shell globs and Erlang's net_kernel:allow names... which take no globs at all;
// patterns are distkit's addition). Everything else matches itself.

/** True when `entry` is a pattern rather than a plain name. */
export function isPattern(entry: string): boolean {
  return entry.includes('*') || entry.includes('?');
}

/** A predicate over node names for a list of names and patterns. */
export function nameMatcher(entries: Iterable<string>): (name: string) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const e of entries) {
    if (isPattern(e)) patterns.push(new RegExp(`^${e.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's'));
    else exact.add(e);
  }
  if (patterns.length === 0) return (name) => exact.has(name);
  return (name) => exact.has(name) || patterns.some((re) => re.test(name));
}
