import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // An operator's resync is a repair no reconcile run found: it asks the client's next sync to
  // check every record against the portal instead of trusting the ledger. Such a repair has no run.
  await knex.raw('alter table reconcile_repairs alter column run_id drop not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex('reconcile_repairs').whereNull('run_id').delete();
  await knex.raw('alter table reconcile_repairs alter column run_id set not null');
}
