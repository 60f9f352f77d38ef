// Key material never reaches a message, a log line or an error. The parsers of @distkit/handshake
// quote a clipped piece of a bad key in their errors (useful for public keys, fatal for a private
// key or a cluster secret pasted in the wrong place), so every error built from a key file's text
// passes through here before anyone sees it.

/** The format tags, which are safe to show (and what a reader needs to see). */
const TAGS = new Set(['distkit-x25519-private', 'distkit-x25519', 'distkit-cluster-secret']);

/** Shorter runs carry too little to matter, and would hit ordinary words. */
const MIN_RUN = 6;
const MIN_TOKEN = 8;

const RUN = /[A-Za-z0-9+/=_-]{6,}/g;

export interface RedactOptions {
  /**
   * Trust files: the first field of a line is a node name, shown in errors on purpose, unless it
   * is not a valid name (then it may be a key pasted in the wrong place).
   */
  readonly isName?: (field: string) => boolean;
}

/** The tokens of `source` that may be key material (anything long and base64-like, not a tag). */
export function sensitiveTokens(source: string, options: RedactOptions = {}): string[] {
  const tokens: string[] = [];
  for (const line of source.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/).filter((f) => f !== '');
    fields.forEach((field, i) => {
      if (i === 0 && options.isName?.(field) === true) return;
      for (const run of field.match(RUN) ?? []) if (run.length >= MIN_TOKEN && !TAGS.has(run)) tokens.push(run);
    });
  }
  return tokens;
}

/**
 * `message` with every run of base64-like characters that also occurs inside a sensitive token
 * of `source` replaced by `<redacted>`. A run is checked whole and as the prefix handshake clips
 * keys to, so even a part of a key cannot leak.
 */
export function redactKeyMaterial(message: string, source: string, options: RedactOptions = {}): string {
  const tokens = sensitiveTokens(source, options);
  if (tokens.length === 0) return message;
  return message.replace(RUN, (run) => {
    if (run.length < MIN_RUN || TAGS.has(run)) return run;
    return tokens.some((t) => t.includes(run) || run.includes(t)) ? '<redacted>' : run;
  });
}
