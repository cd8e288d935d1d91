import type { Db } from '../../src/db';
import { contactRef, personClientRef, type ClientOnlineMasters } from '../../src/domain/client-online';
import type { LedgerView } from '../../src/domain/drift';
import { loadMasters } from '../../src/registry/bulk-reads';
import type { Client, Contact } from '../../src/registry/schemas';
import type { Portal } from '../../src/sync/ledger';
import { adoptedRefs, keptUsersOf, personLogins } from '../../src/sync/login-refs';
import type { Batch } from './types';

/** The ledger's view of a batch's clients at the portal, by client number. */
async function ledgerViews(db: Db, portal: Portal, numbers: string[]): Promise<Map<string, LedgerView[]>> {
  const identities = await db('portal_identities')
    .where({ portal })
    .whereIn('client_number', numbers)
    .select<{ client_number: string; record_type: 'client' | 'contact'; record_id: number; remote_id: string | null; access: 'active' | 'revoked'; sent: boolean }[]>(
      'client_number',
      'record_type',
      'record_id',
      'remote_id',
      'access',
      db.raw('(last_sent is not null or unconfirmed_refs is not null) as sent'),
    );
  const ledger = new Map<string, LedgerView[]>();
  for (const row of identities) {
    const view: LedgerView = { recordType: row.record_type, recordId: row.record_id, remoteId: row.remote_id, access: row.access, sent: row.sent };
    ledger.set(row.client_number, [...(ledger.get(row.client_number) ?? []), view]);
  }
  return ledger;
}

/** One batch's clients with what the ledger, the error list and (for Client Online) the logins say of them. */
export async function loadBatch(db: Db, portal: Portal, clients: Batch['clients']): Promise<Batch> {
  const numbers = clients.map((entry) => entry.client.clientNumber);
  const ledger = await ledgerViews(db, portal, numbers);
  const errors = await db('sync_errors')
    .where({ portal })
    .whereIn('client_number', numbers)
    .whereNull('resolved_at')
    .select<{ client_number: string; record_type: string; record_id: number; code: string }[]>('client_number', 'record_type', 'record_id', 'code');
  const withErrors = new Map<string, Set<number>>();
  const refused = new Set<string>();
  for (const row of errors) {
    withErrors.set(row.client_number, (withErrors.get(row.client_number) ?? new Set()).add(row.record_id));
    // Client Online refused the client's push, or the sync did not send it (an ambiguous login).
    if (row.code.startsWith('client-online-')) refused.add(row.client_number);
  }
  if (portal !== 'client_online') return { clients, ledger, withErrors, refused, met: new Set(), loginRefs: new Map(), kept: new Map() };
  const personKeys = clients.flatMap(({ client, contacts }) => [
    ...(client.kind === 'person' ? [personClientRef(client)] : []),
    ...contacts.map((contact) => contactRef(contact)),
  ]);
  const logins = await personLogins(db, personKeys);
  return { clients, ledger, withErrors, refused, met: new Set(logins.keys()), loginRefs: adoptedRefs(logins), kept: await keptUsersOf(db, numbers) };
}

/** The masters a batch's followers follow, by login ref (Client Online carries the master's login). */
export async function mastersOf(db: Db, clients: Batch['clients']): Promise<ClientOnlineMasters> {
  const contacts = clients.flatMap((entry) => entry.contacts);
  const loaded = await loadMasters(db, {
    clientIds: [...new Set(contacts.flatMap((c) => (c.masterClientId === null ? [] : [c.masterClientId])))],
    contactIds: [...new Set(contacts.flatMap((c) => (c.masterContactId === null ? [] : [c.masterContactId])))],
  });
  const masters = new Map<string, Client | Contact>();
  for (const client of loaded.clients) masters.set(`p-${client.id}`, client);
  for (const contact of loaded.contacts) masters.set(`c-${contact.id}`, contact);
  for (const contact of contacts) {
    const ref = contactRef(contact);
    if (ref !== `c-${contact.id}` && !masters.has(ref)) throw new Error(`contact ${contact.id} follows ${ref}, which is not in the registry`);
  }
  return masters;
}
