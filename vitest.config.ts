import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Tests share one native addon per worker; forks isolate native state between files.
    pool: 'forks',
    // test/tensor/memory.test.ts drives the garbage collector to test the finalizer backstop.
    execArgv: ['--expose-gc'],
  },
});
