import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { CaseWareActivities, CaseWareSyncSummary, SyncClientInput } from '../../../activities/caseware';

// One CaseWare sync run under Temporal's retry policy, with the heartbeat timeout a test chooses;
// it waits for a cancelled attempt to finish, so the test sees when the attempt really stopped.
export async function caseWareSyncRun(input: SyncClientInput, heartbeatTimeout: string): Promise<CaseWareSyncSummary> {
  const { syncClientToCaseWare } = proxyActivities<CaseWareActivities>({
    startToCloseTimeout: '1 hour',
    heartbeatTimeout,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  return syncClientToCaseWare(input);
}

// A sync's first attempt as the client workflow runs it: a local activity (no heartbeats), one try.
export async function caseWareFirstAttempt(input: SyncClientInput): Promise<CaseWareSyncSummary> {
  const { syncClientToCaseWare } = proxyLocalActivities<CaseWareActivities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  return syncClientToCaseWare(input);
}
