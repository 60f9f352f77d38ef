import { defineConfig, type Options } from 'tsup';

/**
 * The one build every published package uses: ESM + CJS, each with its own declarations
 * (`.d.ts` / `.d.cts`), from `src/index.ts`. Dependencies stay external (tsup's default).
 */
export const preset: ReturnType<typeof defineConfig> = defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  outDir: 'dist',
  // Runtime built-ins stay imports; the cores never use them, the kernel's Node transport does.
  external: [/^node:/],
} satisfies Options);
