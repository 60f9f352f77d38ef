// Whether AES-GCM runs in hardware here (x86 AES-NI with PCLMULQDQ, ARMv8 Crypto Extensions, used
// by the runtime's node:crypto), to decide the default suite preference: AES-GCM first where it
// does, ChaCha20-Poly1305 elsewhere, as TLS stacks decide it (BoringSSL's EVP_has_aes_hardware,
// Go's cpu.X86.HasAES). JavaScript cannot run cpuid, so the answer comes from what the OS says
// about the CPU. It is read from a file, so it lives in the shell, never in the sans-I/O machine.
import { readFileSync } from 'node:fs';

let known: boolean | undefined;

/** Cached after the first call. */
export function hasHardwareAes(): boolean {
  known ??= !onDeno() && cpuHasAes();
  return known;
}

/**
 * Deno's node:crypto does not run AES-GCM at hardware speed, whatever the CPU: measured on Deno
 * 2.9 on an AES-NI machine, 64 KiB records seal at 133 MB/s with AES-256-GCM against 1,403 MB/s
 * with ChaCha20-Poly1305 (Node 20's OpenSSL on the same machine: 1,247 MB/s with AES-GCM). So Deno
 * proposes ChaChaPoly; it still accepts AESGCM from a peer that proposes it.
 */
function onDeno(): boolean {
  return 'Deno' in globalThis;
}

function cpuHasAes(): boolean {
  const proc = globalThis as { process?: { platform?: string; arch?: string } };
  const platform = proc.process?.platform;
  const arch = proc.process?.arch;
  if (platform === 'linux' && mayRead('/proc/cpuinfo')) {
    try {
      const info = readFileSync('/proc/cpuinfo', 'utf8');
      // x86: "flags : ... aes ... pclmulqdq ..."; arm64: "Features : ... aes pmull ...".
      const line = /^(flags|Features)\s*:(.*)$/m.exec(info)?.[2];
      if (line !== undefined) {
        const flags = new Set(line.trim().split(/\s+/));
        return flags.has('aes') && (flags.has('pclmulqdq') || flags.has('pmull'));
      }
    } catch {
      // unreadable: decide from the architecture below
    }
  }
  // Every Apple silicon Mac has the ARMv8 Crypto Extensions; x86-64 CPUs have had AES-NI since
  // 2010 (Westmere, Bulldozer); anything else is assumed not to.
  if (arch === 'x64') return true;
  return arch === 'arm64' && platform === 'darwin';
}

/**
 * Deno asks the user before a read it was not granted (a prompt in a terminal): only read when
 * the permission is already there. Node has no such check.
 */
function mayRead(path: string): boolean {
  const deno = (globalThis as { Deno?: { permissions?: { querySync?(d: { name: 'read'; path: string }): { state: string } } } }).Deno;
  if (!deno) return true;
  try {
    return deno.permissions?.querySync?.({ name: 'read', path }).state === 'granted';
  } catch {
    return false;
  }
}
