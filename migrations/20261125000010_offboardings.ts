import type { Knex } from 'knex';

// Offboardings (issue 8): what an operator asked, the bottom-up plan, and a record of every step,
// kept without expiry. Records hold ids and client numbers only; the reason is free text the
// operator wrote, kept here and never sent to a portal or Temporal.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('offboardings', (t) => {
    t.bigIncrements('id');
    t.text('kind').notNullable();
    t.jsonb('request').notNullable();
    t.text('reason');
    t.text('requested_by').notNullable();
    t.text('status').notNullable();
    t.text('workflow_id');
    t.jsonb('plan').notNullable();
    t.boolean('approval_required').notNullable().defaultTo(false);
    t.text('approved_by');
    t.timestamp('approved_at', { useTz: true });
    t.text('cancelled_by');
    t.text('failure');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
  });
  await knex.raw(
    `alter table offboardings add constraint offboardings_status check (status in ('running', 'awaiting-approval', 'completed', 'failed', 'cancelled'))`,
  );

  await knex.schema.createTable('offboarding_steps', (t) => {
    t.bigInteger('offboarding_id').notNullable().references('offboardings.id');
    t.integer('step').notNullable();
    t.text('action').notNullable();
    t.text('record_type').notNullable();
    t.bigInteger('record_id').notNullable();
    t.text('client_number').notNullable();
    t.text('summary').notNullable();
    t.jsonb('effects').notNullable();
    t.text('status').notNullable().defaultTo('pending');
    /** What the registry change did (e.g. which links it switched off); empty when it found nothing to change. */
    t.jsonb('changed');
    t.timestamp('started_at', { useTz: true });
    t.timestamp('applied_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true });
    t.primary(['offboarding_id', 'step']);
  });
  await knex.raw(
    `alter table offboarding_steps add constraint offboarding_steps_status check (status in ('pending', 'applying', 'waiting-for-portals', 'done', 'not-run'))`,
  );

  // The records an unfinished offboarding changes: the registry refuses link, master and status
  // changes to them from anyone else, and a second offboarding of them.
  await knex.schema.createTable('offboarding_records', (t) => {
    t.bigInteger('offboarding_id').notNullable().references('offboardings.id');
    t.text('record_type').notNullable();
    t.text('record_key').notNullable();
    t.primary(['record_type', 'record_key', 'offboarding_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['offboarding_records', 'offboarding_steps', 'offboardings']) await knex.schema.dropTableIfExists(table);
}
