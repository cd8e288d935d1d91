import type { Knex } from 'knex';

// API tokens with names and roles (issue 12). Only a SHA-256 hash of each secret is kept: the
// secret is shown once, when `portal-sync tokens create` makes it. A revoked token keeps its row,
// so that the names in offboarding records still say who it was; a name is unique among the tokens
// not revoked.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_tokens', (t) => {
    t.bigIncrements('id');
    t.text('name').notNullable();
    t.text('role').notNullable();
    t.text('token_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });
  await knex.raw(`alter table api_tokens add constraint api_tokens_role check (role in ('viewer', 'registry', 'operator'))`);
  await knex.raw(`alter table api_tokens add constraint api_tokens_hash check (token_hash ~ '^[0-9a-f]{64}$')`);
  await knex.raw('create unique index api_tokens_active_name on api_tokens (name) where revoked_at is null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('api_tokens');
}
