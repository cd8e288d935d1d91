import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Per run: what the next syncs would do at each portal (the go-live preview, src/domain/outlook.ts):
  // every object they would adopt, create, update or keep, and every conflict that stops them.
  // Record ids and portal ids only.
  await knex.schema.createTable('reconcile_outlook', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('run_id').notNullable().references('reconcile_runs.id').onDelete('cascade');
    t.text('portal').notNullable();
    t.text('client_number').notNullable();
    // 'adopt', 'create', 'update', 'keep', 'conflict'.
    t.text('action').notNullable();
    // 'entity', 'contact-user', 'client', 'login', 'user'.
    t.text('object').notNullable();
    t.text('record_type').notNullable();
    t.bigInteger('record_id').notNullable();
    t.integer('credentials_mails').notNullable().defaultTo(0);
    t.text('detail');
  });
  await knex.raw('create index reconcile_outlook_run on reconcile_outlook (run_id, portal, action)');

  // What a repair's sync did, in the preview's words: { adopt, create, update, credentialsMails }.
  await knex.schema.alterTable('reconcile_repairs', (t) => {
    t.jsonb('did');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('reconcile_repairs', (t) => {
    t.dropColumn('did');
  });
  await knex.schema.dropTableIfExists('reconcile_outlook');
}
