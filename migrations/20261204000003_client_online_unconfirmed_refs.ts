import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The logins (refs: record ids, no personal data) of Client Online pushes sent and not yet
  // answered, written before each request: a push whose answer was lost may have been applied, so
  // its logins count as held under the client until an answer says what Client Online holds.
  await knex.schema.alterTable('portal_identities', (t) => {
    t.jsonb('unconfirmed_refs');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('portal_identities', (t) => {
    t.dropColumn('unconfirmed_refs');
  });
}
