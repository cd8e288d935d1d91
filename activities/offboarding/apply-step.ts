import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { getClient, updateClient } from '../../src/registry/clients';
import { getContact, setContactLinks } from '../../src/registry/contacts';
import { isRegistryError } from '../../src/registry/errors';
import { endContactMaster } from '../../src/registry/masters';
import type { OffboardingPortal } from '../../src/domain/offboarding';
import type { OffboardingStatus } from '../../src/registry/offboardings';
import { offboardingFinishedFailure, offboardingStepMissingFailure } from '../../workflows/offboarding-definitions';
import type { OffboardingContext, OffboardingStepRef } from './types';

interface StepRow {
  action: string;
  record_id: number;
  client_number: string;
  status: string;
}

/**
 * Makes a step's registry change, with its outbox event, in one transaction with the step's
 * record; a step already applied (a retry, or a worker that died after the commit) changes nothing
 * again. A change that is already so (a link already off) is recorded as nothing changed.
 */
export async function applyOffboardingStep({ db }: OffboardingContext, { offboardingId, step }: OffboardingStepRef): Promise<{ changed: boolean }> {
  return db.transaction(async (trx) => {
    await refuseIfFinished(trx, offboardingId, step);
    const row = await trx('offboarding_steps').where({ offboarding_id: offboardingId, step }).forUpdate().first<StepRow | undefined>();
    if (!row) throw ApplicationFailure.nonRetryable(`offboarding ${offboardingId} has no step ${step}`, offboardingStepMissingFailure);
    if (row.status !== 'pending' && row.status !== 'applying') return { changed: false };
    const changed = await registryChangeOrGone(trx, offboardingId, step, row);
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
}

/**
 * Locks the offboarding's row first, then the step's (the order setOffboardingStatus locks them
 * in): a step of an offboarding that has finished meanwhile is not applied.
 */
async function refuseIfFinished(trx: Knex.Transaction, offboardingId: number, step: number): Promise<void> {
  const offboarding = await trx('offboardings')
    .where({ id: offboardingId })
    .forUpdate()
    .first<{ status: OffboardingStatus; finished_at: Date | null } | undefined>('status', 'finished_at');
  if (!offboarding?.finished_at) return;
  throw ApplicationFailure.create({
    message: `offboarding ${offboardingId} has finished (${offboarding.status}); its step ${step} is not carried out`,
    type: offboardingFinishedFailure,
    nonRetryable: true,
    details: [offboarding.status],
  });
}

/** The step's registry change; what it changed (`{}`: nothing was left to change). */
async function registryChangeOrGone(trx: Knex.Transaction, offboardingId: number, step: number, row: StepRow): Promise<Record<string, unknown>> {
  try {
    return await registryChange(trx, offboardingId, step, row);
  } catch (error) {
    // A contact deleted meanwhile has no access left to end.
    if (isRegistryError(error) && error.code === 'not-found') return { recordGone: true };
    // The interlock waits for Client Online to catch up with another change: try again shortly.
    if (isRegistryError(error)) throw ApplicationFailure.retryable(error.message, `Registry:${error.code}`);
    throw error;
  }
}

/** The portals the plan's step switches off (its one field the step row lacks), read from the stored plan alone. */
async function plannedPortals(trx: Knex.Transaction, offboardingId: number, step: number): Promise<readonly OffboardingPortal[] | undefined> {
  const { rows } = await trx.raw<{ rows: { portals: OffboardingPortal[] | null }[] }>(
    `select s.value->'portals' as portals
       from offboardings o, jsonb_array_elements(o.plan->'steps') s
      where o.id = ? and (s.value->>'step')::int = ? and s.value->>'action' = 'contact-links-off'`,
    [offboardingId, step],
  );
  return rows[0]?.portals ?? undefined;
}

async function registryChange(trx: Knex.Transaction, offboardingId: number, step: number, row: StepRow): Promise<Record<string, unknown>> {
  const options = { offboardingId };
  if (row.action === 'contact-links-off') {
    const portals = (await plannedPortals(trx, offboardingId, step)) ?? (['caseware', 'clientOnline'] as const);
    const contact = await getContact(trx, row.record_id);
    const linked = portals.filter((portal) => contact.links[portal]);
    if (linked.length === 0) return {};
    await setContactLinks(trx, contact.id, Object.fromEntries(linked.map((portal) => [portal, false])), options);
    return { linksOff: linked };
  }
  if (row.action === 'client-former') {
    const client = await getClient(trx, row.client_number);
    if (client.status === 'former') return {};
    await updateClient(trx, row.client_number, { status: 'former' }, options);
    return { status: { from: client.status, to: 'former' } };
  }
  if (row.action === 'end-master-link') {
    const contact = await getContact(trx, row.record_id);
    if (contact.masterClientId === null && contact.masterContactId === null) return {};
    await endContactMaster(trx, contact.id, options);
    return { masterLinkEnded: true };
  }
  return {};
}
