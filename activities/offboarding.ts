import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../src/db';
import { offboardingPortals, type OffboardingPortal, type PortalEffects } from '../src/domain/offboarding';
import { getOffboarding, setOffboardingStatus, type OffboardingStatus } from '../src/registry/offboardings';
import { getClient, updateClient } from '../src/registry/clients';
import { getContact, setContactLinks } from '../src/registry/contacts';
import { isRegistryError } from '../src/registry/errors';
import { endContactMaster } from '../src/registry/masters';
import { clientSyncStatus, type SyncError } from '../src/registry/sync-status';
import { offboardingFinishedFailure, offboardingStepMissingFailure } from '../workflows/offboarding-definitions';
import { withHeartbeats } from './heartbeat';

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

const portalsOf: Record<OffboardingPortal, 'caseware' | 'clientOnline'> = { caseware: 'caseware', clientOnline: 'clientOnline' };

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

export function createOffboardingActivities({ db, pollIntervalMs = 250 }: OffboardingActivityOptions) {
  return {
    /**
     * The plan's steps as stored when the offboarding was requested, and whether the offboarding has
     * finished already: the API marks it failed when it could not tell that Temporal started it,
     * and a workflow that starts all the same must then change nothing.
     */
    async loadOffboardingSteps({ offboardingId }: { offboardingId: number }): Promise<OffboardingSteps> {
      const offboarding = await getOffboarding(db, offboardingId);
      return {
        finished: offboarding.finishedAt === null ? null : offboarding.status,
        steps: offboarding.steps.map((s) => ({ step: s.step, clientNumber: s.clientNumber, summary: s.summary })),
      };
    },

    /**
     * Makes a step's registry change, with its outbox event, in one transaction with the step's
     * record; a step already applied (a retry, or a worker that died after the commit) changes
     * nothing again. A change that is already so (a link already off) is recorded as nothing changed.
     */
    async applyOffboardingStep({ offboardingId, step }: OffboardingStepRef): Promise<{ changed: boolean }> {
      return db.transaction(async (trx) => {
        // The offboarding's row first, then the step's (the order setOffboardingStatus locks them
        // in): a step of an offboarding that has finished meanwhile is not applied.
        const offboardingRow = await trx('offboardings')
          .where({ id: offboardingId })
          .forUpdate()
          .first<{ status: OffboardingStatus; finished_at: Date | null } | undefined>('status', 'finished_at');
        if (offboardingRow?.finished_at) {
          throw ApplicationFailure.create({
            message: `offboarding ${offboardingId} has finished (${offboardingRow.status}); its step ${step} is not carried out`,
            type: offboardingFinishedFailure,
            nonRetryable: true,
            details: [offboardingRow.status],
          });
        }
        const row = await trx('offboarding_steps')
          .where({ offboarding_id: offboardingId, step })
          .forUpdate()
          .first<{ action: string; record_id: number; client_number: string; status: string } | undefined>();
        if (!row) throw ApplicationFailure.nonRetryable(`offboarding ${offboardingId} has no step ${step}`, offboardingStepMissingFailure);
        if (row.status !== 'pending' && row.status !== 'applying') return { changed: false };
        const options = { offboardingId };
        let changed: Record<string, unknown> = {};
        try {
          if (row.action === 'contact-links-off') {
            const offboarding = await getOffboarding(trx, offboardingId);
            const planned = offboarding.plan.steps.find((s) => s.step === step);
            const portals = planned && planned.action === 'contact-links-off' ? planned.portals : (['caseware', 'clientOnline'] as const);
            const contact = await getContact(trx, row.record_id);
            const linked = portals.filter((portal) => contact.links[portalsOf[portal]]);
            if (linked.length > 0) {
              await setContactLinks(trx, contact.id, Object.fromEntries(linked.map((p) => [portalsOf[p], false])), options);
              changed = { linksOff: linked };
            }
          } else if (row.action === 'client-former') {
            const client = await getClient(trx, row.client_number);
            if (client.status !== 'former') {
              await updateClient(trx, row.client_number, { status: 'former' }, options);
              changed = { status: { from: client.status, to: 'former' } };
            }
          } else if (row.action === 'end-master-link') {
            const contact = await getContact(trx, row.record_id);
            if (contact.masterClientId !== null || contact.masterContactId !== null) {
              await endContactMaster(trx, contact.id, options);
              changed = { masterLinkEnded: true };
            }
          }
        } catch (error) {
          // A contact deleted meanwhile has no access left to end.
          if (isRegistryError(error) && error.code === 'not-found') changed = { recordGone: true };
          // The interlock waits for Client Online to catch up with another change: try again shortly.
          else if (isRegistryError(error)) throw ApplicationFailure.retryable(error.message, `Registry:${error.code}`);
          else throw error;
        }
        await trx('offboarding_steps')
          .where({ offboarding_id: offboardingId, step })
          .update({
            status: 'waiting-for-portals',
            changed: JSON.stringify(changed),
            started_at: trx.raw('coalesce(started_at, now())'),
            applied_at: trx.fn.now(),
          });
        return { changed: Object.keys(changed).length > 0 };
      });
    },

    /**
     * Waits (heartbeating) until the step is done, for at most `maxWaitMs`; the workflow asks again
     * while it shows that it waits. Done means no portal is behind on the step's client, and no
     * portal the step changes refused it: the syncs mark a change applied also when a record was
     * refused, leaving a sync error, so a refused step would otherwise read done while the access
     * it was to end is still there. The refusal is written on the step (and cleared once done).
     */
    async awaitOffboardingStep({ offboardingId, step, clientNumber, maxWaitMs }: OffboardingStepRef & { clientNumber: string; maxWaitMs: number }): Promise<PortalWait> {
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
    },

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
