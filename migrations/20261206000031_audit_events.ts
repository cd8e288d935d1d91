import type { Knex } from 'knex';

// Issue 18, item 3: what each token did. One row per request that changed something (or was
// refused for want of a role or a second token): which token, which route (its pattern, e.g.
// /clients/:number), the answer's status, the records it named (ids and client numbers) and the
// names of the fields it sent. Never a value: no names, addresses, email, BSN. Kept without expiry.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // The token's name (`api` for the built-in token); `(database)` for `portal-sync tokens` on the database itself.
    t.text('token_name').notNullable();
    t.text('method').notNullable();
    t.text('route').notNullable();
    t.integer('status').notNullable();
    // e.g. {"clientNumber":"1001","id":"57"}, {"contactIds":["12","13"]}: ids only, as strings.
    t.jsonb('record_ids').notNullable().defaultTo('{}');
    // e.g. {city,links.caseware}: the body's keys, nested ones dotted; `?force` for a query parameter.
    t.specificType('fields', 'text[]').notNullable().defaultTo('{}');
    // The request's id in the API's log lines; null for the CLI.
    t.text('request_id');
  });
  await knex.raw('create index audit_events_token on audit_events (token_name, id)');
  await knex.raw('create index audit_events_route on audit_events (route text_pattern_ops, id)');
  await knex.raw('create index audit_events_at on audit_events (at)');
  await knex.raw('create index audit_events_record_ids on audit_events using gin (record_ids jsonb_path_ops)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_events');
}
