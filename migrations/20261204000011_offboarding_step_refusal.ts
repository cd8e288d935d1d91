import type { Knex } from 'knex';

// Issue 22, item 5: a step whose change a portal refused is not done. While it waits for a later
// sync to get the change through, the step says what was refused (the sync errors' messages: record
// ids and client numbers only); cleared when the step is done.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('offboarding_steps', (t) => {
    t.text('refusal');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('offboarding_steps', (t) => {
    t.dropColumn('refusal');
  });
}
