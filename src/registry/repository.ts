import type { Knex } from 'knex';
import { inTransaction, type Db } from '../db';
import {
  correspondenceEmails,
  inheritedValues,
  masterOf,
  syncedFields,
  syncedFieldsIn,
  type CorrespondenceEmails,
  type MasterRef,
} from '../domain/masters';
import { appendOutboxEvent, type OutboxEventKind } from '../outbox/store';
import { offboardingHolding, unfinishedOffboardingHolding, type GuardedRecord } from './offboarding-guard';
import { portalsBehind } from './sync-status';
import { writeTransaction } from './write-transaction';
import type {
  Client,
  ClientCreate,
  ClientPatch,
  Contact,
  ContactCreate,
  ContactPatch,
  LinksPatch,
  MasterLink,
} from './schemas';

// The registry's write side. Every write runs in one transaction with the outbox event that
// describes it, so a change is either stored and announced to the sync, or neither.
//
// Locking order, the same in every write and in an offboarding (src/registry/offboardings.ts):
// client rows first, by client number, then contact rows, by id. A row the write changes is locked
// FOR NO KEY UPDATE before it is read; a row it only relies on (a contact's client, a master) FOR
// SHARE. Never share-lock a row and then update it: two writers holding the share would each wait
// for the other to let go (the deadlock of issue 18). What the order cannot rule out,
// writeTransaction runs again.

export type RegistryErrorCode = 'not-found' | 'conflict' | 'rule';

/**
 * A refused registry operation. Messages name record ids and client numbers only, never personal
 * data, because they end up in logs and API responses.
 */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';

  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isRegistryError(error: unknown): error is RegistryError {
  return error instanceof RegistryError;
}

// --- Row <-> record mapping: the only place that knows the column names. ---

type Row = Record<string, unknown>;

const privatePersonColumns = {
  firstName: 'first_name',
  infix: 'infix',
  lastName: 'last_name',
  initials: 'initials',
  bsn: 'bsn',
  residentialStreet: 'residential_street',
  residentialPostcode: 'residential_postcode',
  residentialCity: 'residential_city',
  residentialCountry: 'residential_country',
  correspondenceStreet: 'correspondence_street',
  correspondencePostcode: 'correspondence_postcode',
  correspondenceCity: 'correspondence_city',
  correspondenceCountry: 'correspondence_country',
  privateEmail: 'private_email',
  privateMobile: 'private_mobile',
  correspondenceEmailPreference: 'correspondence_email_preference',
} as const;

