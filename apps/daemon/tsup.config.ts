import { defineConfig } from 'tsup';
import { preset } from '../../tooling/tsup.preset.ts';

// The shared preset, plus the CLI as its own entry: bin/distkitd.js loads dist/cli.js, which
// pulls in the daemon runtime (pino, prom-client, the kernel) only for `run`. Second build: the
// cluster page (ui/) for browsers, into dist/ui (app.js, app.css, index.html), which the
// daemon's build must not clean away.
export default defineConfig([
  { ...(preset as object), entry: ['src/index.ts', 'src/cli.ts'], clean: ['!ui/**'] },
  {
    entry: { app: 'ui/main.ts' },
    outDir: 'dist/ui',
    format: ['iife'],
    platform: 'browser',
    target: ['chrome120', 'firefox120'],
    minify: true,
    sourcemap: false,
    dts: false,
    clean: true,
    publicDir: 'ui/public',
    outExtension: () => ({ js: '.js' }),
    tsconfig: 'ui/tsconfig.json',
  },
]);
