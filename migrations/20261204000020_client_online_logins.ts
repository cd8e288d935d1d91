import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Which Client Online login each person has: by the person's key (`p-<person client id>`,
  // `c-<contact id>`), the ref the login is pushed with. A login portal-sync created has the key as
  // its ref; one it adopted at go-live (found by its username) keeps the ref Client Online knew it
  // by, for good. A person without a row has never been met: the sync looks for an existing login
  // before it lets Client Online create one (and mail credentials).
  await knex.schema.createTable('client_online_logins', (t) => {
    t.text('person_key').primary();
    t.text('ref').notNullable().unique();
    // 'created' or 'adopted'.
    t.text('origin').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // Logins sent before this table existed were created under their person's key.
  await knex.raw(`
    insert into client_online_logins (person_key, ref, origin)
    select distinct u->>'ref', u->>'ref', 'created'
      from portal_identities i, jsonb_array_elements(coalesce(i.last_sent->'users', '[]'::jsonb)) u
     where i.portal = 'client_online' and i.record_type = 'client' and u->>'ref' ~ '^[pc]-[0-9]+$'
    on conflict do nothing`);

  // Client Online's logins by username, as the last bulk read found them (the reconcile, the
  // go-live preview, or a sync that met a username already taken): where an existing login is
  // looked for by its username. A cache of the portal, replaced whole by each read.
  await knex.schema.createTable('client_online_directory', (t) => {
    t.text('ref').primary();
    t.text('username').notNullable();
    t.timestamp('read_at', { useTz: true }).notNullable();
  });
  await knex.raw('create index client_online_directory_username on client_online_directory (username)');

  // Users Client Online held under a client before portal-sync first pushed it, that the registry
  // does not give access to it: kept in every push (as they were), so go-live removes nobody's
  // access, and reported, until an operator lets them go.
  await knex.schema.createTable('client_online_kept_users', (t) => {
    t.text('client_number').notNullable();
    t.text('ref').notNullable();
    t.jsonb('user').notNullable();
    t.timestamp('kept_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['client_number', 'ref']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('client_online_kept_users');
  await knex.schema.dropTableIfExists('client_online_directory');
  await knex.schema.dropTableIfExists('client_online_logins');
}
