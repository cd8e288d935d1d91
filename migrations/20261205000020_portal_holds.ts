import type { Knex } from 'knex';

// Issue 17, item 2: an operator holds a portal (a go-live, a maintenance window). While a portal is
// held nothing is written to it; the syncs that met the hold are noted per client, so that the
// release wakes exactly those clients. Client numbers only, no personal data.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('portal_holds', (t) => {
    // The portal as the sync tables spell it: caseware, client_online.
    t.text('portal').primary();
    // The name of the token that set it (`api` for the built-in token).
    t.text('held_by').notNullable();
    t.timestamp('held_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('note');
  });
  await knex.raw(`alter table portal_holds add constraint portal_holds_portal check (portal in ('caseware', 'client_online'))`);

  await knex.schema.createTable('held_syncs', (t) => {
    t.text('portal').notNullable();
    t.text('client_number').notNullable();
    t.timestamp('held_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['portal', 'client_number']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('held_syncs');
  await knex.schema.dropTableIfExists('portal_holds');
}
