// Certificates for the node:tls anchors (TLS 1.3 with mutual authentication), made at bench time
// with Debian's openssl CLI: ECDSA P-256, self-signed, each side trusting exactly the other's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MutualTlsFiles {
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
}

/** PEM texts for a server and a client, or null when the openssl CLI is missing. */
export function mutualTlsCertificates(): MutualTlsFiles | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'distkit-tls-'));
  try {
    const files: Record<string, string> = {};
    for (const who of ['server', 'client']) {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', `/CN=${who}`, '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', join(dir, `${who}.key`), '-out', join(dir, `${who}.crt`),
      ], { stdio: 'ignore' });
      files[`${who}Key`] = readFileSync(join(dir, `${who}.key`), 'utf8');
      files[`${who}Cert`] = readFileSync(join(dir, `${who}.crt`), 'utf8');
    }
    return files as unknown as MutualTlsFiles;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
