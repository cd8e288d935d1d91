import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** Shared by the offboarding workflow and its callers (API, CLI). */

export type OffboardingStage = 'running' | 'awaiting-approval' | 'completed' | 'cancelled' | 'failed';

export interface OffboardingProgress {
  stage: OffboardingStage;
  /** The step being carried out, 1-based; 0 before the first. */
  step: number;
  steps: number;
}

export const approveOffboardingUpdate = defineUpdate<OffboardingProgress, [{ approvedBy: string }]>('approve');
export const cancelOffboardingUpdate = defineUpdate<OffboardingProgress, [{ cancelledBy: string }]>('cancel');
export const offboardingProgressQuery = defineQuery<OffboardingProgress>('progress');

/** Readable in the Temporal Web UI: where an offboarding is, and which clients it changes (numbers only). */
export const offboardingStageSearchAttribute = defineSearchAttributeKey('OffboardingStage', 'KEYWORD');
export const offboardingClientsSearchAttribute = defineSearchAttributeKey('OffboardingClients', 'KEYWORD_LIST');
/** The portals where the plan ends access: `caseware`, `clientOnline`. Set when it starts. */
export const offboardingPortalsSearchAttribute = defineSearchAttributeKey('OffboardingPortals', 'KEYWORD_LIST');

/**
 * The failure type with which applying a step is refused because the offboarding has finished
 * meanwhile (the API marked it failed); its details hold the status. The workflow then ends as is.
 */
export const offboardingFinishedFailure = 'OffboardingFinished';

/** A step the activities cannot find in the offboarding's stored steps. */
export const offboardingStepMissingFailure = 'OffboardingStepMissing';

export function offboardingWorkflowId(id: number): string {
  return `offboard-${id}`;
}
