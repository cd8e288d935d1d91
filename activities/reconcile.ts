import type { PortalReconcileCounts, ReconcilePortal, ReconcileReport } from '../src/registry/reconcile-runs';
import { reconcileAdapters } from './reconcile/adapters';
import type { ReconcileContext } from './reconcile/context';
import { reconcilePortal } from './reconcile/reconcile-portal';
import { awaitRepairs, finishReconcileRun, startReconcileRun } from './reconcile/run-record';
import type { ReconcileActivityDeps, ReconcilePortalInput } from './reconcile/types';

/**
 * The reconcile: per portal, one activity reads everything the portal holds in bulk (its list
 * calls, paged), walks the registry in batches, and compares every client's desired state with
 * what the portal really holds. Where they differ it records the drift (record ids and field
 * names) and appends a `client.reconcile` event in one transaction: the client's own workflow then
 * repairs it through the same sync every change takes (src/sync/repairs.ts), one sync at a time
 * per client, so a repair never races a change. Orphans are reported, never deleted. The steps
 * live in activities/reconcile/; this only wires them.
 */

export type {
  Batch,
  CaseWareBulkPort,
  ClientOnlineBulkPort,
  KnownRecords,
  ReconcileActivityDeps,
  ReconcileAdapter,
  ReconcilePortalInput,
  RunLookups,
} from './reconcile/types';

export function createReconcileActivities(deps: ReconcileActivityDeps) {
  const { db } = deps;
  const context: ReconcileContext = { db, adapters: reconcileAdapters(deps), batchSize: deps.batchSize ?? 500 };
  return {
    reconcilePortal: (input: ReconcilePortalInput) => reconcilePortal(context, input),
    startReconcileRun: (input: Parameters<typeof startReconcileRun>[1]) => startReconcileRun(db, input),
    awaitRepairs: (input: Parameters<typeof awaitRepairs>[1]) => awaitRepairs(db, input),
    finishReconcileRun: (input: Parameters<typeof finishReconcileRun>[1]) => finishReconcileRun(db, input),
  };
}

export type { PortalReconcileCounts, ReconcilePortal, ReconcileReport };
export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
