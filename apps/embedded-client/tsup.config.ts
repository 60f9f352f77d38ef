import { defineConfig, type Options } from 'tsup';

// A program, not a library: one ESM entry for Node, a shebang, dependencies stay external (they
// resolve to the workspace packages' builds).
export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  outDir: 'dist',
  banner: { js: '#!/usr/bin/env node' },
  external: [/^node:/],
} satisfies Options) as ReturnType<typeof defineConfig>;
