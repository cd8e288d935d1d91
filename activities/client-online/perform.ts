import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../../src/db';
import { ClientOnlineError } from '../../src/portals/client-online/errors';
import type { SyncActionCounts } from '../../src/sync/repairs';
import { recordPortalHealthy } from '../../src/sync/health';
import { markApplied, reportSyncErrors, saveIdentity } from '../../src/sync/ledger';
import { forgetCreatedLogins } from '../../src/sync/login-refs';
import { withdrawCredentialsMail } from '../../src/sync/mail-guard';
import { settleRepairs } from '../../src/sync/repairs';
import { portal } from './context';
import { unanswered } from './leases';
import { adoptableByUsername } from './meet-persons';
import type { ClientOnlinePlan } from './plan';
import type { OwnAction } from './prepare';
import { pushAhead, sendPush } from './pushes';
import { hasPush, type ClientOnlineReading } from './reading';
import { clientIdentityKey, creationOf, type ClientOnlineSyncRun } from './sync-run';
import type { ClientOnlineSyncSummary } from './types';

/** What a sync did, in the go-live preview's words. */
function clientOnlineDid(summary: ClientOnlineSyncSummary): SyncActionCounts {
  const adoptedClient = summary.client === 'adopted' ? 1 : 0;
  const created = (summary.loginsCreated ?? 0) + (summary.loginsRecreated ?? 0);
  return {
    adopt: adoptedClient + (summary.loginsAdopted ?? 0),
    create: created,
    update: summary.client === 'pushed' ? 1 : 0,
    credentialsMails: created,
  };
}

/** The client's own push or delete, as decided by prepareOwnAction. */
async function performOwnAction(run: ClientOnlineSyncRun, reading: ClientOnlineReading, own: OwnAction): Promise<void> {
  const { summary, met } = run;
  if (own.action === 'unchanged') {
    summary.client = 'unchanged';
  } else if (own.action === 'push' && hasPush(reading)) {
    await sendPush(run, reading);
    if (reading.unmet.length > 0) summary.loginsCreated = reading.unmet.length;
    if (own.recreated > 0) summary.loginsRecreated = own.recreated;
    summary.client = met.clientHeld ? 'adopted' : 'pushed';
    summary.users = reading.desired.push.users.length;
  } else if (own.action === 'delete') {
    await run.portalCalls.deleteClient(run.clientNumber, { signal: run.signal });
    // Erasure: nothing of what was sent is kept once the client is gone from Client Online.
    await run.ledger.record((writer) => saveIdentity(writer, clientIdentityKey(reading), { access: 'revoked', lastSent: null, unconfirmedRefs: null }));
    summary.client = 'deleted';
  }
}

/** A failed push or delete: a refusal becomes the client's sync error; anything else is thrown for a retry. */
async function handleOwnActionFailure(run: ClientOnlineSyncRun, reading: ClientOnlineReading, error: unknown): Promise<void> {
  const { clientNumber, context } = run;
  // Answered, and refused: no login was created, and nobody was mailed.
  if (error instanceof ClientOnlineError && !unanswered(error)) {
    await forgetCreatedLogins(context.db, reading.unmet.map((login) => login.personKey));
    for (const login of reading.unmet) await withdrawCredentialsMail(context.db, portal, creationOf(clientNumber, login));
  }
  if (!(error instanceof ClientOnlineError) || error.retryable) throw error;
  if (error.code === 'username-taken' && reading.unmet.length > 0 && (await adoptableByUsername(context, reading.unmet))) {
    throw ApplicationFailure.retryable(
      `client ${clientNumber}: a person met for the first time has a Client Online login already (made since the last bulk read); it is adopted on the next attempt`,
      'ClientOnline:login-found',
    );
  }
  run.errors.push({
    recordType: 'client',
    recordId: reading.desired.clientId,
    code: `client-online-${error.code}`,
    message:
      `client ${clientNumber}: ${error.message}` +
      (error.code === 'username-taken'
        ? '; a client user\'s email address is already the username of another Client Online login. Give the contact an address of its own, or link it to its master.'
        : ''),
  });
}

/** The calls: the clients to push first, then the client's own push or delete. */
export async function performSyncRun(run: ClientOnlineSyncRun, { handovers, own: reading }: ClientOnlinePlan, own: OwnAction): Promise<void> {
  if (own.action === 'none' && run.met.conflicts.length > 0) return;
  for (const handover of handovers) await pushAhead(run, handover);
  try {
    await performOwnAction(run, reading, own);
  } catch (error) {
    await handleOwnActionFailure(run, reading, error);
  }
}

/**
 * The transaction that ends the sync (with the leases given back): its sync errors, the repairs
 * it settled, the changes it applied and the portal's health. A login whose creation waits for
 * approval has not reached Client Online: the client stays pending until the approval's event
 * syncs it again.
 */
export async function closeSyncRun(run: ClientOnlineSyncRun, trx: Db): Promise<void> {
  const { errors, summary } = run;
  await reportSyncErrors(trx, portal, run.clientNumber, errors);
  await settleRepairs(trx, run.repairs, { errors, writes: run.calls.writes, did: clientOnlineDid(summary), heldLogins: summary.loginsHeld ?? 0 });
  if (summary.held !== 'credentials-mails') await markApplied(trx, portal, run.input);
  await recordPortalHealthy(trx, portal);
}
