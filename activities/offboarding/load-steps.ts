import { getOffboarding } from '../../src/registry/offboardings';
import type { OffboardingContext, OffboardingSteps } from './types';

/**
 * The plan's steps as stored when the offboarding was requested, and whether the offboarding has
 * finished already: the API marks it failed when it could not tell that Temporal started it, and a
 * workflow that starts all the same must then change nothing.
 */
export async function loadOffboardingSteps({ db }: OffboardingContext, { offboardingId }: { offboardingId: number }): Promise<OffboardingSteps> {
  const offboarding = await getOffboarding(db, offboardingId);
  return {
    finished: offboarding.finishedAt === null ? null : offboarding.status,
    steps: offboarding.steps.map((s) => ({ step: s.step, clientNumber: s.clientNumber, summary: s.summary })),
  };
}
