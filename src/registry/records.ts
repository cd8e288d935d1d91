import type { Knex } from 'knex';
import type { Db } from '../db';
import { RegistryError } from './errors';
import type { Client, Contact, LinksPatch } from './schemas';

// How clients and contacts are stored: the only place that knows the column names, and the reads
// every registry module (the writes, the masters, the sync status) starts from. Of the registry it
// imports only the schemas and the error type, so every registry module may import it.

export type Row = Record<string, unknown>;

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
export const clientColumns = {
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
export const contactColumns = {
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
export const writableClientFields = [
  'status', 'name', 'address', 'postcode', 'city', 'country', 'phone', 'email', 'website', 'facebook',
  'twitter', 'linkedin', ...(Object.keys(privatePersonColumns) as (keyof typeof privatePersonColumns)[]),
] as const satisfies readonly (keyof typeof clientColumns)[];

export const writableContactFields = [
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
export function toClient(row: Row): Client {
  return readRecord(row, clientColumns) as unknown as Client;
}

export function toContact(row: Row): Contact {
  return readRecord(row, contactColumns) as unknown as Contact;
}

/** Columns for the fields present in `input`; `null` clears a field, `undefined` leaves it alone. */
export function writeColumns(
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

export function linkColumns(links: LinksPatch | undefined): Row {
  const row: Row = {};
  if (links?.caseware !== undefined) row.link_caseware = links.caseware;
  if (links?.clientOnline !== undefined) row.link_client_online = links.clientOnline;
  return row;
}

export function contactsQuery(db: Db): Knex.QueryBuilder {
  return db('contacts').join('clients', 'clients.id', 'contacts.client_id').select('contacts.*', 'clients.client_number');
}

export async function requireClient(db: Db, clientNumber: string): Promise<Client> {
  const row = (await db('clients').where({ client_number: clientNumber }).first()) as Row | undefined;
  if (!row) throw new RegistryError('not-found', `client ${clientNumber} does not exist in the registry`);
  return toClient(row);
}

export async function requireContactRow(
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
export function notDeleted(options: { includeDeleted?: boolean }): Row {
  return options.includeDeleted ? {} : { 'contacts.deleted_at': null };
}

/** The one row an `insert … returning` or `update … returning` of a single record gave back. */
export function singleRow(rows: unknown): Row | undefined {
  return Array.isArray(rows) ? (rows[0] as Row | undefined) : undefined;
}
