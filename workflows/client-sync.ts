import { ActivityCancellationType, type Duration, type RetryPolicy } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  continueAsNew,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { CaseWareActivities, SyncClientInput } from '../activities/caseware';
import type { ClientOnlineActivities } from '../activities/client-online';
import type { SyncHold } from '../src/sync/portal-holds';
import { configurationFailure, registryChangedSignal, registryRecordMissingFailure } from './definitions';

export interface ClientSyncInput {
  clientNumber: string;
  /** Per portal: the commit horizon it has applied and whether a change above it waits (carried over by continue-as-new). */
  portals?: Record<PortalName, PortalProgress>;
  /** The newest event id and commit horizon signalled so far (carried over by continue-as-new). */
  newestEventId?: number;
  newestHorizon?: number;
  /** How long the workflow waits for another change before it finishes; the next change starts it again. */
  idleTimeout?: Duration;
  /** Syncs after which a run hands over to a fresh one (continue-as-new), keeping its history short. */
  syncsPerRun?: number;
  /** Milliseconds a sync's first, local attempt may take before the sync goes on as a regular activity (30 000). */
  localAttemptTimeoutMs?: number;
}

type PortalName = 'caseware' | 'clientOnline';
const portalNames = ['caseware', 'clientOnline'] as const;

interface PortalProgress {
  /** Every transaction below this horizon had committed before a finished sync read the registry. */
  appliedHorizon: number;
  /** A change above the applied horizon has been signalled and not synced yet. */
  dirty: boolean;
}

/** A portal of a client's first run: nothing applied, nothing signalled yet. */
const fresh: PortalProgress = { appliedHorizon: 0, dirty: false };

/** Rule or set-up problems a retry cannot fix; they surface as sync errors instead. */
const nonRetryableErrorTypes = [configurationFailure, registryRecordMissingFailure];
const firstRetryDelay = '1 second';
const syncRetry: RetryPolicy = {
  initialInterval: firstRetryDelay,
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  // Unlimited attempts for transport trouble: a portal that is down gets the change when it is back.
  nonRetryableErrorTypes,
};

// The retries: heartbeats are the liveness check (activities/heartbeat.ts), so a dead worker is
// noticed within 20 seconds while a large client may take long, and a retry resumes where the
// attempt before it stopped. Cancelling waits for the attempt to stop, so that a hand-over never
// leaves an attempt running beside the next run's.
const retriedOptions = {
  heartbeatTimeout: '20 seconds',
  startToCloseTimeout: '1 hour',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: syncRetry,
} as const;
const caseWareSummary = "writes what changed in the client's registry records to CaseWare Cloud";
const clientOnlineSummary = "pushes the client's state to Client Online when it changed";
const caseWareRetried = proxyActivities<CaseWareActivities>({ ...retriedOptions, summary: caseWareSummary });
const clientOnlineRetried = proxyActivities<ClientOnlineActivities>({ ...retriedOptions, summary: clientOnlineSummary });

type PortalSync = (input: SyncClientInput) => Promise<{ held?: SyncHold }>;

interface PortalSyncs {
  label: string;
  /** The first attempt: a local activity, run by the worker that runs the workflow task. */
  firstAttempt: PortalSync;
  /** Every later attempt: a regular activity under the retry policy. */
  retried: PortalSync;
}

/**
 * A sync's first attempt runs as a local activity inside the workflow task that decided it: no
 * activity task to schedule, hand out and report, so a change costs the history a marker instead of
 * three events per portal, and both portals' first attempts share one workflow task. It gets one
 * try and a bounded time, because a local activity keeps its workflow task open (the worker
 * heartbeats it, and a dead worker is noticed when it times out) and has no heartbeats of its own
 * to resume from. Cancelling waits for it to stop, as for the retries.
 */
