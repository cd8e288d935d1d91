import { expect, test } from 'vitest';
import { defaultChaosOptions, printReport } from '../../chaos/main';
import { runChaos } from '../../chaos/run';

// The chaos run of `npm run chaos`, short and seeded: a small firm, a storm of 30 s, one worker
// SIGKILL, one Temporal restart, one drop of the database connections, one token expiry, portal
// faults throughout. The checks are the full run's (chaos/checks.ts).

test('under portal faults and crashes nothing is lost or done twice', async () => {
  const defaults = defaultChaosOptions({ seed: 1202, companies: 12, stormSeconds: 30 });
  const report = await runChaos({
    ...defaults,
    size: { ...defaults.size, persons: 3, contactMasters: 1, concurrency: 6, editsPerSecond: 3, offboardingEveryMs: 6_000, reconcileEveryMs: 20_000 },
    crashes: { worker: 1, temporal: 1, databaseDrops: 1, tokenExpiries: 1 },
    quietTimeoutMs: 120_000,
    adminUrl: process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    log: () => undefined,
  });
  printReport(report, (line) => console.info(line));
  expect(report.figures.crashesSurvived.worker).toBe(1);
  expect(report.figures.crashesSurvived.temporal).toBe(1);
  expect(report.violations.map((v) => `[${v.check}] ${v.violation}`)).toEqual([]);
}, 300_000);
