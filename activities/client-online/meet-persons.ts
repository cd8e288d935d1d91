import type { ClientOnlineLogin } from '../../src/domain/client-online';
import { correlateLogins, type ExistingLogin } from '../../src/domain/login-adoption';
import type { SyncErrorInput } from '../../src/sync/ledger';
import { claimedRefs, directoryLogins, keepUsers, recordPersonLogins, replaceDirectory } from '../../src/sync/login-refs';
import type { ClientOnlineContext } from './context';
import { firstPush, mustMeet, type ClientOnlineReading } from './reading';
import type { ClientOnlinePort } from './types';

/** What meeting a client's new persons found: the conflicts that stop its push, logins adopted, users kept. */
export interface PersonsMet {
  conflicts: SyncErrorInput[];
  adopted: number;
  kept: number;
  /** Client Online held the client before portal-sync first pushed it. */
  clientHeld: boolean;
}

/**
 * Meets the persons of the client's push that portal-sync has never met, before any push could
 * make Client Online create a login for them (and mail credentials): each one's existing login is
 * looked for by username among the client's users (on the client's first push, as Client Online
 * holds it; else the users kept from then), then among every login the last bulk read found
 * (correlateLogins). An existing login is adopted: the person's pushes carry its ref from now on.
 * On a client's first push, users Client Online holds there that the registry does not give
 * access to it are kept in its pushes, so going live removes nobody. Answers the conflicts that
 * stop the client's push (nothing of it is touched), and what it found.
 */
export async function meetPersons(
  context: ClientOnlineContext,
  reading: ClientOnlineReading,
  portalCalls: ClientOnlinePort,
  signal: AbortSignal | undefined,
): Promise<PersonsMet> {
  const { db } = context;
  const met = { conflicts: [] as SyncErrorInput[], adopted: 0, kept: 0, clientHeld: false };
  const { desired, clientNumber } = reading;
  const first = firstPush(reading);
  if (!desired.push || !mustMeet(reading)) return met;
  const held = first ? await portalCalls.getClient(clientNumber, { signal }) : undefined;
  met.clientHeld = held !== undefined;
  const clientUsers: ExistingLogin[] = (held?.users ?? reading.kept).map((user) => ({ ref: user.ref, email: user.email.trim().toLowerCase() }));
  const everywhere = await directoryLogins(db, reading.unmet.flatMap((login) => login.emails));
  const claimed = await claimedRefs(db, [...clientUsers, ...everywhere].map((login) => login.ref));
  const correlations = correlateLogins(reading.unmet, clientUsers, everywhere, claimed);
  const loginOf = new Map(reading.unmet.map((login) => [login.personKey, login]));
  const conflict = (personKey: string, code: string, message: string) => {
    const login = loginOf.get(personKey);
    if (login) met.conflicts.push({ recordType: login.recordType, recordId: login.recordId, code: `client-online-${code}`, message: `client ${clientNumber}: ${message}` });
  };
  const adoptions = correlations.flatMap((c) => (c.outcome === 'adopt' ? [{ personKey: c.personKey, ref: c.ref, origin: 'adopted' as const }] : []));
  for (const c of correlations) if (c.outcome === 'conflict') conflict(c.personKey, c.code, c.message);
  const { refused } = await recordPersonLogins(db, adoptions);
  for (const personKey of refused) {
    conflict(personKey, 'login-shared', 'its existing Client Online login was adopted for another registry person meanwhile; portal-sync touches neither and mails nobody');
  }
  met.adopted = adoptions.length - refused.length;
  if (held && met.conflicts.length === 0) {
    // Access the registry does not grant, which the client had before: kept, not removed.
    const adoptedRefs = new Set([...adoptions.map((a) => a.ref), ...desired.push.users.map((u) => u.ref)]);
    const foreign = held.users.filter((user) => !adoptedRefs.has(user.ref));
    await keepUsers(db, clientNumber, foreign.map(({ ref, firstName, infix, lastName, initials, email, mobile }) => ({ ref, firstName, infix, lastName, initials, email, mobile })));
    met.kept = foreign.length;
  }
  return met;
}

/**
 * Client Online refused a new login's username: a login with it may have been made since the
 * last bulk read (by hand, or by an earlier link). The directory is read again only when it lacks
 * one of these persons' addresses (a username that the directory holds already is another
 * person's login: as in everyday use, that costs no bulk read); true when one of these persons
 * now has a login there to adopt, so that the next attempt adopts it instead. Otherwise the
 * refusal stays what it is.
 */
export async function adoptableByUsername(context: ClientOnlineContext, unmet: readonly ClientOnlineLogin[]): Promise<boolean> {
  const { db, clientOnline } = context;
  const addresses = unmet.flatMap((login) => login.emails.map((email) => email.trim().toLowerCase()));
  let everywhere = await directoryLogins(db, addresses);
  const known = new Set(everywhere.map((login) => login.email));
  if (addresses.some((address) => !known.has(address))) {
    await replaceDirectory(db, await clientOnline.listClients());
    everywhere = await directoryLogins(db, addresses);
  }
  const claimed = await claimedRefs(db, everywhere.map((login) => login.ref));
  return correlateLogins(unmet, [], everywhere, claimed).some((correlation) => correlation.outcome === 'adopt');
}
