import type { Duration } from '@temporalio/common';
import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { MasterActivities } from '../activities/masters';
import type { MasterRef } from '../src/domain/masters';
import { registryChangedSignal } from './definitions';

export interface MasterPropagationInput {
  master: MasterRef;
  /** The commit horizon the last finished run was scheduled under (carried over by continue-as-new). */
  appliedHorizon?: number;
  /** A change above the applied horizon was signalled and not propagated yet. */
  dirty?: boolean;
  /** The newest event id signalled so far (carried over by continue-as-new). */
  newestEventId?: number;
  idleTimeout?: Duration;
}

// Heartbeats are the liveness check: a dead worker is noticed within 20 seconds.
const { propagateMasterToFollowers } = proxyActivities<MasterActivities>({
  heartbeatTimeout: '20 seconds',
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * One workflow per master (id `master-client-<id>` or `master-contact-<id>`): every change of the
 * master's private data signals it, and it brings all followers to the master's current values.
 * Runs never overlap and each reads the master as it is then, so two quick edits end with the
 * second one everywhere. The followers' own portal syncs follow from the outbox events it writes.
 *
 * As the client workflow (workflows/client-sync.ts), progress is the commit horizon: a signal
 * above the applied horizon means a change the followers may not have, so a master edit that
 * commits after a later one has been propagated is propagated too; event ids, taken at insert,
 * cannot tell.
 */
export async function masterPropagationWorkflow(input: MasterPropagationInput): Promise<void> {
  let appliedHorizon = input.appliedHorizon ?? 0;
  let dirty = input.dirty ?? false;
  let newestEventId = input.newestEventId ?? 0;
  let newestHorizon = appliedHorizon;
  setHandler(registryChangedSignal, ({ eventId, horizon }) => {
    newestEventId = Math.max(newestEventId, eventId);
    if (horizon !== undefined) newestHorizon = Math.max(newestHorizon, horizon);
    if (horizon === undefined || horizon > appliedHorizon) dirty = true;
  });
  for (let runs = 0; ; runs += 1) {
    const changed = await condition(() => dirty, input.idleTimeout ?? '1 hour');
    if (!changed) return;
    dirty = false;
    const horizon = newestHorizon;
    await propagateMasterToFollowers({ master: input.master, uptoEventId: newestEventId });
    appliedHorizon = Math.max(appliedHorizon, horizon);
    if (workflowInfo().continueAsNewSuggested || runs >= 500) {
      return continueAsNew<typeof masterPropagationWorkflow>({ ...input, appliedHorizon, dirty, newestEventId });
    }
  }
}
