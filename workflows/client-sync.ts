import { ActivityCancellationType, type Duration, type RetryPolicy } from '@temporalio/common';
import {
  ActivityFailure,
  CancellationScope,
  condition,
  isCancellation,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { CaseWareActivities, SyncClientInput } from '../activities/caseware';
import type { ClientOnlineActivities } from '../activities/client-online';
import type { SyncHold } from '../src/sync/portal-holds';
import { registryChangedSignal } from './definitions';

export interface ClientSyncInput {
  clientNumber: string;
  /** Per portal: the commit horizon it has applied and whether a change above it waits (carried over by continue-as-new). */
  portals?: Record<PortalName, PortalProgress>;
  /** The newest event id and commit horizon signalled so far (carried over by continue-as-new). */
  newestEventId?: number;
  newestHorizon?: number;
  /** Legacy (runs before the commit horizon): the newest registry change every portal has received. */
  appliedEventId?: number;
  /** Legacy: per portal, where they differ. */
  appliedEventIds?: Partial<Record<PortalName, number>>;
  /** Legacy: a change signalled to the previous run that it had not synced yet. */
  pendingEventId?: number;
  /** How long the workflow waits for another change before it finishes; the next change starts it again. */
  idleTimeout?: Duration;
  /** Syncs after which a run hands over to a fresh one (continue-as-new), keeping its history short. */
  syncsPerRun?: number;
}

type PortalName = 'caseware' | 'clientOnline';
const portalNames = ['caseware', 'clientOnline'] as const;

interface PortalProgress {
  /** Every transaction below this horizon had committed before a finished sync read the registry. */
  appliedHorizon: number;
  /** A change above the applied horizon has been signalled and not synced yet. */
  dirty: boolean;
}

const syncRetry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  // Unlimited attempts for transport trouble: a portal that is down gets the change when it is back.
  // These are rule or set-up problems a retry cannot fix; they surface as sync errors instead.
  nonRetryableErrorTypes: ['ConfigurationError', 'RegistryRecordMissing'],
};

// Heartbeats are the liveness check (activities/heartbeat.ts): a dead worker is noticed within 20
// seconds, while a large client may take long. Cancelling waits for the attempt to stop, so that a
// hand-over never leaves an attempt running beside the next run's.
const activityOptions = {
  heartbeatTimeout: '20 seconds',
  startToCloseTimeout: '1 hour',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: syncRetry,
} as const;
const { syncClientToCaseWare } = proxyActivities<CaseWareActivities>({
  ...activityOptions,
  summary: "writes what changed in the client's registry records to CaseWare Cloud",
});
const { syncClientToClientOnline } = proxyActivities<ClientOnlineActivities>({
  ...activityOptions,
  summary: "pushes the client's state to Client Online when it changed",
});

const portalSyncs: Record<PortalName, { label: string; sync: (input: SyncClientInput) => Promise<{ held?: SyncHold }> }> = {
  caseware: { label: 'CaseWare Cloud', sync: syncClientToCaseWare },
  clientOnline: { label: 'Client Online', sync: syncClientToClientOnline },
};

/**
 * A sync that met a hold (an operator holds the portal; or creations wait for the approval of the
 * credentials-mail guard) did not bring the portal to the registry: the portal keeps its applied
 * horizon, so the client stays pending there, and the event that ends the hold syncs it again.
 */
function metAHold(summary: { held?: SyncHold } | undefined): boolean {
  return summary?.held !== undefined;
}

function failureMessage(error: unknown): string {
  return (error instanceof ActivityFailure ? error.cause?.message : undefined) ?? String(error);
}

/**
 * One workflow per client (id `client-<number>`): every registry change of the client or its
 * contacts signals it, and it brings each portal to the registry's current state. Each portal has
 * its own loop, so one portal being down never holds back the other. Changes that arrive while a
 * sync runs are folded into the next one: a burst of edits costs one or two syncs per portal and
 * every portal ends at the newest state. Signals carry event ids and commit horizons only.
 */
export async function clientSyncWorkflow(input: ClientSyncInput): Promise<void> {
  if (!patched('portal-loops')) return caseWareOnlyLoop(input);
  if (patched('commit-horizon')) return horizonLoops(input);
  return eventIdLoops(input);
}

