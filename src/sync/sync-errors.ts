import type { RowOf } from '../db-rows';
import { portalFromColumn, type Portal } from './portal-names';

// A sync error as the registry's status reads (src/registry/sync-status.ts) and the ledger's list
// (src/sync/ledger.ts) return it, and the one mapping from its sync_errors row.

/** What a portal refused of a record, and why; open until a sync finds it fixed. */
export interface SyncError {
  id: number;
  portal: Portal;
  recordType: string;
  recordId: number;
  clientNumber: string;
  code: string;
  message: string;
  firstSeenAt: Date;
  lastSeenAt: Date;
  /** How many syncs met the error while it was open, the first included. */
  attempts: number;
  resolvedAt: Date | null;
}

/** A row of sync_errors: the portal by its column value. */
export type SyncErrorRow = Omit<RowOf<SyncError>, 'portal'> & { portal: string };

export function toSyncError(row: SyncErrorRow): SyncError {
  return {
    id: row.id,
    portal: portalFromColumn(row.portal),
    recordType: row.record_type,
    recordId: row.record_id,
    clientNumber: row.client_number,
    code: row.code,
    message: row.message,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    attempts: row.attempts,
    resolvedAt: row.resolved_at,
  };
}
