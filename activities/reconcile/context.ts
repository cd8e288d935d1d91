import type { Db } from '../../src/db';
import type { ReconcilePortal } from '../../src/registry/reconcile-runs';
import type { Portal } from '../../src/sync/ledger';
import type { ReconcileAdapter } from './types';

/** The ledger's name of each portal the reconcile compares. */
export const ledgerName: Record<ReconcilePortal, Portal> = { caseware: 'caseware', clientOnline: 'client_online' };

/** What the reconcile's steps depend on: the database, the portals' adapters and the batch size. */
export interface ReconcileContext {
  db: Db;
  adapters: Record<ReconcilePortal, ReconcileAdapter<unknown>>;
  /** Clients compared per batch (and per transaction that records their drift). */
  batchSize: number;
}
