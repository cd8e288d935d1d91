import type { Db } from '../db';
import type { Drift } from '../domain/drift';
import type { Portal, SyncErrorInput } from './ledger';

/**
 * Repairs the reconcile asked for: where it found a portal holding something else than the
 * ledger says, it records the drift here (record ids and field names) and appends a
 * `client.reconcile` event. The client's next sync, the same path every change takes, reads what
 * is pending for it, checks those records against the portal itself instead of trusting the
 * ledger, and settles the repair with what it did.
 */

export interface PendingRepairs {
  ids: number[];
  drift: Drift[];
}

export async function pendingRepairs(db: Db, portal: Portal, clientNumber: string): Promise<PendingRepairs> {
  const rows = await db('reconcile_repairs')
    .where({ portal, client_number: clientNumber, status: 'pending' })
    .select<{ id: number; drift: Drift[] }[]>('id', 'drift');
  return { ids: rows.map((row) => Number(row.id)), drift: rows.flatMap((row) => row.drift) };
}

/** The records a repair names, by `type:id`. */
export function driftedRecords(drift: readonly Drift[]): Set<string> {
  return new Set(drift.map((d) => `${d.recordType}:${d.recordId}`));
}

/**
 * Settles the repairs a sync took on: `failed` where a drifted record still has a sync error (the
 * message names the codes), else `repaired`, or `no-change` when the sync found nothing to write
 * (a change in flight had fixed it already).
 */
export async function settleRepairs(
  db: Db,
  repairs: PendingRepairs,
  outcome: { errors: readonly SyncErrorInput[]; writes: number },
): Promise<void> {
  if (repairs.ids.length === 0) return;
  const drifted = driftedRecords(repairs.drift);
  const blocking = outcome.errors.filter((error) => drifted.has(`${error.recordType}:${error.recordId}`));
  const status = blocking.length > 0 ? 'failed' : outcome.writes > 0 ? 'repaired' : 'no-change';
  const message =
    blocking.length > 0
      ? `not repaired: ${blocking.map((error) => `${error.recordType} ${error.recordId} (${error.code})`).join(', ')}; see the sync errors`
      : null;
  await db('reconcile_repairs')
    .whereIn('id', repairs.ids)
    .where({ status: 'pending' })
    .update({ status, writes: outcome.writes, message, settled_at: db.fn.now() });
}