function portalSyncs(localAttemptTimeoutMs: number): Record<PortalName, PortalSyncs> {
  const firstAttemptOptions = {
    startToCloseTimeout: localAttemptTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 1, nonRetryableErrorTypes },
  } as const;
  const caseWare = proxyLocalActivities<CaseWareActivities>({ ...firstAttemptOptions, summary: caseWareSummary });
  const clientOnline = proxyLocalActivities<ClientOnlineActivities>({ ...firstAttemptOptions, summary: clientOnlineSummary });
  return {
    caseware: { label: 'CaseWare Cloud', firstAttempt: caseWare.syncClientToCaseWare, retried: caseWareRetried.syncClientToCaseWare },
    clientOnline: { label: 'Client Online', firstAttempt: clientOnline.syncClientToClientOnline, retried: clientOnlineRetried.syncClientToClientOnline },
  };
}

/**
 * What made an attempt fail. A local activity's own failure reaches the workflow as it is; a
 * timeout or cancellation, and every failure of a regular activity, wrapped in an ActivityFailure.
 */
function causeOf(error: unknown): unknown {
  return error instanceof ActivityFailure ? error.cause : error;
}

/** The first attempt failed in a way a retry may fix: transport trouble, or it ran out of time. */
function retryable(error: unknown): boolean {
  const cause = causeOf(error);
  if (cause instanceof ApplicationFailure) {
    return !cause.nonRetryable && !nonRetryableErrorTypes.includes(cause.type ?? '');
  }
  return true;
}

/**
 * One sync of a portal: the local first attempt and, should it fail retryably, the regular
 * activity with its heartbeats and unlimited retries, after the pause the retry policy (or the
 * portal, by its Retry-After) asks for. A retry never redoes what the attempt before it finished:
 * the activities compare with the ledger, which the failed attempt brought up to date as it went.
 */
async function syncPortal(sync: PortalSyncs, run: SyncClientInput): Promise<{ held?: SyncHold }> {
  try {
    return await sync.firstAttempt(run);
  } catch (error) {
    if (isCancellation(error) || !retryable(error)) throw error;
    const cause = causeOf(error);
    await sleep((cause instanceof ApplicationFailure ? cause.nextRetryDelay : undefined) ?? firstRetryDelay);
    return sync.retried(run);
  }
}

/**
 * A sync that met a hold (an operator holds the portal; or creations wait for the approval of the
 * credentials-mail guard) did not bring the portal to the registry: the portal keeps its applied
 * horizon, so the client stays pending there, and the event that ends the hold syncs it again.
 */
function metAHold(summary: { held?: SyncHold } | undefined): boolean {
  return summary?.held !== undefined;
}

function failureMessage(error: unknown): string {
  const cause = causeOf(error);
  return (cause instanceof Error ? cause.message : undefined) ?? String(error);
}

/**
 * One workflow per client (id `client-<number>`): every registry change of the client or its
 * contacts signals it, and it brings each portal to the registry's current state. Each portal has
 * its own loop, so one portal being down never holds back the other. One that hangs slows the
 * other for as long as its local first attempt lasts (at most `localAttemptTimeoutMs`): that keeps
 * the workflow task open, so changes signalled meanwhile reach the workflow when the worker
 * heartbeats the task (every 8 s) or the attempt ends; the retries after it hold back nothing.
 * Changes that arrive while a sync runs are folded into the next one: a burst of edits costs one
 * or two syncs per portal and every portal ends at the newest state. Signals carry event ids and
 * commit horizons only.
 *
 * Progress is the commit horizon (src/outbox/dispatcher.ts): a signal above a portal's applied
 * horizon makes it dirty, and a sync scheduled after that signal covers every change below the
 * horizon, because it reads the registry after those transactions committed. A change that commits
 * late has a transaction id at or above every horizon signalled before, so it is never skipped.
 *
 * At a hand-over (history long enough) the runs of a portal that is stuck are cancelled rather
 * than awaited: the next run starts it again, and the healthy portal is not held back.
 */
