import { inTransaction, type Db } from '../db';
import { masterOf, syncedFieldsIn } from '../domain/masters';
import { appendOutboxEvent } from '../outbox/store';
import { contactEvent, updateContactRow } from './contact-updates';
import { RegistryError } from './errors';
import { lockClientRowsInOrder, lockContactForUpdate } from './locks';
import { announceMasterChange, listFollowers, masterClientNumberOf, masterLabel, setContactMaster } from './masters';
import { refuseWhileOffboarding, type WriteOptions } from './offboarding-guard';
import {
  contactColumns,
  contactsQuery,
  linkColumns,
  notDeleted,
  requireClient,
  requireContactRow,
  singleRow,
  toContact,
  writableContactFields,
  writeColumns,
  type Row,
} from './records';
import type { Client, Contact, ContactCreate, ContactPatch, LinksPatch } from './schemas';
import { writeTransaction } from './write-transaction';

// Registering, changing and deleting a company client's contacts. Like every registry write, each
// runs in one transaction with its outbox event; the locking order is in ./locks.ts.

export async function listContacts(
  db: Db,
  clientNumber: string,
  options: { includeDeleted?: boolean } = {},
): Promise<Contact[]> {
  const client = await requireClient(db, clientNumber);
  const rows = (await contactsQuery(db)
    .where('contacts.client_id', client.id)
    .where(notDeleted(options))
    .orderBy('contacts.id')) as Row[];
  return rows.map(toContact);
}

/** A client and its current (not deleted) contacts, read in one consistent snapshot (or in the caller's transaction). */
export async function loadClientWithContacts(
  db: Db,
  clientNumber: string,
): Promise<{ client: Client; contacts: Contact[] }> {
  return inTransaction(
    db,
    async (trx) => {
      const client = await requireClient(trx, clientNumber);
      const contactRows = (await contactsQuery(trx)
        .where('contacts.client_id', client.id)
        .whereNull('contacts.deleted_at')
        .orderBy('contacts.id')) as Row[];
      return { client, contacts: contactRows.map(toContact) };
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

export async function createContact(db: Db, clientNumber: string, input: ContactCreate): Promise<Contact> {
  return writeTransaction(db, `the contacts of client ${clientNumber}`, async (trx) => {
    if (input.master) {
      // "Create linked contact": filled from the master at once, in the same transaction. The two
      // client rows are locked (in order) before the insert locks the company's row on its own.
      const { master, ...fields } = input;
      await lockClientRowsInOrder(trx, [clientNumber, await masterClientNumberOf(trx, master)]);
      const created = await createContact(trx, clientNumber, fields);
      return setContactMaster(trx, created.id, master);
    }
    const client = await requireClient(trx, clientNumber);
    if (client.kind !== 'company') {
      throw new RegistryError(
        'rule',
        `client ${clientNumber} is a person client; contacts can only be registered at a company client`,
      );
    }
    const inserted = singleRow(
      await trx('contacts')
        .insert({
          client_id: client.id,
          ...writeColumns(input, writableContactFields, contactColumns),
          ...linkColumns(input.links),
        })
        .returning('id'),
    );
    if (typeof inserted?.id !== 'number') throw new Error(`inserting a contact at client ${clientNumber} returned no id`);
    const contact = toContact(await requireContactRow(trx, inserted.id));
    await appendOutboxEvent(trx, contactEvent(contact, 'contact.created'));
    return contact;
  });
}

/**
 * The contact with this id; RegistryError `not-found` when there is none or it was deleted
 * (unless `includeDeleted`, which offboarding needs to find what a deleted contact held).
 */
export async function getContact(db: Db, id: number, options: { includeDeleted?: boolean } = {}): Promise<Contact> {
  return toContact(await requireContactRow(db, id, options));
}

export async function updateContact(db: Db, id: number, patch: ContactPatch): Promise<Contact> {
  return writeTransaction(db, `contact ${id}`, async (trx) => {
    await lockContactForUpdate(trx, id, { guarded: false });
    const current = toContact(await requireContactRow(trx, id));
    const master = masterOf(current);
    if (master) {
      const changed = syncedFieldsIn(patch).filter((field) => patch[field] !== current[field]);
      if (changed.length > 0) {
        const label = await masterLabel(trx, master);
        throw new RegistryError(
          'conflict',
          `contact ${id} follows ${label}: its ${changed.join(', ')} ${changed.length === 1 ? 'is' : 'are'} kept equal to the master's. ` +
            `Edit ${label} instead, or end the master link first (business fields stay editable here).`,
        );
      }
    }
    const contact = await updateContactRow(trx, id, writeColumns(patch, writableContactFields, contactColumns), 'contact.updated');
    await announceMasterChange(trx, { type: 'contact', id }, contact.clientNumber, patch);
    return contact;
  });
}

export async function setContactLinks(db: Db, id: number, links: LinksPatch, options: WriteOptions = {}): Promise<Contact> {
  return writeTransaction(db, `contact ${id}`, async (trx) => {
    await refuseWhileOffboarding(trx, { type: 'contact', key: id }, options);
    return updateContactRow(trx, id, linkColumns(links), 'contact.links-changed');
  });
}

/** Soft delete: the row stays so the sync can still remove the contact's access in the portals. */
export async function deleteContact(db: Db, id: number): Promise<void> {
  await writeTransaction(db, `contact ${id}`, async (trx) => {
    // Locked first: a follower linked to it meanwhile would be left following a deleted contact.
    await lockContactForUpdate(trx, id);
    // A master's followers would be left following nobody, their private data locked.
    const followers = await listFollowers(trx, { type: 'contact', id });
    if (followers.length > 0) {
      throw new RegistryError(
        'conflict',
        `contact ${id} is the master of contact ${followers.map((f) => f.id).join(', ')}; ` +
          'link those followers to another master, or end their links, before deleting it',
      );
    }
    await updateContactRow(trx, id, { deleted_at: trx.fn.now() }, 'contact.deleted');
  });
}
