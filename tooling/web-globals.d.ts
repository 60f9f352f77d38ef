// The few web-platform globals that every runtime distkit supports (Node >= 20, Deno 2) provides.
// The cores are compiled without @types/node so that a `node:` import cannot slip in unseen; this
// file declares just what they may use.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}
