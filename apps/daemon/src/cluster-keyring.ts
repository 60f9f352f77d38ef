// The cluster secret file as a keyring (Serf's `keys -install/-use/-remove`): one
// `distkit-cluster-secret <base64>` line per secret, the first used to dial, every one accepted.
// A secret is named by its id, the 4 bytes the wire itself sends to say which secret a handshake
// uses (@distkit/handshake clusterSecretId), as 8 hex digits: the same on every host that holds
// the secret, and telling nothing about it. The secret itself is never printed or logged.
import { clusterSecretId, formatClusterKeyring, generateClusterSecret } from '@distkit/handshake';
import { writeFileAtomic } from './atomic-file.ts';
import { DaemonError } from './errors.ts';
import { parseClusterSecrets } from './identity.ts';
import { readSecret } from './secret-file.ts';

/** `3f9a01c2`: the wire's 4-byte id of a secret, in hex. */
export function secretId(secret: Uint8Array): string {
  return Buffer.from(clusterSecretId(secret)).toString('hex');
}

/**
 * The secrets of a cluster secret file, first first: it must exist, be 0600 and parse. `key` names
 * the config key in errors (null: the file was named on the command line).
 */
export async function loadClusterKeyring(path: string, key: string | null): Promise<Uint8Array[]> {
  const text = await readSecret(path, key ?? 'cluster secret file', 'cluster secret file', `make one with: distkitd secret new --out ${path}`);
  return parseClusterSecrets(text, path);
}

/** Writes the keyring, 0600, atomically (a reader sees the old file or the new one, never half). */
export async function writeClusterKeyring(path: string, secrets: readonly Uint8Array[]): Promise<void> {
  await writeFileAtomic(path, formatClusterKeyring(secrets), { mode: 0o600 });
}

export function newClusterSecret(): Uint8Array {
  return generateClusterSecret();
}

/** The position of the secret whose id is `id` (8 hex digits, any case); throws SECRET_UNKNOWN. */
export function indexOfSecret(secrets: readonly Uint8Array[], id: string, path: string): number {
  if (!/^[0-9a-fA-F]{8}$/.test(id)) throw new DaemonError('BAD_FLAG', `${JSON.stringify(id)} is not a secret id: 8 hex digits, as \`distkitd secret list\` prints them`);
  const i = secrets.findIndex((s) => secretId(s) === id.toLowerCase());
  if (i < 0) throw new DaemonError('SECRET_UNKNOWN', `no secret with id ${id.toLowerCase()} in ${path} (it holds ${secrets.map(secretId).join(', ')})`);
  return i;
}
