import type { Knex } from 'knex';
import type { Db } from '../db';
import {
  correspondenceEmails,
  inheritedValues,
  masterOf,
  syncedFields,
  syncedFieldsIn,
  type CorrespondenceEmails,
  type MasterRef,
} from '../domain/masters';
import { appendOutboxEvent } from '../outbox/store';
import { contactEvent, updateContactRow } from './contact-updates';
import { RegistryError } from './errors';
import { lockClientRowsInOrder, lockContactRows } from './locks';
import { offboardingHolding, refuseWhileOffboarding, unfinishedOffboardingHolding, type GuardedRecord, type WriteOptions } from './offboarding-guard';
import { contactColumns, contactsQuery, requireClient, requireContactRow, toClient, toContact, writeColumns, type Row } from './records';
import type { Client, Contact, MasterLink } from './schemas';
import { portalsBehind } from './sync-status';
import { writeTransaction } from './write-transaction';

// Master and followers (hoofd/volger): linking a contact to the master of the same real person's
// private data, ending that link, and bringing followers to their master's values.

export async function masterLabel(db: Db, master: MasterRef): Promise<string> {
  if (master.type === 'contact') return `master contact ${master.id}`;
  const row = await db('clients').where({ id: master.id }).first<{ client_number: string } | undefined>('client_number');
  return `person client ${row?.client_number ?? master.id}`;
}

function followersQuery(db: Db, master: MasterRef): Knex.QueryBuilder {
  return contactsQuery(db)
    .where(master.type === 'client' ? 'contacts.master_client_id' : 'contacts.master_contact_id', master.id)
    .whereNull('contacts.deleted_at')
    .orderBy('contacts.id');
}

/**
 * The contacts that follow a master, oldest first. With `lock`, they are locked for (no key)
 * update in id order; a row another transaction changed meanwhile is re-checked after its commit,
 * so a contact whose link ended (or that was deleted) in between is no longer listed.
 */
export async function listFollowers(db: Db, master: MasterRef, options: { lock?: boolean } = {}): Promise<Contact[]> {
  const query = followersQuery(db, master);
  return ((await (options.lock ? query.forNoKeyUpdate('contacts') : query)) as Row[]).map(toContact);
}

/**
 * Fields of a master that make the Client Online login its followers share (domain/client-online:
 * the username by the correspondence preference, and the mobile) without being synced fields.
 */
function masterLoginFieldsIn(master: MasterRef, patch: object): boolean {
  const fields = master.type === 'contact' ? ['email', 'mobile', 'correspondenceEmailPreference'] : ['email', 'correspondenceEmailPreference'];
  return fields.some((field) => field in patch);
}

/**
 * A change of a master's private data: its followers take it over in the background. A change of
 * its login fields reaches no follower's record, so each follower's client is told directly (in
 * this transaction): its push carries the master's login, and would otherwise keep the old one.
 */
export async function announceMasterChange(trx: Knex.Transaction, master: MasterRef, clientNumber: string, patch: object): Promise<void> {
  const synced = syncedFieldsIn(patch).length > 0 || 'correspondenceEmailPreference' in patch;
  const login = masterLoginFieldsIn(master, patch);
  if (!synced && !login) return;
  const followers = await listFollowers(trx, master);
  if (followers.length === 0) return;
  if (synced) await appendOutboxEvent(trx, { clientNumber, kind: 'master.updated', recordType: master.type, recordId: master.id });
  if (login) {
    for (const follower of followers) await appendOutboxEvent(trx, contactEvent(follower, 'contact.master-login-changed'));
  }
}

/** The master's record; with `lock`, its own row is share-locked (of a master contact, not its company's). */
async function loadMaster(db: Db, master: MasterRef, lock = false): Promise<Client | Contact | undefined> {
  if (master.type === 'client') {
    const query = db('clients').where({ id: master.id });
    const row = (await (lock ? query.forShare() : query).first()) as Row | undefined;
    return row ? toClient(row) : undefined;
  }
  const query = contactsQuery(db).where('contacts.id', master.id).whereNull('contacts.deleted_at');
  const row = (await (lock ? query.forShare('contacts') : query).first()) as Row | undefined;
  return row ? toContact(row) : undefined;
}

