import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // A committed outbox write wakes the dispatchers at once (LISTEN outbox_events) instead of at
  // their next poll. The notification is sent at commit, once per transaction.
  await knex.raw(`
    create function outbox_events_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('outbox_events', '');
      return null;
    end $$`);
  await knex.raw('create trigger outbox_events_notify after insert on outbox_events for each statement execute function outbox_events_notify()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists outbox_events_notify on outbox_events');
  await knex.raw('drop function if exists outbox_events_notify()');
}
