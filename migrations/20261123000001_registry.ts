import type { Knex } from 'knex';

// Private data of a real person, shared by person clients and contacts (domain.md, "The registry").
function privatePersonColumns(t: Knex.CreateTableBuilder): void {
  t.text('first_name');
  t.text('infix');
  t.text('last_name');
  t.text('initials');
  t.text('bsn');
  t.text('residential_street');
  t.text('residential_postcode');
  t.text('residential_city');
  t.text('residential_country');
  t.text('correspondence_street');
  t.text('correspondence_postcode');
  t.text('correspondence_city');
  t.text('correspondence_country');
  t.text('private_email');
  t.text('private_mobile');
  t.text('correspondence_email_preference').notNullable().defaultTo('business');
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('clients', (t) => {
    t.bigIncrements('id');
    t.text('client_number').notNullable().unique();
    t.text('kind').notNullable();
    t.text('status').notNullable().defaultTo('client');
    t.text('name').notNullable();
    t.text('address');
    t.text('postcode');
    t.text('city');
    t.text('country');
    t.text('phone');
    t.text('email');
    t.text('website');
    t.text('facebook');
    t.text('twitter');
    t.text('linkedin');
    privatePersonColumns(t);
    t.boolean('link_caseware').notNullable().defaultTo(false);
    t.boolean('link_client_online').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table clients add constraint clients_kind check (kind in ('company', 'person'))`);
  await knex.raw(`alter table clients add constraint clients_status check (status in ('client', 'suspect', 'former'))`);

  await knex.schema.createTable('contacts', (t) => {
    t.bigIncrements('id');
    t.bigInteger('client_id').notNullable().references('clients.id');
    t.text('email');
    t.text('phone');
    t.text('mobile');
    privatePersonColumns(t);
    t.boolean('link_caseware').notNullable().defaultTo(false);
    t.boolean('link_client_online').notNullable().defaultTo(false);
    t.timestamp('deleted_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['client_id']);
  });

  // Each registry write appends its event here in the same transaction; the dispatcher delivers
  // them to Temporal. Events carry record ids only, never personal data.
  await knex.schema.createTable('outbox_events', (t) => {
    t.bigIncrements('id');
    t.text('client_number').notNullable();
    t.text('kind').notNullable();
    t.text('record_type').notNullable();
    t.bigInteger('record_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('delivered_at', { useTz: true });
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
  });
  await knex.raw(`create index outbox_events_pending on outbox_events (id) where delivered_at is null`);

  // What each portal holds for a registry record: its remote id, the login it owns, what was last sent.
  await knex.schema.createTable('portal_identities', (t) => {
    t.bigIncrements('id');
    t.text('portal').notNullable();
    t.text('record_type').notNullable();
    t.bigInteger('record_id').notNullable();
    t.text('client_number').notNullable();
    t.text('remote_id');
    t.text('login_key');
    t.text('access').notNullable().defaultTo('active');
    t.jsonb('last_sent');
    t.timestamp('synced_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['portal', 'record_type', 'record_id']);
    t.index(['portal', 'client_number']);
  });
  // A portal login (CaseWare: the email) belongs to one registry record: the first one sent.
  await knex.raw(
    `create unique index portal_identities_login on portal_identities (portal, login_key) where login_key is not null`,
  );

  // Per client and portal: the newest outbox event whose change the portal has received.
  await knex.schema.createTable('portal_sync_state', (t) => {
    t.text('portal').notNullable();
    t.text('client_number').notNullable();
    t.bigInteger('applied_event_id').notNullable().defaultTo(0);
    t.timestamp('synced_at', { useTz: true });
    t.primary(['portal', 'client_number']);
  });

  await knex.schema.createTable('sync_errors', (t) => {
    t.bigIncrements('id');
    t.text('portal').notNullable();
    t.text('record_type').notNullable();
    t.bigInteger('record_id').notNullable();
    t.text('client_number').notNullable();
    t.text('code').notNullable();
    t.text('message').notNullable();
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('resolved_at', { useTz: true });
    t.index(['client_number']);
  });
  await knex.raw(
    `create unique index sync_errors_open on sync_errors (portal, record_type, record_id, code) where resolved_at is null`,
  );
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['sync_errors', 'portal_sync_state', 'portal_identities', 'outbox_events', 'contacts', 'clients']) {
    await knex.schema.dropTableIfExists(table);
  }
}
