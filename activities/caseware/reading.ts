import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../../src/db';
import { desiredCaseWareState } from '../../src/domain/caseware';
import { loadClientWithContacts } from '../../src/registry/contacts';
import { isRegistryError } from '../../src/registry/errors';
import { recordPortalHealthy } from '../../src/sync/health';
import { identitiesForClient, loginOwners, markApplied, reportSyncErrors } from '../../src/sync/ledger';
import { isPortalHeld, openUnlessHeld } from '../../src/sync/portal-holds';
import { pendingRepairs, settleRepairs } from '../../src/sync/repairs';
import { portal, type CaseWareReading, type CaseWareSyncRun } from './context';
import type { SyncClientInput } from './types';
import { registryRecordMissingFailure } from '../../workflows/definitions';

/**
 * Everything a sync reads before its first call, in one snapshot and one commit: whether an
 * operator holds CaseWare, the client and its contacts, the ledger, the reconcile's repairs and
 * who holds each contact's login. Held: the client is noted for the release, and the sync writes
 * nothing.
 */
export function readForSync(db: Db, clientNumber: string): Promise<CaseWareReading | 'held'> {
  const read = () =>
    db.transaction(
      async (trx) => {
        if (await isPortalHeld(trx, portal)) return 'held' as const;
        const registry = await loadClientWithContacts(trx, clientNumber).catch((error: unknown) => {
          if (isRegistryError(error) && error.code === 'not-found') {
            throw ApplicationFailure.nonRetryable(`client ${clientNumber} is not in the registry`, registryRecordMissingFailure);
          }
          throw error;
        });
        const desired = desiredCaseWareState(registry.client, registry.contacts);
        return {
          registry,
          desired,
          identities: await identitiesForClient(trx, portal, clientNumber),
          repairs: await pendingRepairs(trx, portal, clientNumber),
          owners: await loginOwners(trx, portal, desired.contacts.map((contact) => contact.loginKey)),
        };
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  return openUnlessHeld(db, portal, clientNumber, read);
}

/**
 * The transaction that ends a sync: what CaseWare confirmed, the client's sync errors, the
 * repairs it settled, the changes it applied (unless a hold kept it from applying them) and the
 * portal's health.
 */
export async function closeSync(run: CaseWareSyncRun, input: SyncClientInput, writes: number): Promise<void> {
  const { ledger, errors, summary } = run;
  await run.context.db.transaction(async (trx) => {
    await ledger.flush(trx);
    await reportSyncErrors(trx, portal, input.clientNumber, errors);
    await settleRepairs(trx, run.reading.repairs, {
      errors,
      writes,
      did: {
        adopt: (summary.entity === 'adopted' ? 1 : 0) + summary.contactsAdopted,
        create: (summary.entity === 'created' ? 1 : 0) + summary.contactsCreated,
        update: (summary.entity === 'updated' ? 1 : 0) + summary.contactsUpdated,
        credentialsMails: summary.contactsCreated,
      },
    });
    if (!summary.held) await markApplied(trx, portal, input);
    await recordPortalHealthy(trx, portal);
  });
}
