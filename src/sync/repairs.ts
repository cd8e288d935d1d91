import type { Db } from '../db';
import type { Drift } from '../domain/drift';
import type { Portal, SyncErrorInput } from './ledger';

/**
 * Repairs the reconcile asked for: where it found a portal holding something else than the
 * ledger says, it records the drift here (record ids and field names) and appends a
 * `client.reconcile` event. An operator's resync records one too, without a run (src/sync/resync.ts). The client's next sync, the same path every change takes, reads what
 * is pending for it, checks those records against the portal itself instead of trusting the
 * ledger, and settles the repair with what it did.
 */

/**
 * What a repair asks the sync to check: drift a reconcile found, or an operator's resync, which
 * names the client and has every record of it checked against the portal, whatever the ledger says.
 */
export type RepairRequest = Drift | { recordType: 'client'; recordId: number; issue: 'resync' };

export interface PendingRepairs {
  ids: number[];
  drift: RepairRequest[];
  /**
   * When the earliest of them that a reconcile run found was recorded (the run had read the
   * portal in bulk just before); null when none was (only an operator's resync is pending).
   */
  foundByRunAt: Date | null;
}

export async function pendingRepairs(db: Db, portal: Portal, clientNumber: string): Promise<PendingRepairs> {
  const rows = await db('reconcile_repairs')
    .where({ portal, client_number: clientNumber, status: 'pending' })
    .select<{ id: number; drift: RepairRequest[]; run_id: number | null; found_at: Date }[]>('id', 'drift', 'run_id', 'found_at');
  const foundByRun = rows.filter((row) => row.run_id !== null).map((row) => row.found_at.getTime());
  return {
    ids: rows.map((row) => Number(row.id)),
    drift: rows.flatMap((row) => row.drift),
    foundByRunAt: foundByRun.length > 0 ? new Date(Math.min(...foundByRun)) : null,
  };
}

/** An operator asked for a resync: every record of the client is checked, not only those named. */
export function resyncRequested(drift: readonly RepairRequest[]): boolean {
  return drift.some((d) => d.issue === 'resync');
}

/** The records a repair names, by `type:id`. */
export function driftedRecords(drift: readonly RepairRequest[]): Set<string> {
  return new Set(drift.map((d) => `${d.recordType}:${d.recordId}`));
}

/**
 * Settles the repairs a sync took on: `failed` where a drifted record still has a sync error (the
 * message names the codes), else `repaired`, or `no-change` when the sync found nothing to write
 * (a change in flight had fixed it already).
 */
/** What a sync did at a portal, in the go-live preview's words (src/domain/outlook.ts). */
export interface SyncActionCounts {
  adopt: number;
  create: number;
  update: number;
  credentialsMails: number;
}

export async function settleRepairs(
  db: Db,
  repairs: PendingRepairs,
  /** `heldLogins`: logins the credentials-mail guard held for approval instead of letting the repair make them. */
  outcome: { errors: readonly SyncErrorInput[]; writes: number; did?: SyncActionCounts; heldLogins?: number },
): Promise<void> {
  if (repairs.ids.length === 0) return;
  const drifted = driftedRecords(repairs.drift);
  const blocking = resyncRequested(repairs.drift)
    ? outcome.errors
    : outcome.errors.filter((error) => drifted.has(`${error.recordType}:${error.recordId}`));
  const status = blocking.length > 0 ? 'failed' : outcome.writes > 0 ? 'repaired' : 'no-change';
  const held = outcome.heldLogins ?? 0;
  const message =
    blocking.length > 0
      ? `not repaired: ${blocking.map((error) => `${error.recordType} ${error.recordId} (${error.code})`).join(', ')}; see the sync errors`
      : held > 0
        ? `${held} login${held === 1 ? '' : 's'} held for approval instead of made (and mailed): see the credentials-mail guard in GET /sync/health`
        : null;
  await db('reconcile_repairs')
    .whereIn('id', repairs.ids)
    .where({ status: 'pending' })
    .update({ status, writes: outcome.writes, message, settled_at: db.fn.now(), ...(outcome.did ? { did: JSON.stringify(outcome.did) } : {}) });
}
