import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Per portal, whether the service can use it: a failure that is not about a record (credentials,
  // permissions, answers it cannot read) makes it unhealthy; the next sync that succeeds heals it.
  // One row per portal, however many clients met the failure.
  await knex.schema.createTable('portal_health', (t) => {
    t.text('portal').primary();
    t.boolean('healthy').notNullable().defaultTo(true);
    // Since when the portal has been in its current state.
    t.timestamp('since', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('last_failure_code');
    t.text('last_failure_message');
    // Failures met since the portal last became unhealthy.
    t.integer('failures').notNullable().defaultTo(0);
    t.timestamp('checked_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // An email change keeps the old login reserved (login_key) until the portal has confirmed the new
  // one (pending_login_key), so that no other record can claim the old address, and adopt this
  // record's portal user by it, while the change is in flight.
  await knex.schema.alterTable('portal_identities', (t) => {
    t.text('pending_login_key');
  });
  await knex.raw(
    'create unique index portal_identities_pending_login on portal_identities (portal, pending_login_key) where pending_login_key is not null',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists portal_identities_pending_login');
  await knex.schema.alterTable('portal_identities', (t) => {
    t.dropColumn('pending_login_key');
  });
  await knex.schema.dropTableIfExists('portal_health');
}
