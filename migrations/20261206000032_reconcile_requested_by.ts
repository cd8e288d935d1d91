import type { Knex } from 'knex';

// Issue 18, item 4: which token asked for a reconcile run (null: the hourly schedule's).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('reconcile_runs', (t) => {
    t.text('requested_by');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('reconcile_runs', (t) => {
    t.dropColumn('requested_by');
  });
}
