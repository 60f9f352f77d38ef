import { nativeProvider } from './native.ts';
import { nobleProvider } from './noble.ts';
import type { CryptoProvider } from './provider.ts';

let chosen: CryptoProvider | undefined;

/**
 * The provider used when a caller names none: native when the default suite
 * (25519 + ChaChaPoly + SHA256) works through node:crypto on this runtime, noble otherwise.
 * Decided once, on first use, by trying the functions rather than by sniffing the runtime.
 */
export function defaultProvider(): CryptoProvider {
  chosen ??= nativeProvider.dh('25519') && nativeProvider.cipher('ChaChaPoly') && nativeProvider.hash('SHA256')
    ? nativeProvider
    : nobleProvider;
  return chosen;
}
