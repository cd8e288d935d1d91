import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // One token bucket per portal that every worker of the fleet takes from before each request, so
  // that the fleet together stays under the portal's rate limit (src/sync/rate-gate.ts).
  await knex.schema.createTable('portal_rate_buckets', (t) => {
    t.text('portal').primary();
    // May go below zero: each request reserves the next free slot and waits for it.
    t.double('tokens').notNullable();
    t.timestamp('refilled_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('portal_rate_buckets');
}
