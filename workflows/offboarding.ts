import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OffboardingActivities } from '../activities/offboarding';
import {
  approveOffboardingUpdate,
  cancelOffboardingUpdate,
  offboardingFinishedFailure,
  offboardingProgressQuery,
  offboardingStageSearchAttribute,
  type OffboardingProgress,
  type OffboardingStage,
} from './offboarding-definitions';

export interface OffboardingInput {
  offboardingId: number;
  /** The plan removes more than the firm's threshold: nothing happens until a person approves. */
  approvalRequired: boolean;
  /** How long one wait for the portals lasts before the workflow asks again; default 5 minutes. */
  portalWaitMs?: number;
  /** Waits for the portals in one run before it continues as new (sooner when Temporal suggests it); default 500. */
  roundsPerRun?: number;
  /** What a run hands the next at continue-as-new; absent on the first run. */
  carried?: OffboardingCarried;
}

/**
 * A run continues as new only while it carries out the plan, so the next run is past approval
 * (given, or not needed). It goes on with the step it was waiting for: applying that step again
 * changes nothing (the activity sees it applied), and it waits for the portals as before.
 */
export interface OffboardingCarried {
  step: number;
  /** A cancel that arrived just before the run continued: the next run stops before its next step. */
  cancelledBy?: string;
}

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' } as const;
const { loadOffboardingSteps, applyOffboardingStep, markOffboardingStatus } = proxyActivities<OffboardingActivities>({
  startToCloseTimeout: '1 minute',
  retry,
});
const { awaitOffboardingStep } = proxyActivities<OffboardingActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '20 seconds',
  retry,
});

const portalLabels = { caseware: 'CaseWare Cloud', clientOnline: 'Client Online' } as const;
const firstPortalWaitMs = 5_000;
/** A few events per wait: far from Temporal's history limits however long a portal stays down. */
const defaultRoundsPerRun = 500;

/** What the workflow and its update handlers share while a run goes on. */
interface OffboardingState {
  readonly offboardingId: number;
  readonly progress: OffboardingProgress;
  /** Who cancelled it: set by the cancel update, or carried over from the previous run. */
  cancelledBy: string | undefined;
  /** Waits for the portals in this run; past `roundsPerRun` the run continues as new. */
  rounds: number;
}

type OffboardingStep = Awaited<ReturnType<OffboardingActivities['loadOffboardingSteps']>>['steps'][number];

function enter(state: OffboardingState, stage: OffboardingStage, details: string): void {
  state.progress.stage = stage;
  upsertSearchAttributes([{ key: offboardingStageSearchAttribute, value: stage }]);
  setCurrentDetails(details);
}

/** The progress query, and the approve and cancel updates with their validators. */
function handleQueriesAndDecisions(state: OffboardingState): void {
  const { offboardingId, progress } = state;
  setHandler(offboardingProgressQuery, () => progress);
  setHandler(
    approveOffboardingUpdate,
    async ({ approvedBy }) => {
      await markOffboardingStatus({ offboardingId, status: 'running', approvedBy });
      enter(state, 'running', 'approved; carrying out the plan');
      return progress;
    },
    {
      validator: (_request: { approvedBy: string }) => {
        if (progress.stage !== 'awaiting-approval') throw new Error(`offboarding ${offboardingId} is not awaiting approval (it is ${progress.stage})`);
      },
    },
  );
  setHandler(
    cancelOffboardingUpdate,
    async (request) => {
      state.cancelledBy = request.cancelledBy;
      // Recorded at once, so the operator sees the cancel before the step under way has finished.
      await markOffboardingStatus({
        offboardingId,
        status: progress.stage === 'awaiting-approval' ? 'awaiting-approval' : 'running',
        cancelledBy: state.cancelledBy,
      });
      return progress;
    },
    {
      validator: (_request: { cancelledBy: string }) => {
        if (progress.stage !== 'running' && progress.stage !== 'awaiting-approval') {
          throw new Error(`offboarding ${offboardingId} has already finished (${progress.stage})`);
        }
      },
    },
  );
}

/** Before the first step: says where the run begins, and waits for approval when the plan needs it. */
async function awaitGoAhead(state: OffboardingState, input: OffboardingInput, stepCount: number): Promise<void> {
  const { offboardingId, progress } = state;
  if (input.carried) {
    setCurrentDetails(`continued at step ${input.carried.step} of ${stepCount}`);
  } else if (input.approvalRequired) {
    // An approve that came with the first task may have been carried out while the steps loaded.
    if (progress.stage === 'awaiting-approval') enter(state, 'awaiting-approval', `waiting for a person to approve (GET /offboardings/${offboardingId} says why)`);
    await condition(() => progress.stage === 'running' || state.cancelledBy !== undefined);
  } else {
    enter(state, 'running', `carrying out ${stepCount} steps`);
  }
}

/** What the workflow says while a step waits for the portals. */
function describeWait(
  state: OffboardingState,
  step: OffboardingStep,
  stepCount: number,
  wait: Awaited<ReturnType<OffboardingActivities['awaitOffboardingStep']>>,
): string {
  if (wait.refused.length > 0) {
    // Refused is not done: the access is still there. It waits for a later sync to get it through.
    const refusals = [...new Set(wait.refused.map((r) => `${portalLabels[r.portal]} (${r.code}, ${r.recordType} ${r.recordId})`))];
    return (
      `step ${step.step} of ${stepCount}: refused by ${refusals.join(' and ')}; waiting for a later sync of client ` +
      `${step.clientNumber} to get the change through (GET /offboardings/${state.offboardingId})`
    );
  }
  return (
    `step ${step.step} of ${stepCount}: waiting for ${wait.behind.map((p) => portalLabels[p]).join(' and ')} ` +
    `to apply the change to client ${step.clientNumber}`
  );
}