/**
 * Links a contact to the master of the same real person's private data: a person client, or a
 * contact where no person client exists for that person. The contact takes over the master's
 * private data at once. In Client Online it then shares the master's login.
 */
export async function setContactMaster(db: Db, id: number, link: MasterLink, options: WriteOptions = {}): Promise<Contact> {
  return writeTransaction(db, `contact ${id}`, async (trx) => {
    // Neither the contact nor its new master may be held by an offboarding: a new follower of a
    // person being offboarded would share his login, and keep it after the plan (made without it)
    // has ended every access it knew of. Both client rows are locked, as an offboarding locks them;
    // then the contact, and a master contact (shared), so neither changes before this commits.
    const masterRecord: GuardedRecord = 'clientNumber' in link ? { type: 'client', key: link.clientNumber } : { type: 'contact', key: link.contactId };
    await lockClientRowsInOrder(trx, [toContact(await requireContactRow(trx, id)).clientNumber, await masterClientNumberOf(trx, link)]);
    await lockContactRows(trx, [{ id, mode: 'update' }, ...('contactId' in link ? [{ id: link.contactId, mode: 'share' as const }] : [])]);
    const contact = toContact(await requireContactRow(trx, id));
    const holder = await unfinishedOffboardingHolding(trx, [{ type: 'contact', key: id }], options.offboardingId);
    if (holder) throw new RegistryError('conflict', holder);
    const masterHeld = await offboardingHolding(trx, [masterRecord], options.offboardingId);
    if (masterHeld) {
      const { offboardingId, record } = masterHeld;
      throw new RegistryError(
        'conflict',
        `${record} is being offboarded by offboarding ${offboardingId} (GET /offboardings/${offboardingId}); no contact can be linked to it ` +
          'as a new follower until that offboarding has finished or is cancelled',
      );
    }
    const followers = await listFollowers(trx, { type: 'contact', id });
    if (followers.length > 0) {
      throw new RegistryError(
        'rule',
        `contact ${id} is itself the master of contact ${followers.map((f) => f.id).join(', ')}; a master cannot follow another. ` +
          'Link those followers to the new master first.',
      );
    }
    let master: Client | Contact;
    let ref: MasterRef;
    if ('clientNumber' in link) {
      const client = await requireClient(trx, link.clientNumber);
      if (client.kind !== 'person') {
        throw new RegistryError(
          'rule',
          `client ${link.clientNumber} is a company; a contact's master is the person client of the same real person`,
        );
      }
      master = client;
      ref = { type: 'client', id: client.id };
    } else {
      if (link.contactId === id) throw new RegistryError('rule', `contact ${id} cannot be its own master`);
      const masterContact = toContact(await requireContactRow(trx, link.contactId));
      const itsMaster = masterOf(masterContact);
      if (itsMaster) {
        throw new RegistryError(
          'rule',
          `contact ${link.contactId} follows ${await masterLabel(trx, itsMaster)} itself, so it cannot be a master; ` +
            `link contact ${id} to ${await masterLabel(trx, itsMaster)} instead`,
        );
      }
      const person = await samePersonClient(trx, masterContact);
      if (person) {
        throw new RegistryError(
          'rule',
          `person client ${person} is the same person as contact ${link.contactId} (same BSN or private email); ` +
            `a contact may be a master only where no person client exists: link contact ${id} to person client ${person}`,
        );
      }
      master = masterContact;
      ref = { type: 'contact', id: masterContact.id };
    }
    const columns = writeColumns(inheritedValues(master), syncedFields, contactColumns);
    return updateContactRow(
      trx,
      contact.id,
      {
        ...columns,
        master_client_id: ref.type === 'client' ? ref.id : null,
        master_contact_id: ref.type === 'contact' ? ref.id : null,
      },
      'contact.master-changed',
    );
  });
}

/** The number of the client a master belongs to: the person client's own, or the master contact's company's. */
export async function masterClientNumberOf(db: Db, link: MasterLink): Promise<string> {
  return 'clientNumber' in link ? link.clientNumber : toContact(await requireContactRow(db, link.contactId)).clientNumber;
}

