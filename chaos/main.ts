import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { runChaos, type ChaosOptions, type ChaosReport } from './run';

// `npm run chaos`: the chaos run of chaos/run.ts, its figures printed, exit 1 on any violation.

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number, 0 or more');
  return n;
}

/** The default run: a few hundred clients, a few minutes on two cores. */
export function defaultChaosOptions(overrides: { seed?: number; companies?: number; stormSeconds?: number; editsPerSecond?: number } = {}): Omit<ChaosOptions, 'adminUrl' | 'log'> {
  const companies = overrides.companies ?? 200;
  return {
    seed: overrides.seed ?? 20261202,
    size: {
      companies,
      contactsPerCompany: [1, 3],
      persons: Math.max(4, Math.round(companies / 10)),
      followedAt: [2, 4],
      contactMasters: Math.max(2, Math.round(companies / 50)),
      concurrency: 8,
      editsPerSecond: overrides.editsPerSecond ?? 4,
      offboardingEveryMs: 8_000,
      reconcileEveryMs: 45_000,
    },
    stormMs: (overrides.stormSeconds ?? 180) * 1000,
    crashes: { worker: 3, temporal: 2, databaseDrops: 3, tokenExpiries: 3 },
    faultRates: { errorRate: 0.15, rateLimitRate: 0.1, hangRate: 0.03, dropRate: 0.02 },
    quietTimeoutMs: 600_000,
  };
}

export function printReport(report: ChaosReport, print: (line: string) => void = console.log): void {
  const f = report.figures;
  print('');
  print(`chaos run, seed ${report.seed}`);
  for (const check of report.checks) {
    print(`- ${check.name}: ${check.violations.length === 0 ? 'ok' : `${check.violations.length} violation(s)`}`);
    for (const [name, value] of Object.entries(check.figures)) print(`    ${name}: ${value}`);
  }
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, n) => sum + n, 0);
  print(`changes made: ${total(f.changes)} ${JSON.stringify(f.changes)}`);
  print(`answers refused or unknown (5xx during a crash, 409 by an offboarding's lock): ${total(f.refusedOrUnknown)} ${JSON.stringify(f.refusedOrUnknown)}`);
  print(`faults injected: ${JSON.stringify(f.faultsInjected)} (in ${f.faultWindows} fault windows)`);
  print(`crashes survived: worker ${f.crashesSurvived.worker}, Temporal ${f.crashesSurvived.temporal}, DB drops ${f.crashesSurvived.databaseDrops} (${f.crashesSurvived.databaseConnectionsTerminated} connections terminated); worker exits on its own ${f.unexpectedWorkerExits}`);
  print(`offboardings ${f.offboardings} (approved ${f.approvals}; steps made to be refused ${f.refusalsInjected}, refusals read and resynced ${f.refusalsSeen}), reconcile runs ${f.reconcileRuns}`);
  print(`quiet ${Math.round(f.quietAfterMs / 1000)} s after the storm; duration ${Math.round(f.durationMs / 1000)} s`);
  print(`machine: ${f.machine}`);
  for (const { check, violation } of report.violations.slice(0, 200)) print(`VIOLATION [${check}] ${violation}`);
  if (report.violations.length > 200) print(`... and ${report.violations.length - 200} more`);
  print(`violations: ${report.violations.length}`);
}

async function main(): Promise<void> {
  const options = new Command('chaos')
    .description('Run the workload under seeded portal faults and crashes, then check that nothing was lost or done twice')
    .option('--seed <n>', 'seed of the workload, the fault windows and the crash moments', positive)
    .option('--companies <n>', 'company clients (persons and contact masters scale with it)', positive)
    .option('--storm-seconds <n>', 'how long edits, faults and crashes go on', positive)
    .option('--edits-per-second <n>', 'the storm\'s pace (offboardings and reconcile runs among them)', positive)
    .option('--workers-killed <n>', 'worker SIGKILLs', positive)
    .option('--temporal-restarts <n>', 'Temporal dev server SIGKILLs and restarts', positive)
    .option('--database-drops <n>', 'times the service\'s database connections are terminated', positive)
    .option('--database-admin-url <url>', 'PostgreSQL to create the run\'s database on', process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
    .option('--out <file>', 'where the report goes as JSON', 'chaos/results/latest.json')
    .option('--verbose', 'print every log line of the processes')
    .parse()
    .opts<{ seed?: number; companies?: number; stormSeconds?: number; editsPerSecond?: number; workersKilled?: number; temporalRestarts?: number; databaseDrops?: number; databaseAdminUrl: string; out: string; verbose?: boolean }>();
  const defaults = defaultChaosOptions(options);
  const crashes = {
    ...defaults.crashes,
    ...(options.workersKilled === undefined ? {} : { worker: options.workersKilled }),
    ...(options.temporalRestarts === undefined ? {} : { temporal: options.temporalRestarts }),
    ...(options.databaseDrops === undefined ? {} : { databaseDrops: options.databaseDrops }),
  };
  const began = Date.now();
  const log = (line: string) => {
    if (options.verbose || line.startsWith('chaos:') || /^(registered|storm|quiet|no quiet|not quiet|worker)/.test(line)) {
      console.error(`[${Math.round((Date.now() - began) / 1000)}s] ${line}`);
    }
  };
  const report = await runChaos({ ...defaults, crashes, adminUrl: options.databaseAdminUrl, log, stopOnSignals: true });
  printReport(report);
  mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true });
  writeFileSync(path.resolve(options.out), `${JSON.stringify(report, null, 2)}\n`);
  process.exit(report.violations.length === 0 ? 0 : 1);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(2);
  });
}
