import { Context } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../../src/db';
import type { PortalReconcileCounts, PortalReconcileReport, ReconcileReport } from '../../src/registry/reconcile-runs';
import type { Portal } from '../../src/sync/ledger';
import { withHeartbeats } from '../heartbeat';
import { ledgerName } from './context';

function doneOf(row: { adopt: string; create: string; update: string; mails: string } | undefined): PortalReconcileReport['done'] {
  return { adopt: Number(row?.adopt ?? 0), create: Number(row?.create ?? 0), update: Number(row?.update ?? 0), credentialsMails: Number(row?.mails ?? 0) };
}

/**
 * The run's record; made here for a scheduled run, by the API for one it starts. Idempotent per
 * workflow. Looked up before inserting: an `insert ... on conflict` takes a number from the id
 * sequence even when the row exists, so every run the API made its record for skipped an id.
 */
export async function startReconcileRun(db: Db, input: { trigger: 'schedule' | 'api'; dryRun: boolean }): Promise<{ runId: number }> {
  const workflowId = Context.current().info.workflowExecution?.workflowId ?? 'outside-a-workflow';
  const existing = () => db('reconcile_runs').where({ workflow_id: workflowId }).first<{ id: string } | undefined>('id');
  const found = await existing();
  if (found) return { runId: Number(found.id) };
  const [row] = await db('reconcile_runs')
    .insert({ workflow_id: workflowId, trigger: input.trigger, dry_run: input.dryRun })
    .onConflict('workflow_id')
    .ignore()
    .returning<{ id: string }[]>('id');
  // Another attempt of this activity inserted it meanwhile (one whose answer was lost).
  const run = row ?? (await existing());
  if (!run) throw new Error(`the reconcile run of workflow ${workflowId} vanished while it was being recorded`);
  return { runId: Number(run.id) };
}

/** Waits (heartbeating) until every repair the run asked for is settled, or `timeoutMs` passed. */
export async function awaitRepairs(db: Db, input: { runId: number; timeoutMs: number }): Promise<{ pending: number }> {
  return withHeartbeats(async ({ signal }) => {
    const until = Date.now() + input.timeoutMs;
    for (;;) {
      const [row] = await db('reconcile_repairs').where({ run_id: input.runId, status: 'pending' }).count<{ count: string }[]>({ count: '*' });
      const pending = Number(row?.count ?? 0);
      if (pending === 0 || Date.now() >= until) return { pending };
      await sleep(500, undefined, { signal });
    }
  });
}

/** Writes the run's report from the counts and the settled repairs; the report is the workflow's result too. */
export async function finishReconcileRun(db: Db, input: { runId: number; portals: PortalReconcileCounts[]; failure?: string }): Promise<ReconcileReport> {
  const repairs = await db('reconcile_repairs')
    .where({ run_id: input.runId })
    .groupBy('portal', 'status')
    .select<{ portal: Portal; status: string; clients: string; writes: string }[]>('portal', 'status', db.raw('count(*) as clients'), db.raw('sum(writes) as writes'));
  // What the repairs' syncs did, in the preview's words.
  const did = await db('reconcile_repairs')
    .where({ run_id: input.runId })
    .whereNotNull('did')
    .groupBy('portal')
    .select<{ portal: Portal; adopt: string; create: string; update: string; mails: string }[]>(
      'portal',
      db.raw("sum((did->>'adopt')::int) as adopt"),
      db.raw("sum((did->>'create')::int) as \"create\""),
      db.raw("sum((did->>'update')::int) as \"update\""),
      db.raw("sum((did->>'credentialsMails')::int) as mails"),
    );
  const run = await db('reconcile_runs').where({ id: input.runId }).first<{ started_at: Date; dry_run: boolean }>('started_at', 'dry_run');
  const finishedAt = new Date();
  const tally = (portal: Portal, statuses: string[]) =>
    repairs.filter((r) => r.portal === portal && statuses.includes(r.status)).reduce((sum, r) => sum + Number(r.clients), 0);
  const report: ReconcileReport = {
    runId: input.runId,
    dryRun: run?.dry_run ?? false,
    status: input.failure ? 'failed' : 'completed',
    durationMs: run ? finishedAt.getTime() - new Date(run.started_at).getTime() : 0,
    portals: input.portals.map((counts) => {
      const portal = ledgerName[counts.portal];
      return {
        ...counts,
        repaired: tally(portal, ['repaired']),
        noChange: tally(portal, ['no-change']),
        failed: tally(portal, ['failed']),
        unfinished: tally(portal, ['pending']),
        writes: repairs.filter((r) => r.portal === portal).reduce((sum, r) => sum + Number(r.writes ?? 0), 0),
        done: doneOf(did.find((row) => row.portal === portal)),
      };
    }),
    ...(input.failure ? { failure: input.failure } : {}),
  };
  // Repairs the run stopped waiting for are settled by the client's sync all the same, later.
  await db('reconcile_runs')
    .where({ id: input.runId })
    .update({ status: report.status, finished_at: finishedAt, report: JSON.stringify(report) });
  return report;
}
