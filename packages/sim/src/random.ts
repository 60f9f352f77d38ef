// Seeded randomness for the simulator. sfc32 (Chris Doty-Humphrey's Small Fast Counting generator,
// public domain, passes PractRand): 128 bits of state, 32-bit output, fast in JS integer math.

/** 32-bit FNV-1a of a string: turns a seed and a name into an independent stream's seed. */
export function fnv1a(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A uniform [0, 1) generator from a 32-bit seed and an optional stream name. */
export function createRandom(seed: number, stream = ''): () => number {
  let a = fnv1a(`a:${stream}`, seed >>> 0);
  let b = fnv1a(`b:${stream}`, seed >>> 0);
  let c = fnv1a(`c:${stream}`, seed >>> 0);
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Mix the state before use, as sfc32's author recommends (12 rounds).
  for (let i = 0; i < 12; i++) next();
  return next;
}
