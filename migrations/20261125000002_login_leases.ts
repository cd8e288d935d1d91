import type { Knex } from 'knex';

// Pushes that carry the same Client Online login take turns (activities/client-online.ts). A lease
// is a row, not a lock held on a connection: no connection stays taken while the portal works, and
// a lease whose holder lost its answer (a timeout) stays until it expires, because the portal may
// still be applying that push.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('client_online_login_leases', (t) => {
    t.text('ref').primary();
    t.text('holder').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('client_online_login_leases');
}
