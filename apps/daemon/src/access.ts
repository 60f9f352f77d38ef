// The daemon's allow/deny lists (trust.allow, trust.deny): node names or glob patterns (`*`, `?`).
// Deny wins; an empty allow list allows every name. Reloaded on SIGHUP, and unlike Erlang's
// net_kernel:allow the lists may shrink: links to nodes no longer allowed are closed.

export interface AccessLists {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

function glob(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Returns a function giving the reason `name` is refused, or null when it is allowed. */
export function accessGate(lists: AccessLists): (name: string) => string | null {
  const allow = lists.allow.map((p) => [p, glob(p)] as const);
  const deny = lists.deny.map((p) => [p, glob(p)] as const);
  return (name) => {
    const denied = deny.find(([, re]) => re.test(name));
    if (denied) return `${name} is denied by trust.deny (${denied[0]})`;
    if (allow.length > 0 && !allow.some(([, re]) => re.test(name))) return `${name} is not in trust.allow`;
    return null;
  };
}