export async function clientSyncWorkflow(input: ClientSyncInput): Promise<void> {
  let newestEventId = input.newestEventId ?? 0;
  let newestHorizon = input.newestHorizon ?? 0;
  const progress: Record<PortalName, PortalProgress> = {
    caseware: { ...(input.portals?.caseware ?? fresh) },
    clientOnline: { ...(input.portals?.clientOnline ?? fresh) },
  };

  setHandler(registryChangedSignal, ({ eventId, horizon }) => {
    newestEventId = Math.max(newestEventId, eventId);
    if (horizon !== undefined) newestHorizon = Math.max(newestHorizon, horizon);
    for (const portal of portalNames) {
      // A signal from a dispatcher older than the horizon carries none: sync to be safe.
      if (horizon === undefined || horizon > progress[portal].appliedHorizon) progress[portal].dirty = true;
    }
  });

  const portalSync = portalSyncs(input.localAttemptTimeoutMs ?? 30_000);
  const inFlight: Partial<Record<PortalName, CancellationScope>> = {};
  /** The portal's last sync met a hold: its changes wait for the release (or the approval). */
  const held: Partial<Record<PortalName, boolean>> = {};
  let syncs = 0;
  let handingOver = false;
  // What the Temporal Web UI shows as the workflow's current details.
  const portalState = (portal: PortalName) =>
    inFlight[portal] ? 'syncing' : progress[portal].dirty ? 'a change waits' : held[portal] ? 'held; the changes wait until the hold ends' : 'up to date';
  const showCurrentDetails = () => setCurrentDetails(portalNames.map((portal) => `${portalSync[portal].label}: ${portalState(portal)}`).join('; '));

  const portalLoop = async (portal: PortalName) => {
    const portalProgress = progress[portal];
    for (;;) {
      await condition(() => portalProgress.dirty || handingOver);
      if (handingOver) return;
      portalProgress.dirty = false;
      // Captured when the sync is scheduled: it reads the registry after every signal so far.
      const syncInput: SyncClientInput = { clientNumber: input.clientNumber, uptoEventId: newestEventId, horizon: newestHorizon };
      const scope = new CancellationScope();
      inFlight[portal] = scope;
      showCurrentDetails();
      held[portal] = false;
      try {
        held[portal] = metAHold(await scope.run(() => syncPortal(portalSync[portal], syncInput)));
      } catch (error) {
        if (isCancellation(error)) {
          // Cancelled by the hand-over: the next run syncs this portal again.
          portalProgress.dirty = true;
          return;
        }
        // Not retryable (a set-up problem): the activity recorded it as a sync error for the
        // operator; the next change tries again.
        log.warn(`${portalSync[portal].label} sync failed`, { clientNumber: input.clientNumber, error: failureMessage(error) });
      } finally {
        delete inFlight[portal];
      }
      if (!held[portal]) portalProgress.appliedHorizon = Math.max(portalProgress.appliedHorizon, syncInput.horizon ?? 0);
      showCurrentDetails();
      syncs += 1;
    }
  };
  const loops = Promise.all(portalNames.map(portalLoop));

  const caughtUp = () => portalNames.every((portal) => !progress[portal].dirty && !inFlight[portal]);
  const historyFull = () => workflowInfo().continueAsNewSuggested || syncs >= (input.syncsPerRun ?? 500);
  await untilIdleOrFull(caughtUp, historyFull, input.idleTimeout);
  handingOver = true;
  for (const scope of Object.values(inFlight)) scope.cancel();
  await loops;
  if (caughtUp() && !historyFull()) return;
  return continueAsNew<typeof clientSyncWorkflow>({ ...input, newestEventId, newestHorizon, portals: progress });
}

/**
 * Waits while changes keep coming: returns once the client has been caught up and idle for
 * `idleTimeout`, or once the history is long enough to hand over to a fresh run.
 */
async function untilIdleOrFull(caughtUp: () => boolean, historyFull: () => boolean, idleTimeout: Duration = '1 hour'): Promise<void> {
  for (;;) {
    await condition(() => caughtUp() || historyFull());
    if (historyFull()) return;
    const changed = await condition(() => !caughtUp(), idleTimeout);
    if (!changed) return;
  }
}
