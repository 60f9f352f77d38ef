// Runs Verdaccio in this process for the release rehearsal: `node serve.mjs <install dir> <config.yaml>`.
// Listens on 127.0.0.1, port chosen by the kernel (no race for a free port), prints one JSON
// line `{"url": ...}` on stdout once it accepts connections, and exits when its stdin closes,
// so a rehearsal that dies (even by SIGKILL) never leaves a registry behind. Started by
// ../local-registry.mjs, which installs Verdaccio into <install dir> first.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [installDir, configPath] = process.argv.slice(2);
const { runServer } = createRequire(join(installDir, 'package.json'))('verdaccio');
const server = await runServer(configPath);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/`, pid: process.pid })}\n`);
});
const stop = () => {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
};
process.stdin.on('end', stop).on('error', stop).resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
