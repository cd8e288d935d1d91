import type { Knex } from 'knex';

// "Link to master" (hoofd/volger): a contact follows the master record of a real person, a person
// client (or, where none exists, another contact). Client Online gives a follower its master's login.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('contacts', (t) => {
    t.bigInteger('master_client_id').references('clients.id');
    t.bigInteger('master_contact_id').references('contacts.id');
    t.index(['master_client_id']);
    t.index(['master_contact_id']);
  });
  await knex.raw(
    'alter table contacts add constraint contacts_one_master check (master_client_id is null or master_contact_id is null)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table contacts drop constraint contacts_one_master');
  await knex.schema.alterTable('contacts', (t) => {
    t.dropColumn('master_client_id');
    t.dropColumn('master_contact_id');
  });
}
