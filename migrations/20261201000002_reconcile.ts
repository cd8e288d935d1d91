import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // One row per reconcile run (the hourly schedule's or one asked for): what it found and did.
  await knex.schema.createTable('reconcile_runs', (t) => {
    t.bigIncrements('id').primary();
    t.text('workflow_id').notNullable();
    // 'schedule' or 'api'.
    t.text('trigger').notNullable();
    t.boolean('dry_run').notNullable().defaultTo(false);
    // 'running', 'completed', 'failed'.
    t.text('status').notNullable().defaultTo('running');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    // Per portal: checked, in sync, repaired, failed, orphans, reads, writes; and the duration.
    t.jsonb('report');
    t.unique(['workflow_id']);
  });

  // Per run, client and portal where the portal differed: what differed (record ids, field names,
  // never values) and what the client's sync did about it. A client's next sync repairs what is
  // pending here for it, through the same path as every change.
  await knex.schema.createTable('reconcile_repairs', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('run_id').notNullable().references('reconcile_runs.id').onDelete('cascade');
    t.text('portal').notNullable();
    t.text('client_number').notNullable();
    t.jsonb('drift').notNullable();
    // 'pending' (waits for the client's sync), 'repaired', 'no-change' (a change in flight had
    // already fixed it), 'failed' (the sync met a sync error on a drifted record), 'dry-run'.
    t.text('status').notNullable();
    t.integer('writes').notNullable().defaultTo(0);
    t.text('message');
    t.timestamp('found_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('settled_at', { useTz: true });
    t.unique(['run_id', 'portal', 'client_number']);
  });
  await knex.raw("create index reconcile_repairs_pending on reconcile_repairs (portal, client_number) where status = 'pending'");

  // Portal objects no registry record accounts for, per run: reported, never deleted.
  await knex.schema.createTable('reconcile_orphans', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('run_id').notNullable().references('reconcile_runs.id').onDelete('cascade');
    t.text('portal').notNullable();
    t.text('kind').notNullable();
    t.text('remote_id').notNullable();
    t.text('reason').notNullable();
    t.unique(['run_id', 'portal', 'kind', 'remote_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('reconcile_orphans');
  await knex.schema.dropTableIfExists('reconcile_repairs');
  await knex.schema.dropTableIfExists('reconcile_runs');
}
