import type { ClientOnlinePush } from '../../src/domain/client-online';
import { ClientOnlineError } from '../../src/portals/client-online/errors';
import { noteUnconfirmedRefs, saveIdentity } from '../../src/sync/ledger';
import { recreationsAwaiting } from '../../src/sync/mail-guard';
import { portal } from './context';
import { firstPush, hasPush, ledgerCopy, sentAsIs, type ClientOnlineReading } from './reading';
import { clientIdentityKey, type ClientOnlineSyncRun } from './sync-run';

/**
 * Sends a client's push, whose logins the ledger has noted before (a push whose answer is lost
 * may have been applied); once Client Online answers, the push is recorded as what it holds for
 * the client.
 */
export async function sendPush(run: ClientOnlineSyncRun, reading: ClientOnlineReading & { desired: { push: ClientOnlinePush } }): Promise<void> {
  const { desired } = reading;
  await run.portalCalls.pushClient(reading.clientNumber, desired.push, { signal: run.signal });
  const sent = ledgerCopy(desired.push);
  await run.ledger.record((writer) => saveIdentity(writer, clientIdentityKey(reading), { remoteId: reading.clientNumber, lastSent: sent, access: 'active', unconfirmedRefs: null }));
}

/**
 * Pushes a client ahead of this one, as its own sync would (which then finds it unchanged). A
 * refusal is left to that sync to report; this one goes on.
 */
export async function pushAhead(run: ClientOnlineSyncRun, reading: ClientOnlineReading): Promise<void> {
  const { db } = run.context;
  if (!hasPush(reading) || sentAsIs(reading)) return;
  // Persons never met, or a client Client Online may hold from before: its own sync meets them first.
  if (reading.unmet.length > 0 || firstPush(reading)) return;
  // A login whose making again waits for approval: its own sync leaves it out, and asks the guard.
  if ((await recreationsAwaiting(db, portal, reading.desired.logins)).size > 0) return;
  try {
    await noteUnconfirmedRefs(db, clientIdentityKey(reading), reading.desired.push.users.map((user) => user.ref));
    await sendPush(run, reading);
  } catch (error) {
    if (!(error instanceof ClientOnlineError) || error.retryable) throw error;
    return;
  }
  (run.summary.handedOver ??= []).push(reading.clientNumber);
}
