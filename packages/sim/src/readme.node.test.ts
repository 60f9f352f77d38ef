// The README's examples, run as a reader runs them (against the built package), print what the
// README says they print (tooling/test-support/readme-example.ts reads both from the README).
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readmeExamplesOf, runReadmeExample } from '../../../tooling/test-support/readme-example.ts';

const root = join(import.meta.dirname, '..');
const examples = readmeExamplesOf(join(root, 'README.md'));

it('the README has an example that says what it prints', () => {
  expect(examples.some((e) => e.prints.length > 0)).toBe(true);
});

for (const example of examples.filter((e) => e.prints.length > 0)) {
  it(`the example at README.md:${example.line} prints what the README shows`, () => {
    expect(runReadmeExample(example, root).trimEnd().split('\n')).toEqual(example.prints);
  }, 90_000);
}
