import type { Knex } from 'knex';

// Issue 19 (bulk): the dispatcher's claim read the partial index of undelivered events in id
// order, walking past every event claimed and not yet delivered, so a backlog of thousands cost it
// hundreds of index entries per event. Events not claimed yet, and claims by their expiry, each
// get an index of their own: a claim reads only what it takes.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index outbox_events_unclaimed on outbox_events (id) where delivered_at is null and claimed_until is null');
  await knex.raw('create index outbox_events_claim_expiry on outbox_events (claimed_until) where delivered_at is null and claimed_until is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists outbox_events_claim_expiry');
  await knex.raw('drop index if exists outbox_events_unclaimed');
}
