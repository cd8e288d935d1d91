import { ApplicationFailure } from '@temporalio/common';
import { emailRemovedMessage } from '../../src/domain/caseware';
import type { PortalCallCounter } from '../../src/portals/http';
import { trackPortalFailures } from '../../src/sync/health';
import { LedgerWrites } from '../../src/sync/ledger-writes';
import { openSyncError } from '../../src/sync/ledger';
import { toActivityFailure } from '../failures';
import { withHeartbeats, type ActivityProgress } from '../heartbeat';
import { contactIdentities, ensureContacts, revokeContacts } from './contacts';
import { portal, type CaseWareContext, type CaseWareReading, type CaseWareSyncRun } from './context';
import { ensureEntity } from './entity';
import { contactIdsFor } from './lookups';
import { closeSync, readForSync } from './reading';
import type { CaseWareSyncProgress, CaseWareSyncSummary, SyncClientInput } from './types';
import { registryRecordMissingFailure } from '../../workflows/definitions';

/** A sync of a portal an operator holds: nothing written, nothing marked applied. */
const heldByOperator: CaseWareSyncSummary = { entity: 'held', contactsCreated: 0, contactsAdopted: 0, contactsUpdated: 0, contactsRevoked: 0, syncErrors: 0, held: 'portal' };

/**
 * A linked contact that cannot be sent keeps what it has in CaseWare; one sent before whose
 * email was deleted can no longer be updated there. Returns the ids of those contacts.
 */
function reportConflicts(run: CaseWareSyncRun): Set<number> {
  const identities = contactIdentities(run);
  const conflicted = new Set<number>();
  for (const conflict of run.reading.desired.conflicts) {
    const identity = conflict.recordType === 'contact' ? identities.get(conflict.recordId) : undefined;
    conflicted.add(conflict.recordId);
    if (conflict.code === 'missing-email' && identity?.remoteId && identity.access === 'active') {
      run.errors.push({ ...conflict, code: 'email-removed', message: emailRemovedMessage({ id: conflict.recordId, clientNumber: run.clientNumber }) });
    } else {
      run.errors.push(conflict);
    }
  }
  return conflicted;
}

function startRun(
  context: CaseWareContext,
  input: SyncClientInput,
  reading: CaseWareReading,
  progress: ActivityProgress<CaseWareSyncProgress>,
  ledger: LedgerWrites,
  calls: PortalCallCounter,
): CaseWareSyncRun {
  const abortable = context.caseware.withSignal?.(progress.signal) ?? context.caseware;
  const caseware = abortable.withCallCounter?.(calls) ?? abortable;
  const done: CaseWareSyncProgress = { entity: progress.resumeFrom?.entity, contacts: [...(progress.resumeFrom?.contacts ?? [])] };
  const entityIdentity = reading.identities.find((i) => i.recordType === 'client');
  return {
    context,
    caseware,
    clientNumber: input.clientNumber,
    reading,
    ids: contactIdsFor(context, caseware),
    ledger,
    errors: [],
    summary: { entity: 'absent', contactsCreated: 0, contactsAdopted: 0, contactsUpdated: 0, contactsRevoked: 0, syncErrors: 0 },
    done,
    reportProgress: () => progress.report({ ...done, contacts: [...done.contacts] }),
    entityGuid: done.entity ?? entityIdentity?.remoteId ?? null,
  };
}

async function syncClient(context: CaseWareContext, input: SyncClientInput, progress: ActivityProgress<CaseWareSyncProgress>, ledger: LedgerWrites): Promise<CaseWareSyncSummary> {
  const reading = await readForSync(context.db, input.clientNumber);
  // An operator holds CaseWare Cloud: nothing is written, the client waits for the release.
  if (reading === 'held') return heldByOperator;
  const calls: PortalCallCounter = { reads: 0, writes: 0 };
  const run = startRun(context, input, reading, progress, ledger, calls);
  const conflicted = reportConflicts(run);
  // A set-up problem (a role or group that does not exist) shows at once, with or without contacts;
  // the ids are cached, so this costs a call only now and then.
  await run.ids.role();
  await run.ids.group();
  await ensureEntity(run);
  // Revoke first: a contact that lost its link, or was deleted, or whose client left CaseWare.
  await revokeContacts(run, conflicted);
  await ensureContacts(run);

  const { summary } = run;
  // A contact whose creation waits for approval has not reached CaseWare: the client stays
  // pending until the approval's event syncs it again.
  if (summary.contactsHeld) summary.held = 'credentials-mails';
  await closeSync(run, input, calls.writes);
  summary.syncErrors = run.errors.length;
  return summary;
}

/** Reports a failure no retry can fix with the client's sync errors; the next successful run resolves it. */
async function reportFinalFailure(context: CaseWareContext, clientNumber: string, failure: ApplicationFailure): Promise<void> {
  const client = await context.db('clients').where({ client_number: clientNumber }).first<{ id: number } | undefined>('id');
  if (!client) return;
  await openSyncError(context.db, portal, clientNumber, {
    recordType: 'client',
    recordId: client.id,
    code: failure.type ?? 'failed',
    message: `client ${clientNumber}: ${failure.message}`,
  });
}

/** The activity: brings one client's entity and contacts in CaseWare Cloud to what the registry holds. */
export async function syncClientToCaseWare(context: CaseWareContext, input: SyncClientInput): Promise<CaseWareSyncSummary> {
  const { db } = context;
  try {
    // A failure no record is to blame for (credentials, permissions, unreadable answers) is
    // retried and shown once as the portal's health, never as a sync error of every client.
    return await trackPortalFailures(db, portal, () =>
      withHeartbeats<CaseWareSyncProgress, CaseWareSyncSummary>(async (progress) => {
        const ledger = new LedgerWrites(db, !progress.resumable);
        try {
          return await syncClient(context, input, progress, ledger);
        } catch (error) {
          // What CaseWare confirmed before the failure is recorded, so that a retry skips it.
          if (ledger.waiting) await db.transaction((trx) => ledger.flush(trx)).catch(() => undefined);
          throw error;
        }
      }),
    );
  } catch (error) {
    const failure = toActivityFailure(error);
    if (failure instanceof ApplicationFailure && failure.nonRetryable && failure.type !== registryRecordMissingFailure) {
      await reportFinalFailure(context, input.clientNumber, failure);
    }
    throw failure;
  }
}