/**
 * Progress is the commit horizon (src/outbox/dispatcher.ts): a signal above a portal's applied
 * horizon makes it dirty, and a sync scheduled after that signal covers every change below the
 * horizon, because it reads the registry after those transactions committed. A change that commits
 * late has a transaction id at or above every horizon signalled before, so it is never skipped.
 *
 * At a hand-over (history long enough) the runs of a portal that is stuck are cancelled rather
 * than awaited: the next run starts it again, and the healthy portal is not held back.
 */
async function horizonLoops(input: ClientSyncInput): Promise<void> {
  let newestEventId = input.newestEventId ?? Math.max(input.appliedEventId ?? 0, input.pendingEventId ?? 0);
  let newestHorizon = input.newestHorizon ?? 0;
  const progress: Record<PortalName, PortalProgress> = input.portals
    ? { caseware: { ...input.portals.caseware }, clientOnline: { ...input.portals.clientOnline } }
    : fromLegacyRun(input);

  setHandler(registryChangedSignal, ({ eventId, horizon }) => {
    newestEventId = Math.max(newestEventId, eventId);
    if (horizon !== undefined) newestHorizon = Math.max(newestHorizon, horizon);
    for (const portal of portalNames) {
      // A signal from a dispatcher older than the horizon carries none: sync to be safe.
      if (horizon === undefined || horizon > progress[portal].appliedHorizon) progress[portal].dirty = true;
    }
  });

  const inFlight: Partial<Record<PortalName, CancellationScope>> = {};
  /** The portal's last sync met a hold: its changes wait for the release (or the approval). */
  const held: Partial<Record<PortalName, boolean>> = {};
  let syncs = 0;
  let handingOver = false;
  // What the Temporal Web UI shows as the workflow's current details.
  const portalState = (portal: PortalName) =>
    inFlight[portal] ? 'syncing' : progress[portal].dirty ? 'a change waits' : held[portal] ? 'held; the changes wait until the hold ends' : 'up to date';
  const tell = () => setCurrentDetails(portalNames.map((portal) => `${portalSyncs[portal].label}: ${portalState(portal)}`).join('; '));

  const portalLoop = async (portal: PortalName) => {
    const own = progress[portal];
    for (;;) {
      await condition(() => own.dirty || handingOver);
      if (handingOver) return;
      own.dirty = false;
      // Captured when the sync is scheduled: it reads the registry after every signal so far.
      const run: SyncClientInput = { clientNumber: input.clientNumber, uptoEventId: newestEventId, horizon: newestHorizon };
      const scope = new CancellationScope();
      inFlight[portal] = scope;
      tell();
      held[portal] = false;
      try {
        held[portal] = metAHold(await scope.run(() => portalSyncs[portal].sync(run)));
      } catch (error) {
        if (isCancellation(error)) {
          // Cancelled by the hand-over: the next run syncs this portal again.
          own.dirty = true;
          return;
        }
        // Not retryable (a set-up problem): the activity recorded it as a sync error for the
        // operator; the next change tries again.
        log.warn(`${portalSyncs[portal].label} sync failed`, { clientNumber: input.clientNumber, error: failureMessage(error) });
      } finally {
        delete inFlight[portal];
      }
      if (!held[portal]) own.appliedHorizon = Math.max(own.appliedHorizon, run.horizon ?? 0);
      tell();
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
  return continueAsNew<typeof clientSyncWorkflow>({ ...withoutLegacyProgress(input), newestEventId, newestHorizon, portals: progress });
}

/** The settings of a run, without what an older version carried as its progress. */
function withoutLegacyProgress(input: ClientSyncInput): ClientSyncInput {
  return { ...input, appliedEventId: undefined, appliedEventIds: undefined, pendingEventId: undefined };
}

/**
 * A run continued from a run before the commit horizon knows event ids only, which say nothing
 * about a horizon: if the old run had a change left to sync, both portals sync once. A first
 * version (CaseWare only) run's applied id is CaseWare's alone; Client Online has applied nothing.
 */
function fromLegacyRun(input: ClientSyncInput): Record<PortalName, PortalProgress> {
  const applied = {
    caseware: input.appliedEventIds?.caseware ?? input.appliedEventId ?? 0,
    clientOnline: input.appliedEventIds?.clientOnline ?? 0,
  };
  const pending = input.pendingEventId ?? 0;
  const dirty = pending > 0 && (pending > applied.caseware || pending > applied.clientOnline);
  return { caseware: { appliedHorizon: 0, dirty }, clientOnline: { appliedHorizon: 0, dirty } };
}

/**
 * The second version (event ids, both portals): kept so that its runs replay and finish as they
 * began. Its syncs also pass the newest horizon signalled, so its portals' applied horizons move
 * on; and a run that ends idle with a change it ignored (a lower event id that committed late)
 * hands over to the current version instead of finishing with it unsynced.
 */
async function eventIdLoops(input: ClientSyncInput): Promise<void> {
  let newest = Math.max(input.appliedEventId ?? 0, input.pendingEventId ?? 0);
  const horizons = legacyHorizons();
  setHandler(registryChangedSignal, ({ eventId, horizon }) => {
    horizons.seen(eventId > newest, horizon);
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
        await portalSyncs[portal].sync({ clientNumber: input.clientNumber, uptoEventId: upto, horizon: horizons.newest });
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
  await untilIdleOrFull(caughtUp, historyFull, input.idleTimeout);
  // A loop in the middle of a sync finishes it first.
  stopping = true;
  await loops;
  if (caughtUp() && !historyFull()) return horizons.handOver(input, newest, { onlyIfIgnored: true });
  return continueAsNew<typeof clientSyncWorkflow>(
    horizons.nextRunInput(input, newest) ?? {
      ...input,
      appliedEventId: undefined,
      appliedEventIds: { ...applied },
      pendingEventId: newest,
    },
  );
}

/**
 * The first version, CaseWare Cloud only: kept so that workflows started before Client Online
 * existed replay and finish as they began (test/fixtures/histories).
 */
async function caseWareOnlyLoop(input: ClientSyncInput): Promise<void> {
  let applied = input.appliedEventId ?? 0;
  let newest = Math.max(applied, input.pendingEventId ?? 0);
  const horizons = legacyHorizons();
  setHandler(registryChangedSignal, ({ eventId, horizon }) => {
    horizons.seen(eventId > newest, horizon);
    if (eventId > newest) newest = eventId;
  });

  for (let syncs = 0; ; syncs += 1) {
    const changed = await condition(() => newest > applied, input.idleTimeout ?? '1 hour');
    // This version never syncs Client Online: after the upgrade, hand over to one that does.
    if (!changed) return horizons.handOver(input, newest, { onlyIfIgnored: false });
    const upto = newest;
    try {
      await syncClientToCaseWare({ clientNumber: input.clientNumber, uptoEventId: upto, horizon: horizons.newest });
    } catch (error) {
      log.warn('CaseWare Cloud sync failed', { clientNumber: input.clientNumber, error: failureMessage(error) });
    }
    applied = upto;
    if (workflowInfo().continueAsNewSuggested || syncs >= 500) {
      return continueAsNew<typeof clientSyncWorkflow>(
        horizons.nextRunInput(input, newest) ?? { ...input, appliedEventId: applied, pendingEventId: newest },
      );
    }
  }
}

/**
 * What a run of an older version learns of commit horizons from the signals it gets after the
 * upgrade. Its event-id logic ignores a signal whose id is not above the newest it has seen, even
 * when it announces a change that committed late; such a run hands over to the current version
 * when it would otherwise finish idle, and that run syncs both portals.
 */
function legacyHorizons() {
  let ignored = false;
  const state = {
    newest: 0,
    seen(accepted: boolean, horizon: number | undefined) {
      if (horizon === undefined) return;
      state.newest = Math.max(state.newest, horizon);
      if (!accepted) ignored = true;
    },
    /**
     * After the upgrade, what the next run starts from: both portals sync once, since event ids
     * cannot tell whether a late-committed change was ignored. Before it (no horizon seen):
     * undefined, and the run hands over as it always did.
     */
    nextRunInput(input: ClientSyncInput, newestEventId: number): ClientSyncInput | undefined {
      if (state.newest === 0) return undefined;
      const dirty = { appliedHorizon: 0, dirty: true };
      return {
        ...withoutLegacyProgress(input),
        newestEventId,
        newestHorizon: state.newest,
        portals: { caseware: { ...dirty }, clientOnline: { ...dirty } },
      };
    },
    async handOver(input: ClientSyncInput, newestEventId: number, { onlyIfIgnored }: { onlyIfIgnored: boolean }): Promise<void> {
      // Runs from before the upgrade never received a horizon, so they finish as they always did
      // (and their recorded histories never reach patched()).
      const next = state.nextRunInput(input, newestEventId);
      if (!next || (onlyIfIgnored && !ignored) || !patched('commit-horizon-handover')) return;
      return continueAsNew<typeof clientSyncWorkflow>(next);
    },
  };
  return state;
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