interface CarryOutOptions {
  portalWaitMs: number;
  roundsPerRun: number;
}

/** The steps from `first` on; the step to go on with in a new run when this one's history is full. */
async function carryOut(state: OffboardingState, steps: OffboardingStep[], first: number, options: CarryOutOptions): Promise<{ continueAt?: number }> {
  const { offboardingId, progress } = state;
  const historyFull = () => workflowInfo().continueAsNewSuggested || state.rounds >= options.roundsPerRun;
  for (const step of steps) {
    if (step.step < first) continue;
    if (state.cancelledBy !== undefined) break;
    progress.step = step.step;
    setCurrentDetails(`step ${step.step} of ${steps.length}: ${step.summary}`);
    await applyOffboardingStep({ offboardingId, step: step.step });
    for (let round = 0; ; round += 1) {
      // The first wait is short, so that a portal that is down is named within seconds.
      const maxWaitMs = round === 0 ? Math.min(firstPortalWaitMs, options.portalWaitMs) : options.portalWaitMs;
      const wait = await awaitOffboardingStep({ offboardingId, step: step.step, clientNumber: step.clientNumber, maxWaitMs });
      state.rounds += 1;
      if (wait.caughtUp) break;
      setCurrentDetails(describeWait(state, step, steps.length, wait));
      // A cancel ends the wait: a step a portal keeps refusing must not hold the offboarding for ever.
      if (state.cancelledBy !== undefined) break;
      if (historyFull()) return { continueAt: step.step };
    }
  }
  return {};
}

/** A step failed for good, or the offboarding was finished elsewhere: it stops where it is, and says so. */
async function stopOnFailure(state: OffboardingState, error: unknown, stepCount: number): Promise<OffboardingProgress> {
  const { offboardingId, progress } = state;
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === offboardingFinishedFailure) {
    // Finished elsewhere meanwhile (the API marked it failed): the record stays as it is.
    const status = (error.cause.details?.[0] as OffboardingStage | undefined) ?? 'failed';
    enter(state, status, `offboarding ${offboardingId} was finished elsewhere (${status}) before step ${progress.step}; nothing more was done`);
    return progress;
  }
  // A step no retry can carry out: the offboarding stops where it is, and says so; its records are released.
  const failure = error instanceof ActivityFailure ? (error.cause?.message ?? error.message) : String(error);
  if (!allHandlersFinished()) await condition(allHandlersFinished);
  await markOffboardingStatus({ offboardingId, status: 'failed', failure: `step ${progress.step} of ${stepCount}: ${failure}` });
  enter(state, 'failed', `failed at step ${progress.step} of ${stepCount}`);
  return progress;
}

/**
 * One offboarding (id `offboard-<id>`): the bottom-up plan's steps, one at a time. Each step makes
 * its registry change and waits until every affected portal has applied it before the next one
 * starts, so Client Online never meets a login it does not know. A portal that is down holds the
 * step, and the workflow says so; it goes on when the portal is back, continuing as new while it
 * waits so that weeks of waiting never fill its history. The plan itself stays in the registry:
 * this history carries offboarding and step numbers only.
 */
export async function offboardingWorkflow(input: OffboardingInput): Promise<OffboardingProgress> {
  const { offboardingId, carried } = input;
  // Handlers first: an approve or cancel may arrive with the workflow's very first task.
  const state: OffboardingState = {
    offboardingId,
    progress: { stage: input.approvalRequired && !carried ? 'awaiting-approval' : 'running', step: carried?.step ?? 0, steps: 0 },
    cancelledBy: carried?.cancelledBy,
    rounds: 0,
  };
  const { progress } = state;
  handleQueriesAndDecisions(state);

  const { finished, steps } = await loadOffboardingSteps({ offboardingId });
  progress.steps = steps.length;
  if (finished !== null) {
    // The API marked it finished (failed) before this run began, not knowing that Temporal had
    // started it: nothing is done, and the record stays as it is.
    enter(state, finished, `offboarding ${offboardingId} had already finished (${finished}) when its workflow began; nothing was done`);
    return progress;
  }
  await awaitGoAhead(state, input, steps.length);

  let continueAt: number | undefined;
  try {
    const options = { portalWaitMs: input.portalWaitMs ?? 5 * 60_000, roundsPerRun: input.roundsPerRun ?? defaultRoundsPerRun };
    ({ continueAt } = await carryOut(state, steps, carried?.step ?? 1, options));
  } catch (error) {
    return stopOnFailure(state, error, steps.length);
  }

  if (continueAt !== undefined) {
    // An approve or cancel under way finishes in this run (a cancel is carried over).
    await condition(allHandlersFinished);
    return continueAsNew<typeof offboardingWorkflow>({ ...input, carried: { step: continueAt, ...(state.cancelledBy !== undefined ? { cancelledBy: state.cancelledBy } : {}) } });
  }

  // An approve or cancel still being recorded is answered, and its record written, before the final one.
  if (!allHandlersFinished()) await condition(allHandlersFinished);
  const { cancelledBy } = state;
  const finalStage: OffboardingStage = cancelledBy !== undefined ? 'cancelled' : 'completed';
  await markOffboardingStatus({ offboardingId, status: finalStage, ...(cancelledBy ? { cancelledBy } : {}) });
  enter(state, finalStage, finalStage === 'cancelled' ? `cancelled after step ${progress.step} of ${steps.length}` : `all ${steps.length} steps done`);
  return progress;
}
