import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // A request to a client for files (seed article 003). Subject and description are kept here and
  // sent to CaseWare Cloud, never to Temporal: the workflow carries the id only.
  await knex.schema.createTable('file_requests', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('client_id').notNullable().references('clients.id');
    t.text('client_number').notNullable();
    t.text('subject').notNullable();
    t.text('description').notNullable();
    t.timestamp('due_at', { useTz: true });
    // 'open', 'overdue' (open, past its due date), 'answered', 'cancelled', 'no-recipients'
    // (everyone it went to lost access), 'failed' (CaseWare Cloud refused it).
    t.text('status').notNullable().defaultTo('open');
    t.text('workflow_id').notNullable();
    // The request in CaseWare Cloud, once created.
    t.text('remote_id');
    t.integer('reminders_sent').notNullable().defaultTo(0);
    t.timestamp('last_reminded_at', { useTz: true });
    t.integer('files_received').notNullable().defaultTo(0);
    t.bigInteger('answered_by_contact_id');
    t.text('requested_by').notNullable();
    t.text('cancelled_by');
    t.text('failure');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('closed_at', { useTz: true });
    t.unique(['workflow_id']);
  });
  await knex.raw('create index file_requests_client on file_requests (client_number, status)');

  // Who a request goes to. A recipient who loses access (offboarding, link switched off, contact
  // deleted) is kept as 'removed' with the reason, so the list says why it went.
  await knex.schema.createTable('file_request_recipients', (t) => {
    t.bigInteger('file_request_id').notNullable().references('file_requests.id').onDelete('cascade');
    t.bigInteger('contact_id').notNullable().references('contacts.id');
    // 'active' or 'removed'.
    t.text('status').notNullable().defaultTo('active');
    t.text('removed_reason');
    t.timestamp('removed_at', { useTz: true });
    t.primary(['file_request_id', 'contact_id']);
  });
  await knex.raw("create index file_request_recipients_open on file_request_recipients (contact_id) where status = 'active'");

  // Contacts given "Contact - Entity Staff" on their client's entity so that they may answer file
  // requests, besides the role the sync shares (CASEWARE_CONTACT_ROLE). `shared_at` is set once
  // CaseWare Cloud has it; a grant is taken back when the contact loses access.
  await knex.schema.createTable('caseware_answer_grants', (t) => {
    t.bigInteger('contact_id').primary().references('contacts.id');
    t.text('client_number').notNullable();
    t.timestamp('granted_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('shared_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('caseware_answer_grants');
  await knex.schema.dropTable('file_request_recipients');
  await knex.schema.dropTable('file_requests');
}
