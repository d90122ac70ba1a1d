import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['server/**/*.test.ts', 'clients/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    execArgv: ['--expose-gc'], // memory-bound tests measure the heap after a full collection
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