/** A person client that is the same real person as this contact (same BSN or private email). */
async function samePersonClient(db: Db, contact: Contact): Promise<string | undefined> {
  if (!contact.bsn && !contact.privateEmail) return undefined;
  const row = await db('clients')
    .where({ kind: 'person' })
    .where((q) => {
      if (contact.bsn) q.orWhere({ bsn: contact.bsn });
      if (contact.privateEmail) q.orWhereRaw('lower(private_email) = lower(?)', [contact.privateEmail]);
    })
    .first<{ client_number: string } | undefined>('client_number');
  return row?.client_number;
}

export interface EndMasterOptions extends WriteOptions {
  /** Skip the Client Online interlock: the caller accepts a possible second login and mail. */
  force?: boolean;
}

/**
 * Ends a contact's master link: it keeps its values, and its fields become editable again.
 *
 * Refused while the contact is linked to Client Online, or its switch-off has not reached Client
 * Online yet: the next push would carry a login identity Client Online has never seen, so it would
 * make a second login and mail new credentials (seed article 004). Offboard bottom-up instead.
 */
export async function endContactMaster(db: Db, id: number, options: EndMasterOptions = {}): Promise<Contact> {
  return writeTransaction(db, `contact ${id}`, async (trx) => {
    await refuseWhileOffboarding(trx, { type: 'contact', key: id }, options);
    const contact = toContact(await requireContactRow(trx, id));
    const master = masterOf(contact);
    if (!master) throw new RegistryError('not-found', `contact ${id} follows no master`);
    if (!options.force) {
      const label = await masterLabel(trx, master);
      if (contact.links.clientOnline) {
        throw new RegistryError(
          'conflict',
          `contact ${id} is still linked to Client Online; ending its link to ${label} now would give it a new login there ` +
            'and a second credentials mail. Offboard bottom-up: switch the contact\'s Client Online link off first, let it sync, ' +
            'then end the master link (or pass force=true to do it anyway).',
        );
      }
      if ((await portalsBehind(trx, contact.clientNumber)).clientOnline) {
        throw new RegistryError(
          'conflict',
          `Client Online has not yet received the latest changes of client ${contact.clientNumber}; end the master link of ` +
            `contact ${id} once GET /sync/clients/${contact.clientNumber} shows Client Online caught up (or pass force=true).`,
        );
      }
    }
    return updateContactRow(trx, id, { master_client_id: null, master_contact_id: null }, 'contact.master-changed');
  });
}

/** The master a contact follows, if any. */
export async function getContactMaster(db: Db, id: number): Promise<{ master: MasterRef; clientNumber: string } | null> {
  const contact = toContact(await requireContactRow(db, id));
  const master = masterOf(contact);
  if (!master) return null;
  const record = await loadMaster(db, master);
  if (!record) return null;
  return { master, clientNumber: record.clientNumber };
}

/** Addresses that may be chosen for correspondence to a contact, and why others may not. */
export async function contactCorrespondenceEmails(db: Db, id: number): Promise<CorrespondenceEmails> {
  const contact = toContact(await requireContactRow(db, id));
  const master = masterOf(contact);
  const record = master ? await loadMaster(db, master) : undefined;
  return correspondenceEmails(
    contact,
    master && record ? { label: await masterLabel(db, master), correspondenceEmailPreference: record.correspondenceEmailPreference } : undefined,
  );
}

/**
 * Brings every follower of a master to the master's current private data, in one transaction;
 * each follower that changed gets a contact.updated event, so its client's portals follow. Reads
 * the master as it is now, so the last of several quick edits is what followers end with.
 */
export async function propagateMaster(db: Db, master: MasterRef): Promise<{ followers: number; changed: number[] }> {
  return writeTransaction(db, `the followers of master ${master.type} ${master.id}`, async (trx) => {
    const record = await loadMaster(trx, master, true);
    if (!record) return { followers: 0, changed: [] };
    const values = inheritedValues(record);
    // Locked: an unlinking committed between reading and writing them would be overwritten.
    const followers = await listFollowers(trx, master, { lock: true });
    const changed: number[] = [];
    for (const follower of followers) {
      if (syncedFields.every((field) => follower[field] === values[field])) continue;
      await updateContactRow(trx, follower.id, writeColumns(values, syncedFields, contactColumns), 'contact.updated');
      changed.push(follower.id);
    }
    return { followers: followers.length, changed };
  });
}
