import { ApplicationFailure } from '@temporalio/common';
import { offboardingPortals, type OffboardingPortal, type PortalEffects } from '../../src/domain/offboarding';
import { clientSyncStatus } from '../../src/registry/sync-status';
import type { SyncError } from '../../src/sync/sync-errors';
import { offboardingStepMissingFailure } from '../../workflows/offboarding-definitions';
import { withHeartbeats } from '../heartbeat';
import type { OffboardingContext, OffboardingStepRef, PortalWait, StepRefusal } from './types';

/**
 * The open sync errors at `portal` that refuse the step's change. A contact step: the errors of
 * that contact; at Client Online also a refused push of its client (the portal takes a client's
 * users in one push, so the contact's removal was refused with it), but not the client's data
 * conflicts (such as "no client user left"), which do not stop a push. A client step: any open
 * error of the client; once it is a former client nothing else is sent for it.
 */
function refusalsOf(step: { record_type: string; record_id: number }, portal: OffboardingPortal, errors: readonly SyncError[]): StepRefusal[] {
  const refusing = errors.filter((error) => {
    if (step.record_type === 'client') return true;
    if (error.recordType === 'contact') return error.recordId === step.record_id;
    return portal === 'clientOnline' && error.recordType === 'client' && error.code.startsWith('client-online-');
  });
  return refusing.map((error) => ({ portal, recordType: error.recordType, recordId: error.recordId, code: error.code, message: error.message }));
}

const portalLabels: Record<OffboardingPortal, string> = { caseware: 'CaseWare Cloud', clientOnline: 'Client Online' };

function refusalText(refused: readonly StepRefusal[]): string {
  return (
    refused.map((r) => `${portalLabels[r.portal]} refused it (${r.code}): ${r.message}`).join('; ') +
    '. The step waits until a later sync of the client gets the change through (after the cause is fixed; a new change of the client, ' +
    'the hourly reconcile, or POST /sync/clients/:number/resync runs one)'
  );
}

/**
 * Waits (heartbeating) until the step is done, for at most `maxWaitMs`; the workflow asks again
 * while it shows that it waits. Done means no portal is behind on the step's client, and no portal
 * the step changes refused it: the syncs mark a change applied also when a record was refused,
 * leaving a sync error, so a refused step would otherwise read done while the access it was to end
 * is still there. The refusal is written on the step (and cleared once done).
 */
export async function awaitOffboardingStep(
  { db, pollIntervalMs }: OffboardingContext,
  { offboardingId, step, clientNumber, maxWaitMs }: OffboardingStepRef & { clientNumber: string; maxWaitMs: number },
): Promise<PortalWait> {
  const row = await db('offboarding_steps')
    .where({ offboarding_id: offboardingId, step })
    .first<{ record_type: string; record_id: number; effects: PortalEffects; refusal: string | null } | undefined>(
      'record_type',
      'record_id',
      'effects',
      'refusal',
    );
  if (!row) throw ApplicationFailure.nonRetryable(`offboarding ${offboardingId} has no step ${step}`, offboardingStepMissingFailure);
  // The portals where the plan said the step changes something.
  const affected = offboardingPortals.filter((portal) => row.effects[portal].some((line) => line !== 'no change'));
  let recorded = row.refusal;
  const record = async (refusal: string | null) => {
    if (refusal === recorded) return;
    await db('offboarding_steps').where({ offboarding_id: offboardingId, step }).update({ refusal });
    recorded = refusal;
  };
  return withHeartbeats(async ({ signal }) => {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const status = await clientSyncStatus(db, clientNumber);
      const behind = offboardingPortals.filter((portal) => status[portal].state === 'pending');
      // While a portal is behind, its errors describe a state it is about to leave.
      const refused = behind.length > 0 ? [] : affected.flatMap((portal) => refusalsOf(row, portal, status[portal].errors));
      if (behind.length === 0 && refused.length === 0) {
        await db('offboarding_steps')
          .where({ offboarding_id: offboardingId, step })
          .whereNot({ status: 'done' })
          .update({ status: 'done', refusal: null, completed_at: db.fn.now() });
        return { caughtUp: true, behind, refused };
      }
      if (refused.length > 0) await record(refusalText(refused));
      if (Date.now() >= deadline || signal?.aborted) return { caughtUp: false, behind, refused };
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
    }
  });
}
