import type { Duration } from '@temporalio/common';
import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { MasterActivities } from '../activities/masters';
import type { MasterRef } from '../src/domain/masters';
import { registryChangedSignal } from './definitions';

export interface MasterPropagationInput {
  master: MasterRef;
  appliedEventId?: number;
  pendingEventId?: number;
  idleTimeout?: Duration;
}

const { propagateMasterToFollowers } = proxyActivities<MasterActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * One workflow per master (id `master-client-<id>` or `master-contact-<id>`): every change of the
 * master's private data signals it, and it brings all followers to the master's current values.
 * Runs never overlap and each reads the master as it is then, so two quick edits end with the
 * second one everywhere. The followers' own portal syncs follow from the outbox events it writes.
 */
export async function masterPropagationWorkflow(input: MasterPropagationInput): Promise<void> {
  let applied = input.appliedEventId ?? 0;
  let newest = Math.max(applied, input.pendingEventId ?? 0);
  setHandler(registryChangedSignal, ({ eventId }) => {
    if (eventId > newest) newest = eventId;
  });
  for (let runs = 0; ; runs += 1) {
    const changed = await condition(() => newest > applied, input.idleTimeout ?? '1 hour');
    if (!changed) return;
    const upto = newest;
    await propagateMasterToFollowers({ master: input.master, uptoEventId: upto });
    applied = upto;
    if (workflowInfo().continueAsNewSuggested || runs >= 500) {
      return continueAsNew<typeof masterPropagationWorkflow>({ ...input, appliedEventId: applied, pendingEventId: newest });
    }
  }
}
