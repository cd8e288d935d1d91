import { defineConfig } from 'vitest/config';

/**
 * After the rest, one at a time: the chaos run kills and restarts its own servers under a load of
 * its own; the dispatcher's test polls once an hour and counts on the commit wake-up alone, while
 * its claim takes only events below the commit horizon, `pg_snapshot_xmin`, which is the whole
 * PostgreSQL server's: another file's open transaction, in a database of its own, holds the event
 * back until the next wake-up (with the default 250 ms poll, the next poll).
 */
const alone = ['test/chaos/**/*.test.ts', 'test/outbox/dispatcher.test.ts'];

// The Temporal SDK's native bridge does not survive worker threads: every file runs in a process of
// its own. Two files at a time on the two cores: they share one Temporal dev server and one workflow
// bundle (test/support/global-setup.ts), each stack in a namespace and a database of its own, and
// mostly wait on workflows and portals rather than compute.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: alone,
          globalSetup: ['test/support/global-setup.ts'],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: alone, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
