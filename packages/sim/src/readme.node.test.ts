// The README's examples, run as a reader runs them (against the built package), print what the
// README says they print (both read from the README: tooling/test-support/readme-example.ts).
import { join } from 'node:path';
import { readmeExampleTests } from '../../../tooling/test-support/readme-example.ts';

readmeExampleTests(join(import.meta.dirname, '..'));
