import type { Knex } from 'knex';

// Issue 18, item 3: the admin role, which manages the tokens through the API and reads the audit.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table api_tokens drop constraint api_tokens_role');
  await knex.raw(`alter table api_tokens add constraint api_tokens_role check (role in ('viewer', 'registry', 'operator', 'admin'))`);
}

export async function down(knex: Knex): Promise<void> {
  // An admin token cannot stay without its role: revoke it, keeping its row (offboardings name it).
  await knex('api_tokens').where({ role: 'admin' }).update({ role: 'viewer', revoked_at: knex.fn.now() });
  await knex.raw('alter table api_tokens drop constraint api_tokens_role');
  await knex.raw(`alter table api_tokens add constraint api_tokens_role check (role in ('viewer', 'registry', 'operator'))`);
}
