import type { Db } from '../db';
import { appendOutboxEvent, type OutboxEventKind } from '../outbox/store';
import { RegistryError } from './errors';
import { requireContactRow, toContact, type Row } from './records';
import type { Contact } from './schemas';

// The last step of every write to a contact, by its own edit or by its master's: update the row and
// announce the change in the same transaction.

export async function updateContactRow(db: Db, id: number, columns: Row, kind: OutboxEventKind): Promise<Contact> {
  // Nested in a caller's transaction, knex makes this a savepoint.
  return db.transaction(async (trx) => {
    const updated = await trx('contacts')
      .where({ id })
      .whereNull('deleted_at')
      .update({ ...columns, updated_at: trx.fn.now() });
    if (updated === 0) {
      throw new RegistryError('not-found', `contact ${id} does not exist in the registry or has been deleted`);
    }
    const contact = toContact(await requireContactRow(trx, id, { includeDeleted: true }));
    await appendOutboxEvent(trx, contactEvent(contact, kind));
    return contact;
  });
}

export function contactEvent(contact: Contact, kind: OutboxEventKind) {
  return { clientNumber: contact.clientNumber, kind, recordType: 'contact', recordId: contact.id } as const;
}
