import type { Knex } from 'knex';

// A dispatcher that dies between claiming events and marking them delivered (its worker was
// killed) left them to wait for the claim to expire, two minutes. A claim now names its
// dispatcher's listening connection (its backend pid): once that connection is gone from
// pg_stat_activity, the claim is taken over at once.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox_events', (t) => {
    t.integer('claimed_by');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox_events', (t) => {
    t.dropColumn('claimed_by');
  });
}
