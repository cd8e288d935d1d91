import { setOffboardingStatus, type OffboardingStatus } from '../src/registry/offboardings';
import { applyOffboardingStep } from './offboarding/apply-step';
import { awaitOffboardingStep } from './offboarding/await-step';
import { loadOffboardingSteps } from './offboarding/load-steps';
import type { OffboardingActivityOptions, OffboardingContext } from './offboarding/types';

export type { OffboardingActivityOptions, OffboardingStepOutline, OffboardingStepRef, OffboardingSteps, PortalWait, StepRefusal } from './offboarding/types';

/** The offboarding workflow's activities: each a step of its own module (activities/offboarding/). */
export function createOffboardingActivities({ db, pollIntervalMs = 250 }: OffboardingActivityOptions) {
  const context: OffboardingContext = { db, pollIntervalMs };
  return {
    loadOffboardingSteps: (input: { offboardingId: number }) => loadOffboardingSteps(context, input),
    applyOffboardingStep: (input: Parameters<typeof applyOffboardingStep>[1]) => applyOffboardingStep(context, input),
    awaitOffboardingStep: (input: Parameters<typeof awaitOffboardingStep>[1]) => awaitOffboardingStep(context, input),
    async markOffboardingStatus({
      offboardingId,
      status,
      ...details
    }: {
      offboardingId: number;
      status: OffboardingStatus;
      approvedBy?: string;
      cancelledBy?: string;
      failure?: string;
    }): Promise<void> {
      await setOffboardingStatus(db, offboardingId, status, details);
    },
  };
}

export type OffboardingActivities = ReturnType<typeof createOffboardingActivities>;
