import { ActivityFailure, ApplicationFailure, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { PortalReconcileCounts, ReconcileActivities, ReconcilePortal, ReconcileReport } from '../activities/reconcile';
import { configurationFailure, reconcileFailedFailure } from './definitions';

export interface ReconcileInput {
  /** Who started it: the hourly schedule, or an operator through the API. */
  trigger?: 'schedule' | 'api';
  /** Compare and report, repair nothing. */
  dryRun?: boolean;
  /** How long the run waits for the clients' syncs to settle its repairs; default 10 minutes. */
  repairWaitMs?: number;
}

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 } as const;
const { startReconcileRun, finishReconcileRun } = proxyActivities<ReconcileActivities>({ startToCloseTimeout: '1 minute', retry });
// Reading a large firm's portal and registry takes a while; heartbeats tell a dead worker apart.
const { reconcilePortal } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { ...retry, nonRetryableErrorTypes: [configurationFailure] },
  summary: "reads the portal in bulk and compares every client with the registry",
});
const { awaitRepairs } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '1 hour',
  summary: "waits for the clients' syncs to repair the drift found",
  heartbeatTimeout: '30 seconds',
  retry: { ...retry, nonRetryableErrorTypes: [configurationFailure] },
});

const portals: readonly ReconcilePortal[] = ['caseware', 'clientOnline'];
const labels: Record<ReconcilePortal, string> = { caseware: 'CaseWare Cloud', clientOnline: 'Client Online' };

function failureMessage(error: unknown): string {
  return (error instanceof ActivityFailure ? error.cause?.message : undefined) ?? String(error);
}

/**
 * One reconcile run (the `reconcile-hourly` schedule's, or `reconcile-<id>` from the API): both
 * portals compared with the registry at once, in bulk; the repairs are the clients' own syncs,
 * which the run waits for and then reports. A portal that cannot be read fails the run for that
 * portal only; the report says so. The history carries counts, never personal data.
 */
export async function reconcileWorkflow(input: ReconcileInput = {}): Promise<ReconcileReport> {
  const dryRun = input.dryRun ?? false;
  setCurrentDetails(`reading ${portals.map((p) => labels[p]).join(' and ')} and comparing them with the registry${dryRun ? ' (dry run)' : ''}`);
  const { runId } = await startReconcileRun({ trigger: input.trigger ?? 'schedule', dryRun });

  const failures: string[] = [];
  const counts = await Promise.all(
    portals.map((portal) =>
      reconcilePortal({ runId, portal, dryRun }).catch((error: unknown): PortalReconcileCounts | undefined => {
        failures.push(`${labels[portal]}: ${failureMessage(error)}`);
        return undefined;
      }),
    ),
  );
  const compared = counts.filter((c): c is PortalReconcileCounts => c !== undefined);
  const drifted = compared.reduce((sum, c) => sum + c.drifted, 0);
  if (!dryRun && drifted > 0) {
    setCurrentDetails(`waiting for the syncs of ${drifted} drifted client portal${drifted === 1 ? '' : 's'} to repair them`);
    await awaitRepairs({ runId, timeoutMs: input.repairWaitMs ?? 10 * 60_000 });
  }
  const report = await finishReconcileRun({ runId, portals: compared, ...(failures.length > 0 ? { failure: failures.join('; ') } : {}) });
  setCurrentDetails(report.status === 'completed' ? 'done' : `failed: ${report.failure ?? ''}`);
  if (report.status === 'failed') throw ApplicationFailure.nonRetryable(`reconcile run ${runId} failed: ${report.failure ?? ''}`, reconcileFailedFailure);
  return report;
}
