import type { Knex } from 'knex';

// Issue 22, item 4: why an offboarding waits for approval (its own accesses ended, or those of the
// same token's recent offboardings added to them: the rolling budget), and an index for reading
// that budget.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('offboardings', (t) => {
    t.text('approval_reason');
    t.index(['requested_by', 'created_at'], 'offboardings_requested_by_created_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('offboardings', (t) => {
    t.dropIndex(['requested_by', 'created_at'], 'offboardings_requested_by_created_at');
    t.dropColumn('approval_reason');
  });
}
