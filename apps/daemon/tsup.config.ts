import { defineConfig } from 'tsup';
import { preset } from '../../tooling/tsup.preset.ts';

// The shared preset, plus the CLI as its own entry: bin/distkitd.js loads dist/cli.js, which
// pulls in the daemon runtime (pino, prom-client, the kernel) only for `run`.
export default defineConfig({ ...(preset as object), entry: ['src/index.ts', 'src/cli.ts'] });
