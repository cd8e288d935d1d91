import type { Db } from '../../src/db';
import type { Portal } from '../../src/sync/ledger';
import type { KnownRecords, RunLookups } from './types';

/** What the outlook needs of the whole ledger, read once per run. */
export async function runLookups(db: Db, portal: Portal): Promise<RunLookups> {
  if (portal === 'caseware') {
    const rows = await db('portal_identities')
      .where({ portal, record_type: 'contact', access: 'active' })
      .whereNotNull('remote_id')
      .select<{ remote_id: string; record_id: number }[]>('remote_id', 'record_id');
    return { userHolders: new Map(rows.map((row) => [row.remote_id, Number(row.record_id)])), claimed: new Map(), seenPersons: new Set() };
  }
  const rows = await db('client_online_logins').select<{ person_key: string; ref: string }[]>('person_key', 'ref');
  return { userHolders: new Map(), claimed: new Map(rows.map((row) => [row.ref, row.person_key])), seenPersons: new Set() };
}

/** What the ledger and the registry know, against which a portal's objects are orphans or not. */
export async function knownRecords(db: Db, portal: Portal): Promise<KnownRecords> {
  const identities = await db('portal_identities').where({ portal }).select<{ client_number: string; record_type: string; remote_id: string | null }[]>(
    'client_number',
    'record_type',
    'remote_id',
  );
  const clients = await db('clients').select<{ client_number: string }[]>('client_number');
  const kept = portal === 'client_online' ? await db('client_online_kept_users').orderBy(['client_number', 'ref']).select<{ client_number: string; ref: string }[]>('client_number', 'ref') : [];
  return {
    remoteIds: new Set(identities.flatMap((i) => (i.remote_id ? [i.remote_id] : []))),
    sentClientNumbers: new Set(identities.filter((i) => i.record_type === 'client').map((i) => i.client_number)),
    registryClientNumbers: new Set(clients.map((c) => c.client_number)),
    keptUsers: kept.map((row) => ({ clientNumber: row.client_number, ref: row.ref })),
  };
}
