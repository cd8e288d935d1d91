import type { Db } from '../db';
import { appendOutboxEvent, type OutboxEventKind } from '../outbox/store';
import { RegistryError } from './errors';
import { lockClientForUpdate } from './locks';
import { announceMasterChange } from './masters';
import { refuseWhileOffboarding, type WriteOptions } from './offboarding-guard';
import { clientColumns, linkColumns, requireClient, singleRow, toClient, writableClientFields, writeColumns, type Row } from './records';
import type { Client, ClientCreate, ClientPatch, LinksPatch } from './schemas';
import { writeTransaction } from './write-transaction';

// Registering and changing clients. Every write runs in one transaction with the outbox event that
// describes it, so a change is either stored and announced to the sync, or neither; the locking
// order is in ./locks.ts.

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

/** The client numbers of clients by id (those that exist), e.g. of the person clients contacts follow. */
export async function clientNumbersOf(db: Db, ids: readonly number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db('clients').whereIn('id', [...new Set(ids)]).select<{ id: number; client_number: string }[]>('id', 'client_number');
  return new Map(rows.map((row) => [row.id, row.client_number]));
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
