import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { reconcileScheduleId } from '../workflows/definitions';
import type { reconcileWorkflow } from '../workflows/reconcile';

export interface ReconcileScheduleOptions {
  taskQueue: string;
  /** How often it runs; default every hour. */
  every?: string;
}

/**
 * The hourly reconcile as a Temporal Schedule (`reconcile-hourly`): created at start-up, or brought
 * to this configuration when it exists (a second start makes no second schedule). A run still
 * going when the next is due is not overlapped: that one is skipped. After an outage only the
 * runs missed within the last hour are made up, and then one at most (overlap skip). Whether it is
 * paused is the operator's: an update keeps it.
 */
export async function ensureReconcileSchedule(client: Client, options: ReconcileScheduleOptions): Promise<'created' | 'updated'> {
  const every = options.every ?? '1 hour';
  const action: ScheduleOptionsStartWorkflowAction<typeof reconcileWorkflow> = {
    type: 'startWorkflow',
    workflowType: 'reconcileWorkflow',
    workflowId: reconcileScheduleId,
    taskQueue: options.taskQueue,
    args: [{ trigger: 'schedule' }],
  };
  const definition = {
    scheduleId: reconcileScheduleId,
    spec: { intervals: [{ every }] },
    action,
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  };
  try {
    await client.schedule.create({ ...definition, state: { note: 'portal-sync: repairs drift between the registry and the portals' } });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(reconcileScheduleId).update((previous) => ({
    ...previous,
    spec: definition.spec,
    action: definition.action,
    policies: { ...previous.policies, ...definition.policies },
  }));
  return 'updated';
}
