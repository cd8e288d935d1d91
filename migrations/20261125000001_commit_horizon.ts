import type { Knex } from 'knex';

// The commit horizon (issue 7): event ids come from a sequence at insert, so a slow transaction's
// event can commit after a higher id has been synced. Each event now records its transaction id;
// the dispatcher delivers only events whose transaction is older than every running one, and a
// portal's progress is that horizon rather than an event id.
export async function up(knex: Knex): Promise<void> {
  // Existing rows get this migration's transaction id.
  await knex.raw('alter table outbox_events add column xid xid8 not null default pg_current_xact_id()');
  await knex.raw('create index outbox_events_client_xid on outbox_events (client_number, xid)');
  await knex.raw('create index outbox_events_client_id on outbox_events (client_number, id)');
  // A dispatcher claims events until this moment: a crashed dispatcher's claim expires, and a
  // target Temporal refused waits this long before it is tried again.
  await knex.schema.alterTable('outbox_events', (t) => {
    t.timestamp('claimed_until', { useTz: true });
  });
  // Retention deletes delivered events by age.
  await knex.raw('create index outbox_events_delivered on outbox_events (delivered_at) where delivered_at is not null');
  await knex.raw('create index sync_errors_resolved on sync_errors (resolved_at) where resolved_at is not null');

  // Per client and portal: every transaction below this horizon has been read by a sync that
  // reached the portal. applied_event_id stays for workflow runs started before this migration.
  await knex.schema.alterTable('portal_sync_state', (t) => {
    t.bigInteger('applied_horizon').notNullable().defaultTo(0);
  });

  // Every client is synced once past the migration; without it the events above would read as
  // pending until the client's next change.
  await knex.raw(`
    insert into outbox_events (client_number, kind, record_type, record_id)
    select client_number, 'client.resync', 'client', id from clients order by id`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('portal_sync_state', (t) => {
    t.dropColumn('applied_horizon');
  });
  await knex.raw('drop index if exists sync_errors_resolved');
  await knex.raw('drop index if exists outbox_events_delivered');
  await knex.raw('drop index if exists outbox_events_client_id');
  // The (client_number, xid) index goes with its column.
  await knex.schema.alterTable('outbox_events', (t) => {
    t.dropColumn('claimed_until');
    t.dropColumn('xid');
  });
}
