import knex, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from '../migrations';

export type Db = Knex;

// Record ids are bigserial; they stay far below 2^53, so read them as numbers, not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

export function connectDatabase(databaseUrl: string): Db {
  return knex({
    client: 'pg',
    // No query may hang forever: a stuck statement fails, and the activity that ran it is retried.
    connection: { connectionString: databaseUrl, statement_timeout: 30_000, connectionTimeoutMillis: 10_000 },
    pool: { min: 0, max: 10 },
    acquireConnectionTimeout: 30_000,
  });
}

/**
 * Runs `work` in a transaction of its own; on a transaction already, in that one: the caller's
 * transaction is the unit, and a savepoint would only cost two more round trips.
 */
export async function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>, config?: Knex.TransactionConfig): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction(work, config);
}

export async function migrateToLatest(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}
