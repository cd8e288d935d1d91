import { defineConfig } from 'vitest/config';

// The Temporal SDK's native bridge does not survive worker threads: run every file in its own
// process, and one file at a time, because each file starts its own Temporal dev server and the
// machines this runs on have two cores.
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
