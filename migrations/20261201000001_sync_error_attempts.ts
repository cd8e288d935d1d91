import type { Knex } from 'knex';

// The error list for the system administrator: how many syncs met each error, and a list sorted by
// when an error was last seen that stays quick however many errors a firm has had.
export async function up(knex: Knex): Promise<void> {
  // A row exists because a sync met the error at least once; existing rows count that one.
  await knex.schema.alterTable('sync_errors', (t) => {
    t.integer('attempts').notNullable().defaultTo(1);
  });
  await knex.raw('create index sync_errors_last_seen on sync_errors (last_seen_at desc, id desc)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists sync_errors_last_seen');
  await knex.schema.alterTable('sync_errors', (t) => {
    t.dropColumn('attempts');
  });
}
