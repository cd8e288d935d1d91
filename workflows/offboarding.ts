import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
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

/**
 * One offboarding (id `offboard-<id>`): the bottom-up plan's steps, one at a time. Each step makes
 * its registry change and waits until every affected portal has applied it before the next one
 * starts, so Client Online never meets a login it does not know. A portal that is down holds the
 * step, and the workflow says so; it goes on when the portal is back. The plan itself stays in the
 * registry: this history carries offboarding and step numbers only.
 */
export async function offboardingWorkflow(input: OffboardingInput): Promise<OffboardingProgress> {
  const { offboardingId } = input;
  const portalWaitMs = input.portalWaitMs ?? 5 * 60_000;
  // Handlers first: an approve or cancel may arrive with the workflow's very first task.
  const progress: OffboardingProgress = { stage: input.approvalRequired ? 'awaiting-approval' : 'running', step: 0, steps: 0 };
  let cancelledBy: string | undefined;

  const enter = (stage: OffboardingStage, details: string) => {
    progress.stage = stage;
    upsertSearchAttributes([{ key: offboardingStageSearchAttribute, value: stage }]);
    setCurrentDetails(details);
  };

  setHandler(offboardingProgressQuery, () => progress);
  setHandler(
    approveOffboardingUpdate,
    async ({ approvedBy }) => {
      await markOffboardingStatus({ offboardingId, status: 'running', approvedBy });
      enter('running', 'approved; carrying out the plan');
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
      cancelledBy = request.cancelledBy;
      // Recorded at once, so the operator sees the cancel before the step under way has finished.
      await markOffboardingStatus({ offboardingId, status: progress.stage === 'awaiting-approval' ? 'awaiting-approval' : 'running', cancelledBy });
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

  const { finished, steps } = await loadOffboardingSteps({ offboardingId });
  progress.steps = steps.length;
  if (finished !== null) {
    // The API marked it finished (failed) before this run began, not knowing that Temporal had
    // started it: nothing is done, and the record stays as it is.
    enter(finished, `offboarding ${offboardingId} had already finished (${finished}) when its workflow began; nothing was done`);
    return progress;
  }
  if (input.approvalRequired) {
    enter('awaiting-approval', `waiting for a person to approve: the plan removes more than the threshold allows`);
    await condition(() => progress.stage === 'running' || cancelledBy !== undefined);
  } else {
    enter('running', `carrying out ${steps.length} steps`);
  }

  try {
    for (const step of steps) {
      if (cancelledBy !== undefined) break;
      progress.step = step.step;
      setCurrentDetails(`step ${step.step} of ${steps.length}: ${step.summary}`);
      await applyOffboardingStep({ offboardingId, step: step.step });
      for (let round = 0; ; round += 1) {
        // The first wait is short, so that a portal that is down is named within seconds.
        const maxWaitMs = round === 0 ? Math.min(firstPortalWaitMs, portalWaitMs) : portalWaitMs;
        const wait = await awaitOffboardingStep({ offboardingId, step: step.step, clientNumber: step.clientNumber, maxWaitMs });
        if (wait.caughtUp) break;
        if (wait.refused.length > 0) {
          // Refused is not done: the access is still there. It waits for a later sync to get it through.
          const refusals = [...new Set(wait.refused.map((r) => `${portalLabels[r.portal]} (${r.code}, ${r.recordType} ${r.recordId})`))];
          setCurrentDetails(
            `step ${step.step} of ${steps.length}: refused by ${refusals.join(' and ')}; waiting for a later sync of client ` +
              `${step.clientNumber} to get the change through (GET /offboardings/${offboardingId})`,
          );
        } else {
          setCurrentDetails(
            `step ${step.step} of ${steps.length}: waiting for ${wait.behind.map((p) => portalLabels[p]).join(' and ')} ` +
              `to apply the change to client ${step.clientNumber}`,
          );
        }
        // A cancel ends the wait: a step a portal keeps refusing must not hold the offboarding for ever.
        if (cancelledBy !== undefined) break;
      }
    }
  } catch (error) {
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === offboardingFinishedFailure) {
      // Finished elsewhere meanwhile (the API marked it failed): the record stays as it is.
      const status = (error.cause.details?.[0] as OffboardingStage | undefined) ?? 'failed';
      enter(status, `offboarding ${offboardingId} was finished elsewhere (${status}) before step ${progress.step}; nothing more was done`);
      return progress;
    }
    // A step no retry can carry out: the offboarding stops where it is, and says so; its records are released.
    const failure = error instanceof ActivityFailure ? (error.cause?.message ?? error.message) : String(error);
    await markOffboardingStatus({ offboardingId, status: 'failed', failure: `step ${progress.step} of ${steps.length}: ${failure}` });
    enter('failed', `failed at step ${progress.step} of ${steps.length}`);
    return progress;
  }

  const finalStage: OffboardingStage = cancelledBy !== undefined ? 'cancelled' : 'completed';
  await markOffboardingStatus({ offboardingId, status: finalStage, ...(cancelledBy ? { cancelledBy } : {}) });
  enter(finalStage, finalStage === 'cancelled' ? `cancelled after step ${progress.step} of ${steps.length}` : `all ${steps.length} steps done`);
  return progress;
}
