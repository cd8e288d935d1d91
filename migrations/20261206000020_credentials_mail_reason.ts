import type { Knex } from 'knex';

// Issue 18, item 4: why the credentials-mail guard holds a creation. `threshold`: the portal had
// let more new logins through in the window than CREDENTIALS_MAIL_THRESHOLD; `recreation`: a
// reconcile repair would make again a login Client Online no longer holds (its client or its
// user deleted there by hand), and the person would be mailed new credentials: held whatever the
// count. Null for creations let through.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credentials_mails', (t) => {
    t.text('reason');
  });
  await knex('credentials_mails').where({ status: 'held' }).update({ reason: 'threshold' });
  await knex.raw(`alter table credentials_mails add constraint credentials_mails_reason check (reason in ('threshold', 'recreation'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credentials_mails', (t) => {
    t.dropColumn('reason');
  });
}
