import type { Duration, RetryPolicy } from '@temporalio/common';
import {
  ActivityFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { CaseWareActivities, SyncClientInput } from '../activities/caseware';
import type { ClientOnlineActivities } from '../activities/client-online';
import { registryChangedSignal } from './definitions';

export interface ClientSyncInput {
  clientNumber: string;
  /** The newest registry change every portal has received (carried over by continue-as-new). */
  appliedEventId?: number;
  /** Per portal, where they differ (carried over by continue-as-new). */
  appliedEventIds?: Partial<Record<PortalName, number>>;
  /** A change signalled to the previous run that it had not synced yet. */
  pendingEventId?: number;
  /** How long the workflow waits for another change before it finishes; the next change starts it again. */
  idleTimeout?: Duration;
  /** Syncs after which a run hands over to a fresh one (continue-as-new), keeping its history short. */
  syncsPerRun?: number;
}

type PortalName = 'caseware' | 'clientOnline';

const syncRetry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  // Unlimited attempts for transport trouble: a portal that is down gets the change when it is back.
  // These are rule or set-up problems a retry cannot fix; they surface as sync errors instead.
  nonRetryableErrorTypes: ['ConfigurationError', 'RegistryRecordMissing'],
};

const { syncClientToCaseWare } = proxyActivities<CaseWareActivities>({ startToCloseTimeout: '2 minutes', retry: syncRetry });
const { syncClientToClientOnline } = proxyActivities<ClientOnlineActivities>({ startToCloseTimeout: '2 minutes', retry: syncRetry });

const portalSyncs: Record<PortalName, { label: string; sync: (input: SyncClientInput) => Promise<unknown> }> = {
  caseware: { label: 'CaseWare Cloud', sync: syncClientToCaseWare },
  clientOnline: { label: 'Client Online', sync: syncClientToClientOnline },
};

function failureMessage(error: unknown): string {
  return (error instanceof ActivityFailure ? error.cause?.message : undefined) ?? String(error);
}

/**
 * One workflow per client (id `client-<number>`): every registry change of the client or its
 * contacts signals it, and it brings each portal to the registry's current state. Each portal has
 * its own loop, so one portal being down never holds back the other. Changes that arrive while a
 * sync runs are folded into the next one: a burst of edits costs one or two syncs per portal and
 * every portal ends at the newest state. Signals carry event ids only.
 */
export async function clientSyncWorkflow(input: ClientSyncInput): Promise<void> {
  if (!patched('portal-loops')) return caseWareOnlyLoop(input);

  let newest = Math.max(input.appliedEventId ?? 0, input.pendingEventId ?? 0);
  setHandler(registryChangedSignal, ({ eventId }) => {
    // A redelivered or older event is already covered.
    if (eventId > newest) newest = eventId;
  });

  const applied: Record<PortalName, number> = {
    caseware: input.appliedEventIds?.caseware ?? input.appliedEventId ?? 0,
    clientOnline: input.appliedEventIds?.clientOnline ?? input.appliedEventId ?? 0,
  };
  let syncs = 0;
  let stopping = false;

  const portalLoop = async (portal: PortalName) => {
    for (;;) {
      await condition(() => newest > applied[portal] || stopping);
      if (stopping) return;
      const upto = newest;
      try {
        await portalSyncs[portal].sync({ clientNumber: input.clientNumber, uptoEventId: upto });
      } catch (error) {
        // Not retryable (a set-up problem): the activity recorded it as a sync error for the
        // operator; the next change tries again.
        log.warn(`${portalSyncs[portal].label} sync failed`, { clientNumber: input.clientNumber, error: failureMessage(error) });
      }
      applied[portal] = upto;
      syncs += 1;
    }
  };
  const loops = Promise.all((['caseware', 'clientOnline'] as const).map(portalLoop));

  const caughtUp = () => applied.caseware >= newest && applied.clientOnline >= newest;
  const historyFull = () => workflowInfo().continueAsNewSuggested || syncs >= (input.syncsPerRun ?? 500);
  for (;;) {
    await condition(() => caughtUp() || historyFull());
    if (historyFull()) break;
    const changed = await condition(() => !caughtUp(), input.idleTimeout ?? '1 hour');
    if (!changed) break;
  }
  // A loop in the middle of a sync finishes it first.
  stopping = true;
  await loops;
  if (caughtUp() && !historyFull()) return;
  return continueAsNew<typeof clientSyncWorkflow>({
    ...input,
    appliedEventId: undefined,
    appliedEventIds: { ...applied },
    pendingEventId: newest,
  });
}

/**
 * The first version, CaseWare Cloud only: kept so that workflows started before Client Online
 * existed replay and finish as they began (test/fixtures/histories).
 */
async function caseWareOnlyLoop(input: ClientSyncInput): Promise<void> {
  let applied = input.appliedEventId ?? 0;
  let newest = Math.max(applied, input.pendingEventId ?? 0);
  setHandler(registryChangedSignal, ({ eventId }) => {
    if (eventId > newest) newest = eventId;
  });

  for (let syncs = 0; ; syncs += 1) {
    const changed = await condition(() => newest > applied, input.idleTimeout ?? '1 hour');
    if (!changed) return;
    const upto = newest;
    try {
      await syncClientToCaseWare({ clientNumber: input.clientNumber, uptoEventId: upto });
    } catch (error) {
      log.warn('CaseWare Cloud sync failed', { clientNumber: input.clientNumber, error: failureMessage(error) });
    }
    applied = upto;
    if (workflowInfo().continueAsNewSuggested || syncs >= 500) {
      return continueAsNew<typeof clientSyncWorkflow>({ ...input, appliedEventId: applied, pendingEventId: newest });
    }
  }
}
