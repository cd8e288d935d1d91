import type { Db } from '../../src/db';
import type { ClientOnlineLogin, ClientOnlinePush } from '../../src/domain/client-online';
import { noteUnconfirmedRefs } from '../../src/sync/ledger';
import { recordPersonLogins, loginsGone } from '../../src/sync/login-refs';
import { guardCredentialsMail, guardLoginRecreation, recreationsAwaiting } from '../../src/sync/mail-guard';
import type { PendingRepairs } from '../../src/sync/repairs';
import { portal } from './context';
import type { ClientOnlinePlan } from './plan';
import { hasPush, type ClientOnlineReading } from './reading';
import { clientIdentityKey, creationOf, pushUnchanged, type ClientOnlineSyncRun } from './sync-run';

/** What a sync run does for the client itself, decided under the leases (see prepareOwnAction). */
export type OwnAction = { action: 'none' } | { action: 'unchanged' } | { action: 'push'; recreated: number } | { action: 'delete' };

/**
 * The logins of persons portal-sync has met (it made or adopted their login) that this push would
 * make again, so that Client Online mails their persons new credentials: those Client Online no
 * longer holds where a reconcile repair asks for the push (a client or user deleted there by
 * hand; the run's bulk read says what it holds), and those whose making again waits for, or has
 * just had, an operator's approval.
 */
async function recreations(reader: Db, reading: ClientOnlineReading, repairs: PendingRepairs): Promise<ClientOnlineLogin[]> {
  const unmet = new Set(reading.unmet.map((login) => login.personKey));
  const met = reading.desired.logins.filter((login) => !unmet.has(login.personKey));
  if (met.length === 0) return [];
  const gone = repairs.foundByRunAt ? await loginsGone(reader, met.map((login) => login.ref), repairs.foundByRunAt) : new Set<string>();
  const awaiting = await recreationsAwaiting(reader, portal, met);
  return met.filter((login) => gone.has(login.ref) || awaiting.has(`${login.recordType}:${login.recordId}`));
}

/**
 * Asks the credentials-mail guard about every login the push would make, and leaves out of the
 * push those it holds for approval. Answers how many lost logins it makes again.
 */
async function withholdGuardedLogins(run: ClientOnlineSyncRun, trx: Db, reading: ClientOnlineReading & { desired: { push: ClientOnlinePush } }): Promise<number> {
  const { clientNumber, repairs, summary } = run;
  const settings = run.context.credentialsMailGuard;
  // Whoever is still unmet has no login: this push creates one, and Client Online mails
  // credentials. Beyond the guard's threshold a new login waits for approval, left out of
  // the push (it is no user of the client yet, so leaving it out takes nothing away).
  const withheld = new Set<string>();
  for (const login of reading.unmet) {
    if (!(await guardCredentialsMail(trx, portal, creationOf(clientNumber, login), settings)).allowed) withheld.add(login.personKey);
  }
  // A login Client Online lost (deleted there by hand) would be made again and mailed out
  // of the blue: held for approval whatever the count, and left out of the push likewise.
  let recreated = 0;
  const since = repairs.foundByRunAt ?? new Date();
  for (const login of await recreations(trx, reading, repairs)) {
    const decision = await guardLoginRecreation(trx, portal, creationOf(clientNumber, login), { since, settings });
    if (decision.allowed) recreated += 1;
    else withheld.add(login.personKey);
  }
  if (withheld.size > 0) {
    const refs = new Set(reading.desired.logins.filter((login) => withheld.has(login.personKey)).map((login) => login.ref));
    reading.desired.push.users = reading.desired.push.users.filter((user) => !refs.has(user.ref));
    reading.unmet = reading.unmet.filter((login) => !withheld.has(login.personKey));
    summary.held = 'credentials-mails';
    summary.loginsHeld = withheld.size;
  }
  return recreated;
}

/**
 * What the run does for the client itself, decided under the leases and in their transaction:
 * the credentials-mail guard's answers, the persons whose login the push makes, and the logins
 * the push may leave under the client are recorded before any request goes out.
 */
export async function prepareOwnAction(run: ClientOnlineSyncRun, trx: Db, { own: reading }: ClientOnlinePlan): Promise<OwnAction> {
  const { desired, identity } = reading;
  const { repairs, met, errors } = run;
  errors.push(...desired.conflicts);
  // Ambiguous logins: nothing of this client is touched, nobody is mailed, and the administrator is told.
  if (met.conflicts.length > 0) {
    errors.push(...met.conflicts);
    return { action: 'none' };
  }
  if (hasPush(reading) && pushUnchanged(run, reading)) return { action: 'unchanged' };
  if (hasPush(reading)) {
    const recreated = await withholdGuardedLogins(run, trx, reading);
    // Recorded first: a push whose answer is lost may have created them.
    await recordPersonLogins(trx, reading.unmet.map((login) => ({ personKey: login.personKey, ref: login.ref, origin: 'created' as const })));
    await noteUnconfirmedRefs(trx, clientIdentityKey(reading), reading.desired.push.users.map((user) => user.ref));
    return { action: 'push', recreated };
  }
  // Its logins lose access to it; Client Online deletes logins left with no client. One the
  // reconcile found there although it was removed before, or that an unanswered push may have
  // put back, is removed again.
  if (identity?.access === 'active' || identity?.unconfirmedRefs || repairs.drift.some((d) => d.issue === 'extra')) return { action: 'delete' };
  return { action: 'none' };
}
