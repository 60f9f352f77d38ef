// The CLI from source, for tests that run distkitd as a separate process (through tsx, so no
// build of this package is needed; its dependencies resolve as installed).
import { main } from './cli.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
