/**
 * An uninitialised byte array: Node's Buffer.allocUnsafe where there is one (its pages are not
 * touched, so not resident, until written), else a plain Uint8Array. For buffers every byte of
 * which is written before it is read: zero-filling them would be wasted work on the bulk path.
 */
export const allocUnsafe: (n: number) => Uint8Array = (() => {
  const B = (globalThis as { Buffer?: { allocUnsafe?: (n: number) => Uint8Array } }).Buffer;
  const f = B?.allocUnsafe;
  return typeof f === 'function' ? (n: number) => f.call(B, n) : (n: number) => new Uint8Array(n);
})();
