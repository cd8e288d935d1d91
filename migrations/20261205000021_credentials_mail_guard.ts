import type { Knex } from 'knex';

// Issue 17, item 4: the credentials-mail guard. Every creation that makes a portal mail login
// credentials (a CaseWare contact user, a new Client Online login) is noted here per portal and
// record (ids only: no email, no name): `sent` when it was let through, `held` when the portal had
// let more than the threshold through in the last ten minutes, `approved` once two operator tokens
// released it (its sync then creates it, once). At most one row per record and portal, so a retry
// never counts, nor mails, twice.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('credentials_mails', (t) => {
    t.bigIncrements('id');
    // As the sync tables spell it: caseware, client_online.
    t.text('portal').notNullable();
    t.text('client_number').notNullable();
    t.text('record_type').notNullable();
    t.bigInteger('record_id').notNullable();
    t.text('status').notNullable();
    // When it was let through (sent) or stopped (held); the window counts `sent` rows by it.
    t.timestamp('decided_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('held_at', { useTz: true });
    t.timestamp('approved_at', { useTz: true });
    // The two tokens that approved it (four eyes), by name.
    t.text('first_approver');
    t.text('second_approver');
    t.unique(['portal', 'record_type', 'record_id']);
  });
  await knex.raw(`alter table credentials_mails add constraint credentials_mails_status check (status in ('sent', 'held', 'approved'))`);
  await knex.raw(`alter table credentials_mails add constraint credentials_mails_record_type check (record_type in ('client', 'contact'))`);
  await knex.raw('create index credentials_mails_window on credentials_mails (portal, status, decided_at)');

  // The first of the two approvals a portal's held creations need: who, when, and which held
  // creations it covers (those with an id up to `covers_up_to`). The second approval, by another
  // token, releases them and deletes this row.
  await knex.schema.createTable('credentials_mail_approvals', (t) => {
    t.text('portal').primary();
    t.text('approved_by').notNullable();
    t.timestamp('approved_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.bigInteger('covers_up_to').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('credentials_mail_approvals');
  await knex.schema.dropTableIfExists('credentials_mails');
}
