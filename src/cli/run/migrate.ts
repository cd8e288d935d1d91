import { connectDatabase } from '../../db';
import { startEmbeddedPostgres } from '../../dev/local-infra';
import { migrationSource } from '../../../migrations';
import { createOutput } from '../output';
import { databaseName, loadCliConfig, probeDatabase, processLogger, startFailure, ShutdownSteps } from '../process';
import { runningLocalStackDatabase, sayLocalStackDatabase } from './local-database';

interface MigrateResult {
  /** Name and host of the database, never its URL's password. */
  database: string;
  /** The migrations this run ran, in order. */
  ran: string[];
  total: number;
}

/** `portal-sync migrate`: the migrations not yet run, on DATABASE_URL or the local embedded PostgreSQL. */
export async function runMigrations(options: { json?: boolean }): Promise<void> {
  const config = loadCliConfig();
  const out = createOutput(options);
  const stops = new ShutdownSteps(processLogger(config, true));
  try {
    let url = config.DATABASE_URL;
    // While a local stack runs, its registry: a second PostgreSQL cannot start on the same data.
    const local = url ? undefined : runningLocalStackDatabase();
    if (local) {
      sayLocalStackDatabase('migrate', local);
      url = local.url;
    }
    if (!url) {
      const postgres = await startEmbeddedPostgres(config.DATA_DIR);
      stops.push(() => postgres.stop());
      url = postgres.url;
    }
    await probeDatabase(url);
    const db = connectDatabase(url);
    stops.push(() => db.destroy());
    const [, ran] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
    const total = (await migrationSource.getMigrations([])).length;
    const result: MigrateResult = { database: databaseName(url), ran, total };
    out.result(result, (value) =>
      value.ran.length === 0
        ? [`The ${value.database} is up to date: all ${value.total} migrations had run.`]
        : [`The ${value.database}: ran ${value.ran.length} of ${value.total} migrations:`, ...value.ran.map((name) => `  ${name}`)],
    );
  } catch (error) {
    throw startFailure('portal-sync migrate', error);
  } finally {
    await stops.stopAll();
  }
}
