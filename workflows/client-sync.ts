import type { Duration } from '@temporalio/common';
import { ActivityFailure, condition, continueAsNew, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CaseWareActivities } from '../activities/caseware';
import { registryChangedSignal } from './definitions';

export interface ClientSyncInput {
  clientNumber: string;
  /** The newest registry change the portals have received (carried over by continue-as-new). */
  appliedEventId?: number;
  /** A change signalled to the previous run that it had not synced yet. */
  pendingEventId?: number;
  /** How long the workflow waits for another change before it finishes; the next change starts it again. */
  idleTimeout?: Duration;
}

const { syncClientToCaseWare } = proxyActivities<CaseWareActivities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    // Unlimited attempts for transport trouble: a portal that is down gets the change when it is back.
    // These are rule or set-up problems a retry cannot fix; they surface as errors instead.
    nonRetryableErrorTypes: ['ConfigurationError', 'RegistryRecordMissing'],
  },
});

/**
 * One workflow per client (id `client-<number>`): every registry change of the client or its
 * contacts signals it, and it brings the portals to the registry's current state. Changes that
 * arrive while a sync runs are folded into the next one, so a burst of edits costs one or two
 * syncs and the portals always end at the newest state. Signals carry event ids only.
 */
export async function clientSyncWorkflow(input: ClientSyncInput): Promise<void> {
  let applied = input.appliedEventId ?? 0;
  let newest = Math.max(applied, input.pendingEventId ?? 0);
  setHandler(registryChangedSignal, ({ eventId }) => {
    // A redelivered or older event is already covered.
    if (eventId > newest) newest = eventId;
  });

  for (let syncs = 0; ; syncs += 1) {
    const changed = await condition(() => newest > applied, input.idleTimeout ?? '1 hour');
    if (!changed) return;
    const upto = newest;
    try {
      await syncClientToCaseWare({ clientNumber: input.clientNumber, uptoEventId: upto });
    } catch (error) {
      // Not retryable (a set-up problem): the activity recorded it as a sync error for the
      // operator; the next change tries again.
      const cause = error instanceof ActivityFailure ? error.cause?.message : undefined;
      log.warn('CaseWare Cloud sync failed', { clientNumber: input.clientNumber, error: cause ?? String(error) });
    }
    applied = upto;
    if (workflowInfo().continueAsNewSuggested || syncs >= 500) {
      return continueAsNew<typeof clientSyncWorkflow>({ ...input, appliedEventId: applied, pendingEventId: newest });
    }
  }
}
