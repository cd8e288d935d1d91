import type { Knex } from 'knex';

// Issue 18, item 4: one row per reminder of a file request, keyed by the request and which reminder
// of its schedule it is, written before CaseWare Cloud is asked to mail it. A retry after a lost
// answer finds the row and asks CaseWare whether the reminder went out (its count of reminders
// grew past `portal_count_before`) instead of mailing the recipients a second time.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('file_request_reminders', (t) => {
    t.bigInteger('file_request_id').notNullable().references('file_requests.id').onDelete('cascade');
    // The reminder's place in the request's schedule (1, 2, ...), from the workflow.
    t.integer('reminder').notNullable();
    // How many reminders CaseWare Cloud had sent for the request before this one was asked for;
    // null when it does not say.
    t.integer('portal_count_before');
    t.timestamp('asked_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Set once CaseWare Cloud answered (or showed) that it reminded; counted in reminders_sent then.
    t.timestamp('sent_at', { useTz: true });
    t.primary(['file_request_id', 'reminder']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('file_request_reminders');
}
