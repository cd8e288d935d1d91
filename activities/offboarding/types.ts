import type { Db } from '../../src/db';
import type { OffboardingPortal } from '../../src/domain/offboarding';
import type { OffboardingStatus } from '../../src/registry/offboardings';

// The offboarding activities' inputs and answers: ids and client numbers only.

export interface OffboardingStepRef {
  offboardingId: number;
  step: number;
}

/** What the workflow needs of a step: ids and client numbers only. */
export interface OffboardingStepOutline {
  step: number;
  clientNumber: string;
  summary: string;
}

/** A portal's refusal of a step's change: one of its open sync errors (ids and codes; messages name ids only). */
export interface StepRefusal {
  portal: OffboardingPortal;
  recordType: string;
  recordId: number;
  code: string;
  message: string;
}

export interface OffboardingSteps {
  /** The status of an offboarding that has finished already (failed, cancelled, completed); null while it has not. */
  finished: OffboardingStatus | null;
  steps: OffboardingStepOutline[];
}

export interface PortalWait {
  /** Every portal has applied the step's change, and none refused it: the step is done. */
  caughtUp: boolean;
  /** The portals that have not yet applied the step's change. */
  behind: OffboardingPortal[];
  /** What a portal refused of it: the step waits for a later sync to get it through. */
  refused: StepRefusal[];
}

export interface OffboardingActivityOptions {
  db: Db;
  /** How often a waiting step looks at the sync status. */
  pollIntervalMs?: number;
}

/** What every offboarding activity works with. */
export interface OffboardingContext {
  db: Db;
  pollIntervalMs: number;
}
