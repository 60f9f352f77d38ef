import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// One vitest project per workspace package. Package names are aliased to their `src/` so tests
// never need a build (tRPC's habit), and a package's tests see its siblings' current source.
const roots = ['packages', 'apps'];
const members = roots.flatMap((root) =>
  existsSync(root)
    ? readdirSync(root)
        .map((dir) => join(root, dir))
        .filter((dir) => existsSync(join(dir, 'package.json')))
    : [],
);

const alias = members.flatMap((dir) => {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string };
  const entry = resolve(dir, 'src/index.ts');
  return existsSync(entry) ? [{ find: new RegExp(`^${pkg.name}$`), replacement: entry }] : [];
});

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'tooling', root: 'tooling', include: ['scripts/**/*.test.ts'], testTimeout: 120_000 },
      },
      ...members.map((dir) => ({
      extends: true,
      test: {
        name: dir.split('/')[1],
        root: dir,
        include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        testTimeout: 60_000,
        hookTimeout: 60_000,
      },
    })),
    ],
  },
});