/** Client fields stored one-to-one in a column (links and timestamps are mapped by hand). */
const clientColumns = {
  id: 'id',
  clientNumber: 'client_number',
  kind: 'kind',
  status: 'status',
  name: 'name',
  address: 'address',
  postcode: 'postcode',
  city: 'city',
  country: 'country',
  phone: 'phone',
  email: 'email',
  website: 'website',
  facebook: 'facebook',
  twitter: 'twitter',
  linkedin: 'linkedin',
  ...privatePersonColumns,
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies Record<Exclude<keyof Client, 'links'>, string>;

/** Contact fields stored one-to-one; `clientNumber` comes from the joined client. */
const contactColumns = {
  id: 'id',
  clientId: 'client_id',
  clientNumber: 'client_number',
  email: 'email',
  phone: 'phone',
  mobile: 'mobile',
  ...privatePersonColumns,
  masterClientId: 'master_client_id',
  masterContactId: 'master_contact_id',
  deletedAt: 'deleted_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies Record<Exclude<keyof Contact, 'links'>, string>;

/** Fields a caller may write; the rest (ids, number, kind, timestamps) the registry owns. */
const writableClientFields = [
  'status', 'name', 'address', 'postcode', 'city', 'country', 'phone', 'email', 'website', 'facebook',
  'twitter', 'linkedin', ...(Object.keys(privatePersonColumns) as (keyof typeof privatePersonColumns)[]),
] as const satisfies readonly (keyof typeof clientColumns)[];

const writableContactFields = [
  'email', 'phone', 'mobile', ...(Object.keys(privatePersonColumns) as (keyof typeof privatePersonColumns)[]),
] as const satisfies readonly (keyof typeof contactColumns)[];

function readRecord(row: Row, columns: Record<string, string>): Row {
  const record: Row = {
    links: { caseware: row.link_caseware === true, clientOnline: row.link_client_online === true },
  };
  for (const [field, column] of Object.entries(columns)) record[field] = row[column];
  return record;
}

// The pg driver returns ids as numbers (src/db.ts) and timestamps as Dates; the column maps above
// are checked against the record types, so these casts only restate what the columns hold.
function toClient(row: Row): Client {
  return readRecord(row, clientColumns) as unknown as Client;
}

function toContact(row: Row): Contact {
  return readRecord(row, contactColumns) as unknown as Contact;
}

/** Columns for the fields present in `input`; `null` clears a field, `undefined` leaves it alone. */
function writeColumns(
  input: Partial<Record<string, unknown>>,
  fields: readonly string[],
  columns: Record<string, string>,
): Row {
  const row: Row = {};
  for (const field of fields) {
    const value = input[field];
    const column = columns[field];
    if (value !== undefined && column !== undefined) row[column] = value;
  }
  return row;
}

function linkColumns(links: LinksPatch | undefined): Row {
  const row: Row = {};
  if (links?.caseware !== undefined) row.link_caseware = links.caseware;
  if (links?.clientOnline !== undefined) row.link_client_online = links.clientOnline;
  return row;
}

// --- Queries ---


function contactsQuery(db: Db): Knex.QueryBuilder {
  return db('contacts').join('clients', 'clients.id', 'contacts.client_id').select('contacts.*', 'clients.client_number');
}

async function requireClient(db: Db, clientNumber: string): Promise<Client> {
  const row = (await db('clients').where({ client_number: clientNumber }).first()) as Row | undefined;
  if (!row) throw new RegistryError('not-found', `client ${clientNumber} does not exist in the registry`);
  return toClient(row);
}

async function requireContactRow(
  db: Db,
  id: number,
  options: { includeDeleted?: boolean } = {},
): Promise<Row> {
  const row = (await contactsQuery(db)
    .where('contacts.id', id)
    .where(notDeleted(options))
    .first()) as Row | undefined;
  if (!row) throw new RegistryError('not-found', `contact ${id} does not exist in the registry or has been deleted`);
  return row;
}

/** A where-clause for contacts: knex turns a `null` value into `is null`. */
function notDeleted(options: { includeDeleted?: boolean }): Row {
  return options.includeDeleted ? {} : { 'contacts.deleted_at': null };
}

/** The one row an `insert … returning` or `update … returning` of a single record gave back. */
function singleRow(rows: unknown): Row | undefined {
  return Array.isArray(rows) ? (rows[0] as Row | undefined) : undefined;
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    error.code === '23505' &&
    'constraint' in error &&
    error.constraint === constraint
  );
}

// Kind and number identify a client in both portals; changing them would orphan what the portals
// hold, so a caller that tries (bypassing the API's schema) is refused rather than ignored.
function refuseIdentityChange(clientNumber: string, patch: object): void {
  for (const field of ['kind', 'clientNumber'] as const) {
    if (field in patch) {
      throw new RegistryError(
        'rule',
        `the ${field === 'kind' ? 'kind' : 'number'} of client ${clientNumber} cannot be changed; register a new client instead`,
      );
    }
  }
}

/** Who is making a guarded change: an offboarding's own steps pass its id. */
export interface WriteOptions {
  offboardingId?: number;
}

/**
 * Locks a client row for an update of it: FOR NO KEY UPDATE, which waits for an offboarding that
 * holds it (stored under FOR UPDATE of its clients) and for writes at its contacts (FOR SHARE).
 */
async function lockClientForUpdate(trx: Knex.Transaction, clientNumber: string): Promise<void> {
  await trx('clients').where({ client_number: clientNumber }).forNoKeyUpdate().select('id');
}

/**
 * Share-locks client rows in client-number order, the order an offboarding locks them in (for
 * update) when it is stored, so that a write that needs two of them never deadlocks with it.
 */
async function lockClientRowsInOrder(trx: Knex.Transaction, clientNumbers: readonly string[]): Promise<void> {
  await trx('clients').whereIn('client_number', [...new Set(clientNumbers)]).orderBy('client_number').forShare().select('id');
}

/**
 * Locks contact rows in id order: FOR NO KEY UPDATE the ones the write changes, FOR SHARE the ones
 * it only relies on (a new master, which may not be deleted or become a follower meanwhile). Call
 * it after locking their clients.
 */
async function lockContactRows(trx: Knex.Transaction, rows: readonly { id: number; mode: 'update' | 'share' }[]): Promise<void> {
  const modes = new Map<number, 'update' | 'share'>();
  for (const { id, mode } of rows) modes.set(id, modes.get(id) === 'update' ? 'update' : mode);
  for (const [id, mode] of [...modes].sort(([a], [b]) => a - b)) {
    const row = trx('contacts').where({ id });
    await (mode === 'update' ? row.forNoKeyUpdate() : row.forShare()).select('id');
  }
}

/**
 * Locks a contact for an update of it: its client's row first (an offboarding holding the client
 * waits, or is waited for), then its own row. A contact never moves to another client, so its
 * client can be found before the lock. A change the offboarding guard checks (links, master,
 * status) share-locks the client; an edit of the contact's own fields only key-share-locks it,
 * which orders it with an offboarding being stored (FOR UPDATE) but not behind an edit of the
 * client's fields.
 */
async function lockContactForUpdate(trx: Knex.Transaction, id: number, { guarded = true }: { guarded?: boolean } = {}): Promise<void> {
  const client = trx('clients').whereIn('id', trx('contacts').where({ id }).select('client_id'));
  await (guarded ? client.forShare() : client.forKeyShare()).select('id');
  await lockContactRows(trx, [{ id, mode: 'update' }]);
}

/**
 * Refuses a link, master or status change of a record an unfinished offboarding holds. Locks the
 * record first, as above: an offboarding is stored under an exclusive lock of its clients' rows, so
 * the two never interleave.
 */
async function refuseWhileOffboarding(trx: Knex.Transaction, record: GuardedRecord, options: WriteOptions = {}): Promise<void> {
  if (record.type === 'client') await lockClientForUpdate(trx, String(record.key));
  else await lockContactForUpdate(trx, Number(record.key));
  const holder = await unfinishedOffboardingHolding(trx, [record], options.offboardingId);
  if (holder) throw new RegistryError('conflict', holder);
}

// --- Clients ---

export async function createClient(db: Db, input: ClientCreate): Promise<Client> {
  return writeTransaction(db, `client ${input.clientNumber}`, async (trx) => {
    let rows: unknown;
    try {
      rows = await trx('clients')
        .insert({
          client_number: input.clientNumber,
          kind: input.kind,
          ...writeColumns(input, writableClientFields, clientColumns),
          ...linkColumns(input.links),
        })
        .returning('*');
    } catch (error) {
      if (isUniqueViolation(error, 'clients_client_number_unique')) {
        throw new RegistryError('conflict', `client ${input.clientNumber} already exists in the registry`);
      }
      throw error;
    }
    const row = singleRow(rows);
    if (!row) throw new Error(`inserting client ${input.clientNumber} returned no row`);
    const client = toClient(row);
    await appendOutboxEvent(trx, clientEvent(client, 'client.created'));
    return client;
  });
}

/** The client with this number; RegistryError `not-found` when there is none. */
export async function getClient(db: Db, clientNumber: string): Promise<Client> {
  return requireClient(db, clientNumber);
}

export async function updateClient(db: Db, clientNumber: string, patch: ClientPatch, options: WriteOptions = {}): Promise<Client> {
  refuseIdentityChange(clientNumber, patch);
  return writeTransaction(db, `client ${clientNumber}`, async (trx) => {
    if (patch.status !== undefined) await refuseWhileOffboarding(trx, { type: 'client', key: clientNumber }, options);
    else await lockClientForUpdate(trx, clientNumber);
    const client = await updateClientRow(trx, clientNumber, writeColumns(patch, writableClientFields, clientColumns), 'client.updated');
    await announceMasterChange(trx, { type: 'client', id: client.id }, clientNumber, patch);
    return client;
  });
}

export async function setClientLinks(db: Db, clientNumber: string, links: LinksPatch, options: WriteOptions = {}): Promise<Client> {
  return writeTransaction(db, `client ${clientNumber}`, async (trx) => {
    await refuseWhileOffboarding(trx, { type: 'client', key: clientNumber }, options);
    return updateClientRow(trx, clientNumber, linkColumns(links), 'client.links-changed');
  });
}

async function updateClientRow(
  db: Db,
  clientNumber: string,
  columns: Row,
  kind: OutboxEventKind,
): Promise<Client> {
  return db.transaction(async (trx) => {
    const row = singleRow(
      await trx('clients')
        .where({ client_number: clientNumber })
        .update({ ...columns, updated_at: trx.fn.now() })
        .returning('*'),
    );
    if (!row) throw new RegistryError('not-found', `client ${clientNumber} does not exist in the registry`);
    const client = toClient(row);
    await appendOutboxEvent(trx, clientEvent(client, kind));
    return client;
  });
}

function clientEvent(client: Client, kind: OutboxEventKind) {
  return { clientNumber: client.clientNumber, kind, recordType: 'client', recordId: client.id } as const;
}

// --- Contacts ---

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

async function updateContactRow(db: Db, id: number, columns: Row, kind: OutboxEventKind): Promise<Contact> {
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

function contactEvent(contact: Contact, kind: OutboxEventKind) {
  return { clientNumber: contact.clientNumber, kind, recordType: 'contact', recordId: contact.id } as const;
}

// --- Master and followers (hoofd/volger) ---

async function masterLabel(db: Db, master: MasterRef): Promise<string> {
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
async function announceMasterChange(trx: Knex.Transaction, master: MasterRef, clientNumber: string, patch: object): Promise<void> {
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
async function masterClientNumberOf(db: Db, link: MasterLink): Promise<string> {
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

// --- Bulk reads (the reconcile) ---

/** A page of clients, by id, each with its current contacts: what the reconcile compares in one batch. */
export async function loadClientsPage(
  db: Db,
  afterId: number,
  limit: number,
): Promise<{ client: Client; contacts: Contact[] }[]> {
  return db.transaction(
    async (trx) => {
      const clients = ((await trx('clients').where('id', '>', afterId).orderBy('id').limit(limit)) as Row[]).map(toClient);
      if (clients.length === 0) return [];
      const contactRows = (await contactsQuery(trx)
        .whereIn('contacts.client_id', clients.map((client) => client.id))
        .whereNull('contacts.deleted_at')
        .orderBy('contacts.id')) as Row[];
      const byClient = new Map<number, Contact[]>();
      for (const contact of contactRows.map(toContact)) byClient.set(contact.clientId, [...(byClient.get(contact.clientId) ?? []), contact]);
      return clients.map((client) => ({ client, contacts: byClient.get(client.id) ?? [] }));
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

/** The person clients and contacts with these ids (masters of a batch's followers). */
export async function loadMasters(
  db: Db,
  ids: { clientIds: readonly number[]; contactIds: readonly number[] },
): Promise<{ clients: Client[]; contacts: Contact[] }> {
  const clients = ids.clientIds.length === 0 ? [] : ((await db('clients').whereIn('id', [...ids.clientIds])) as Row[]).map(toClient);
  const contacts =
    ids.contactIds.length === 0 ? [] : ((await contactsQuery(db).whereIn('contacts.id', [...ids.contactIds])) as Row[]).map(toContact);
  return { clients, contacts };
}
