import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../src/db';
import type { OffboardingPortal } from '../src/domain/offboarding';
import { getOffboarding, setOffboardingStatus, type OffboardingStatus } from '../src/registry/offboardings';
import { endContactMaster, getClient, getContact, isRegistryError, setContactLinks, updateClient } from '../src/registry/repository';
import { clientSyncStatus } from '../src/registry/sync-status';
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

export interface PortalWait {
  caughtUp: boolean;
  /** The portals that have not yet applied the step's change. */
  behind: OffboardingPortal[];
}

export interface OffboardingActivityOptions {
  db: Db;
  /** How often a waiting step looks at the sync status. */
  pollIntervalMs?: number;
}

const portalsOf: Record<OffboardingPortal, 'caseware' | 'clientOnline'> = { caseware: 'caseware', clientOnline: 'clientOnline' };

export function createOffboardingActivities({ db, pollIntervalMs = 250 }: OffboardingActivityOptions) {
  return {
    /** The plan's steps as stored when the offboarding was requested. */
    async loadOffboardingSteps({ offboardingId }: { offboardingId: number }): Promise<OffboardingStepOutline[]> {
      const offboarding = await getOffboarding(db, offboardingId);
      return offboarding.steps.map((s) => ({ step: s.step, clientNumber: s.clientNumber, summary: s.summary }));
    },

    /**
     * Makes a step's registry change, with its outbox event, in one transaction with the step's
     * record; a step already applied (a retry, or a worker that died after the commit) changes
     * nothing again. A change that is already so (a link already off) is recorded as nothing changed.
     */
    async applyOffboardingStep({ offboardingId, step }: OffboardingStepRef): Promise<{ changed: boolean }> {
      return db.transaction(async (trx) => {
        const row = await trx('offboarding_steps')
          .where({ offboarding_id: offboardingId, step })
          .forUpdate()
          .first<{ action: string; record_id: number; client_number: string; status: string } | undefined>();
        if (!row) throw ApplicationFailure.nonRetryable(`offboarding ${offboardingId} has no step ${step}`, 'OffboardingStepMissing');
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
     * Waits (heartbeating) until no portal is behind on the step's client, for at most `maxWaitMs`;
     * the workflow asks again while it shows that it waits. Marks the step done once caught up.
     */
    async awaitOffboardingStep({ offboardingId, step, clientNumber, maxWaitMs }: OffboardingStepRef & { clientNumber: string; maxWaitMs: number }): Promise<PortalWait> {
      return withHeartbeats(async ({ signal }) => {
        const deadline = Date.now() + maxWaitMs;
        for (;;) {
          const status = await clientSyncStatus(db, clientNumber);
          const behind = (['caseware', 'clientOnline'] as const).filter((portal) => status[portal].state === 'pending');
          if (behind.length === 0) {
            await db('offboarding_steps')
              .where({ offboarding_id: offboardingId, step })
              .whereNot({ status: 'done' })
              .update({ status: 'done', completed_at: db.fn.now() });
            return { caughtUp: true, behind };
          }
          if (Date.now() >= deadline || signal?.aborted) return { caughtUp: false, behind };
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
