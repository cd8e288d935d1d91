import type { Db } from '../db';
import { columnsOf, fromRow, type RowOf } from '../db-rows';
import { portalColumnValue, type Portal } from '../sync/portal-names';
import { toSyncError, type SyncError, type SyncErrorRow } from '../sync/sync-errors';
import { requireClient } from './records';

// The read model behind the operators' sync views: what failed, and per client how far each
// portal has caught up with the registry. Nothing here returns personal data: portal logins
// (CaseWare uses the email) stay in portal_identities.login_key and are not read.

export type PortalSyncState = 'not-linked' | 'pending' | 'in-sync' | 'error';

export interface RemoteRecord {
  recordType: string;
  recordId: number;
  remoteId: string | null;
  access: string;
  syncedAt: Date | null;
}

export interface PortalSyncStatus {
  linked: boolean;
  state: PortalSyncState;
  /** An operator holds the portal (src/sync/portal-holds.ts): nothing is written to it, its changes wait. */
  held: boolean;
  /** The newest outbox event this portal has received for the client; 0 when none. */
  appliedEventId: number;
  lastSyncedAt: Date | null;
  remote: RemoteRecord[];
  errors: SyncError[];
}

export interface PendingEvent {
  id: number;
  kind: string;
  recordType: string;
  recordId: number;
  createdAt: Date;
  attempts: number;
  lastError: string | null;
}

export interface ClientSyncStatus {
  clientNumber: string;
  caseware: PortalSyncStatus;
  clientOnline: PortalSyncStatus;
  /** Outbox events for the client not yet handed to the sync. */
  pendingEvents: PendingEvent[];
}

interface PortalSyncStateRow {
  portal: string;
  applied_event_id: number;
  synced_at: Date | null;
}

/** The columns read from portal_identities; login_key (an email for CaseWare) is left out. */
const remoteColumns = columnsOf<RemoteRecord>(['recordType', 'recordId', 'remoteId', 'access', 'syncedAt']);
type PortalIdentityRow = RowOf<RemoteRecord> & { portal: string };

const pendingEventColumns = columnsOf<PendingEvent>(['id', 'kind', 'recordType', 'recordId', 'createdAt', 'attempts', 'lastError']);

/** Sync errors, most recently seen first; open ones only unless `includeResolved`. */
export async function listSyncErrors(
  db: Db,
  filter: { clientNumber?: string; includeResolved?: boolean } = {},
): Promise<SyncError[]> {
  const rows = (await db('sync_errors')
    .where(filter.clientNumber === undefined ? {} : { client_number: filter.clientNumber })
    .where(filter.includeResolved ? {} : { resolved_at: null })
    .orderBy([
      { column: 'last_seen_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])) as SyncErrorRow[];
  return rows.map(toSyncError);
}

/**
 * Per portal: whether a committed registry change of the client may not have reached it yet. A
 * change is covered once a sync scheduled under a commit horizon above its transaction id has
 * finished (markApplied); until its event is delivered, or while its transaction id is at or above
 * the portal's applied horizon, the portal is behind. This cannot miss a change that committed
 * late: its transaction id is at or above every horizon taken while it ran. A master's change
 * (`master.updated`) reaches the portals through its followers' own events instead.
 */
export async function portalsBehind(db: Db, clientNumber: string): Promise<Record<Portal, boolean>> {
  const result = await db.raw<{ rows: { portal: string; behind: boolean }[] }>(
    `select p.portal, exists (
       select 1 from outbox_events e
        where e.client_number = :clientNumber
          and e.kind <> 'master.updated'
          and (e.delivered_at is null or e.xid >= coalesce(s.applied_horizon, 0)::text::xid8)
     ) as behind
     from (values ('caseware'), ('client_online')) as p (portal)
     left join portal_sync_state s on s.portal = p.portal and s.client_number = :clientNumber`,
    { clientNumber },
  );
  const behind = (portal: Portal) => result.rows.some((row) => row.portal === portalColumnValue[portal] && row.behind);
  return { caseware: behind('caseware'), clientOnline: behind('clientOnline') };
}

/** Per portal: linked or not, caught up or not, what it holds and what failed. */
export async function clientSyncStatus(db: Db, clientNumber: string): Promise<ClientSyncStatus> {
  // One snapshot, so that the events and what each portal has applied are read at the same moment.
  return db.transaction((trx) => readClientSyncStatus(trx, clientNumber), {
    isolationLevel: 'repeatable read',
    readOnly: true,
  });
}

async function readClientSyncStatus(db: Db, clientNumber: string): Promise<ClientSyncStatus> {
  const client = await requireClient(db, clientNumber);

  // One connection runs a transaction's queries one after another, so these are awaited in turn.
  const behind = await portalsBehind(db, clientNumber);
  const stateRows = (await db('portal_sync_state').where({ client_number: clientNumber })) as PortalSyncStateRow[];
  const identityRows = await db('portal_identities')
    .where({ client_number: clientNumber })
    .orderBy([{ column: 'record_type' }, { column: 'record_id' }])
    .select<PortalIdentityRow[]>('portal', ...remoteColumns);
  const openErrors = await listSyncErrors(db, { clientNumber });
  const pendingRows = await db('outbox_events')
    .where({ client_number: clientNumber, delivered_at: null })
    .orderBy('id')
    .select<RowOf<PendingEvent>[]>(pendingEventColumns);
  const heldPortals = (await db('portal_holds').select<{ portal: string }[]>('portal')).map((row) => row.portal);

  function portalStatus(portal: Portal): PortalSyncStatus {
    const column = portalColumnValue[portal];
    const syncState = stateRows.find((row) => row.portal === column);
    const appliedEventId = syncState?.applied_event_id ?? 0;
    const errors = openErrors.filter((error) => error.portal === portal);
    const linked = client.links[portal];
    const holdsAccess = identityRows.some((row) => row.portal === column && row.access === 'active');
    return {
      linked,
      held: heldPortals.includes(column),
      state: portalState({
        // An unlinked portal has nothing to receive, unless it still holds access to take away.
        pending: behind[portal] && (linked || holdsAccess),
        hasErrors: errors.length > 0,
        linked,
      }),
      appliedEventId,
      lastSyncedAt: syncState?.synced_at ?? null,
      remote: identityRows
        .filter((row) => row.portal === column)
        .map(({ portal: _portal, ...row }) => fromRow<RemoteRecord>(row)),
      errors,
    };
  }

  return {
    clientNumber,
    caseware: portalStatus('caseware'),
    clientOnline: portalStatus('clientOnline'),
    pendingEvents: pendingRows.map((row) => fromRow(row)),
  };
}

// A change not yet received outranks everything: until it arrives, errors and the link switch
// describe a state the portal is about to leave.
export function portalState(facts: { pending: boolean; hasErrors: boolean; linked: boolean }): PortalSyncState {
  if (facts.pending) return 'pending';
  if (facts.hasErrors) return 'error';
  return facts.linked ? 'in-sync' : 'not-linked';
}
