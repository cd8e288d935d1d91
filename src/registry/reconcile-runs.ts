import type { Db } from '../db';
import type { RowOf } from '../db-rows';
import type { Drift } from '../domain/drift';
import type { OutlookCounts, OutlookItem } from '../domain/outlook';
import { portalFromColumn, type Portal } from '../sync/portal-names';
import { RegistryError } from './errors';

export type ReconcilePortal = 'caseware' | 'clientOnline';

/** What one portal's comparison found, in counts: the workflow's history carries nothing else. */
export interface PortalReconcileCounts {
  portal: ReconcilePortal;
  /** Clients the portal holds or should hold. */
  checked: number;
  inSync: number;
  /** Clients where the portal differed (a repair was asked for, or noted in a dry run). */
  drifted: number;
  /** Clients left out because a record has an open sync error: the administrator's list has them. */
  knownErrors: number;
  orphans: number;
  /** HTTP requests of the bulk read. */
  reads: number;
  /** What the next syncs would do here, as the run found the portal (the go-live preview): adopt, create, update, keep, conflicts, credentialsMails. */
  outlook: OutlookCounts;
}

export interface PortalReconcileReport extends PortalReconcileCounts {
  repaired: number;
  /** Drift found that was gone when the client's sync looked (a change in flight fixed it). */
  noChange: number;
  failed: number;
  /** Repairs not settled when the run stopped waiting; the client's sync settles them later. */
  unfinished: number;
  /** Portal writes the repairs made. */
  writes: number;
  /** What the repairs' syncs did, in the outlook's words: adopted, created, updated, credentials mails caused. */
  done: { adopt: number; create: number; update: number; credentialsMails: number };
}

export interface ReconcileReport {
  runId: number;
  dryRun: boolean;
  status: 'completed' | 'failed';
  durationMs: number;
  portals: PortalReconcileReport[];
  failure?: string;
}

/** The reconcile runs as operators see them (GET /reconcile/runs): what each found and did. */

export interface ReconcileRunSummary {
  id: number;
  workflowId: string;
  trigger: 'schedule' | 'api';
  /** The token that asked for the run; null for the schedule's. */
  requestedBy: string | null;
  dryRun: boolean;
  status: 'running' | 'completed' | 'failed';
  startedAt: Date;
  finishedAt: Date | null;
  report: ReconcileReport | null;
}

export interface ReconcileRepairRecord {
  portal: Portal;
  clientNumber: string;
  drift: Drift[];
  status: 'pending' | 'repaired' | 'no-change' | 'failed' | 'dry-run';
  writes: number;
  message: string | null;
  foundAt: Date;
  settledAt: Date | null;
}

export interface ReconcileOrphanRecord {
  portal: Portal;
  kind: string;
  remoteId: string;
  reason: string;
}

/** One object the next syncs would adopt, create, update or keep, or a conflict that stops them. */
export interface ReconcileOutlookRecord {
  portal: Portal;
  clientNumber: string;
  action: OutlookItem['action'];
  object: OutlookItem['object'];
  recordType: 'client' | 'contact';
  recordId: number;
  credentialsMails: number;
  detail: string | null;
}

export interface ReconcileRunDetails extends ReconcileRunSummary {
  repairs: ReconcileRepairRecord[];
  orphans: ReconcileOrphanRecord[];
  /** The records behind the outlook's counts (at most `outlookLimit`, by portal, action and client). */
  outlook: ReconcileOutlookRecord[];
}

/** How many outlook records a run's details show; the counts in its report cover them all. */
export const outlookLimit = 5_000;

/** A row of reconcile_runs: the summary's fields, the id as the driver returns a bigint. */
type RunRow = Omit<RowOf<ReconcileRunSummary>, 'id'> & { id: string };

function toSummary(row: RunRow): ReconcileRunSummary {
  return {
    id: Number(row.id),
    workflowId: row.workflow_id,
    trigger: row.trigger,
    requestedBy: row.requested_by,
    dryRun: row.dry_run,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    report: row.report,
  };
}

/** A run asked for through the API: its record exists before its workflow starts, so the answer can name it. */
export async function createReconcileRun(db: Db, run: { workflowId: string; dryRun: boolean; requestedBy?: string }): Promise<ReconcileRunSummary> {
  const [row] = await db('reconcile_runs')
    .insert({ workflow_id: run.workflowId, trigger: 'api', dry_run: run.dryRun, requested_by: run.requestedBy ?? null })
    .returning<RunRow[]>('*');
  return toSummary(row!);
}

/**
 * A run that never got going (its workflow could not be started): a report of its own shape, with no
 * portal compared, so that reading the runs back answers it like any other (a bare `{ failure }`
 * failed the response schema: GET /reconcile/runs answered 500).
 */
export async function markReconcileRunFailed(db: Db, id: number, failure: string): Promise<void> {
  await db.raw(
    `update reconcile_runs
        set status = 'failed',
            finished_at = now(),
            report = json_build_object(
              'runId', id, 'dryRun', dry_run, 'status', 'failed',
              'durationMs', floor(extract(epoch from now() - started_at) * 1000)::bigint,
              'portals', '[]'::json, 'failure', ?::text)
      where id = ? and status = 'running'`,
    [failure, id],
  );
}

export async function listReconcileRuns(db: Db, options: { limit?: number } = {}): Promise<ReconcileRunSummary[]> {
  const rows = await db('reconcile_runs').orderBy('id', 'desc').limit(options.limit ?? 50).select<RunRow[]>('*');
  return rows.map(toSummary);
}

export async function getReconcileRun(db: Db, id: number): Promise<ReconcileRunDetails> {
  const row = await db('reconcile_runs').where({ id }).first<RunRow | undefined>('*');
  if (!row) throw new RegistryError('not-found', `reconcile run ${id} does not exist`);
  const repairs = await db('reconcile_repairs')
    .where({ run_id: id })
    .orderBy('id')
    .select<{ portal: string; client_number: string; drift: Drift[]; status: ReconcileRepairRecord['status']; writes: number; message: string | null; found_at: Date; settled_at: Date | null }[]>('*');
  const orphans = await db('reconcile_orphans')
    .where({ run_id: id })
    .orderBy('id')
    .select<{ portal: string; kind: string; remote_id: string; reason: string }[]>('*');
  const outlook = await db('reconcile_outlook')
    .where({ run_id: id })
    .orderBy(['portal', 'action', 'client_number', 'id'])
    .limit(outlookLimit)
    .select<{ portal: string; client_number: string; action: OutlookItem['action']; object: OutlookItem['object']; record_type: 'client' | 'contact'; record_id: string; credentials_mails: number; detail: string | null }[]>('*');
  return {
    ...toSummary(row),
    repairs: repairs.map((r) => ({
      portal: portalFromColumn(r.portal),
      clientNumber: r.client_number,
      drift: r.drift,
      status: r.status,
      writes: r.writes,
      message: r.message,
      foundAt: r.found_at,
      settledAt: r.settled_at,
    })),
    orphans: orphans.map((o) => ({ portal: portalFromColumn(o.portal), kind: o.kind, remoteId: o.remote_id, reason: o.reason })),
    outlook: outlook.map((o) => ({
      portal: portalFromColumn(o.portal),
      clientNumber: o.client_number,
      action: o.action,
      object: o.object,
      recordType: o.record_type,
      recordId: Number(o.record_id),
      credentialsMails: o.credentials_mails,
      detail: o.detail,
    })),
  };
}
