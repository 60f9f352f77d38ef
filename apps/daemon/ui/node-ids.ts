// Node ids in decisions are public keys (base64); the node list has fingerprints
// (SHA256:<base64 of SHA-256(key)>, as ssh-keygen -l prints). Hashing an id names its node.

export class NodeIds {
  readonly #byFingerprint = new Map<string, string>();
  readonly #byId = new Map<string, string>();

  /** Learns which fingerprint is whose. */
  learn(pairs: ReadonlyArray<readonly [name: string, fingerprint: string | null]>): void {
    for (const [name, fp] of pairs) if (fp !== null) this.#byFingerprint.set(fp, name);
  }

  nameOf = (id: string): string | undefined => this.#byId.get(id);

  /**
   * Hashes ids to find their names (crypto.subtle exists on loopback pages, a secure context);
   * true when an id got a name.
   */
  async resolve(ids: readonly unknown[]): Promise<boolean> {
    if (!globalThis.crypto?.subtle) return false;
    let named = false;
    for (const id of ids) {
      if (typeof id !== 'string' || this.#byId.has(id)) continue;
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = Uint8Array.from(atob(id), (c) => c.charCodeAt(0));
      } catch {
        continue;
      }
      const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      const fp = `SHA256:${btoa(String.fromCharCode(...hash)).replace(/=+$/, '')}`;
      const name = this.#byFingerprint.get(fp);
      if (name !== undefined) {
        this.#byId.set(id, name);
        named = true;
      }
    }
    return named;
  }
}

/** The node ids a decision's two view summaries mention. */
export function idsInDecision(e: Record<string, unknown>): unknown[] {
  const ids: unknown[] = [];
  for (const side of [e['mine'], e['theirs']]) {
    const v = side as { lowest?: unknown; oldest?: { id?: unknown } | null } | null;
    if (v) ids.push(v.lowest, v.oldest?.id);
  }
  return ids;
}
