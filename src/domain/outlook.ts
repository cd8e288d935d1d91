import type { DesiredCaseWareState } from './caseware';
import type { DesiredClientOnlineState } from './client-online';
import { differingFields, pushDifferences, type CaseWareSnapshot, type ClientOnlineSnapshot, type LedgerView } from './drift';
import { correlateLogins, type ExistingLogin } from './login-adoption';

/**
 * The go-live preview (issue 17): what the next syncs of a client would do at a portal, worked out
 * from one bulk read of the portal with the same rules the syncs follow. Every object they would
 * adopt (it is there already: kept, never mailed), create (a new one; a new login is a credentials
 * mail), update (brought to the registry's values), keep (access the registry does not grant,
 * left as it is), and every ambiguity that stops them. Record ids only.
 */

export type OutlookAction = 'adopt' | 'create' | 'update' | 'keep' | 'conflict';

export interface OutlookItem {
  action: OutlookAction;
  /** What kind of portal object: `entity`, `contact-user` (CaseWare), `client`, `login`, `user` (Client Online). */
  object: 'entity' | 'contact-user' | 'client' | 'login' | 'user';
  /** The registry record behind it (for a kept user: the client). */
  recordType: 'client' | 'contact';
  recordId: number;
  /** Credentials mails it causes: 1 for a new login, else 0. */
  credentialsMails: number;
  /** Why, for a conflict; the portal's id for a kept user. Ids only. */
  detail?: string;
  /**
   * Client Online: the person whose login it is. A person seen at several clients has one login:
   * the caller counts the first client's item and drops the others (the first sync meets him).
   */
  personKey?: string;
}

/** Counts per action, and the credentials mails: the words the reports use. */
export interface OutlookCounts {
  adopt: number;
  create: number;
  update: number;
  keep: number;
  conflicts: number;
  credentialsMails: number;
}

export function countOutlook(items: readonly OutlookItem[]): OutlookCounts {
  const counts: OutlookCounts = { adopt: 0, create: 0, update: 0, keep: 0, conflicts: 0, credentialsMails: 0 };
  for (const item of items) {
    if (item.action === 'conflict') counts.conflicts += 1;
    else counts[item.action] += 1;
    counts.credentialsMails += item.credentialsMails;
  }
  return counts;
}

// ----- CaseWare Cloud ----------------------------------------------------------------------------

/**
 * CaseWare: the entity by the ledger's id, else by its number (adopt), else created; each contact
 * sent: the ledger's user, else a contact user with its email (adopt), else created (CaseWare mails
 * credentials on create). A contact the registry cannot send is the conflict the sync reports.
 */
export function caseWareOutlook(
  desired: DesiredCaseWareState,
  ledger: readonly LedgerView[],
  snapshot: CaseWareSnapshot,
  usersByEmail: ReadonlyMap<string, { CWGuid: string; OwnerType: string }>,
  /** Contact users another ledger record holds already (by CWGuid): an email match of those is not this contact's. */
  heldByOthers: (contactId: number, userGuid: string) => boolean,
): OutlookItem[] {
  if (!desired.entity) return [];
  const items: OutlookItem[] = [];
  const clientRecord = { recordType: 'client' as const, recordId: desired.clientId };
  const entityIdentity = ledger.find((identity) => identity.recordType === 'client');
  const known = entityIdentity?.remoteId ? snapshot.entitiesByGuid.get(entityIdentity.remoteId) : undefined;
  const entity = known ?? snapshot.entitiesByNumber.get(desired.entity.EntityNo);
  if (!entity) items.push({ action: 'create', object: 'entity', ...clientRecord, credentialsMails: 0 });
  else if (!known) items.push({ action: 'adopt', object: 'entity', ...clientRecord, credentialsMails: 0 });
  else if (differingFields(desired.entity, entity).length > 0) items.push({ action: 'update', object: 'entity', ...clientRecord, credentialsMails: 0 });

  for (const conflict of desired.conflicts) {
    items.push({ action: 'conflict', object: 'contact-user', recordType: conflict.recordType, recordId: conflict.recordId, credentialsMails: 0, detail: conflict.code });
  }
  const identities = new Map(ledger.filter((identity) => identity.recordType === 'contact').map((identity) => [identity.recordId, identity]));
  for (const contact of desired.contacts) {
    const record = { recordType: 'contact' as const, recordId: contact.contactId };
    const identity = identities.get(contact.contactId);
    const user = identity?.remoteId && identity.access === 'active' ? snapshot.usersByGuid.get(identity.remoteId) : undefined;
    if (user) {
      const stale = differingFields(contact.fields, user).length > 0 || user.Type === 'I';
      if (stale) items.push({ action: 'update', object: 'contact-user', ...record, credentialsMails: 0 });
      continue;
    }
    const existing = usersByEmail.get(contact.loginKey);
    if (!existing) items.push({ action: 'create', object: 'contact-user', ...record, credentialsMails: 1 });
    else if (existing.OwnerType !== 'Contact') items.push({ action: 'conflict', object: 'contact-user', ...record, credentialsMails: 0, detail: 'email-in-use' });
    else if (heldByOthers(contact.contactId, existing.CWGuid)) items.push({ action: 'conflict', object: 'contact-user', ...record, credentialsMails: 0, detail: 'shared-email' });
    else items.push({ action: 'adopt', object: 'contact-user', ...record, credentialsMails: 0 });
  }
  return items;
}

// ----- Client Online -----------------------------------------------------------------------------

/**
 * Client Online: the client adopted when the portal holds it and portal-sync never pushed it,
 * created when it holds nothing, updated when it differs; each person met for the first time
 * correlated as the sync will (correlateLogins): adopted, created (a credentials mail) or a
 * conflict, which stops the client's push altogether; a met person whose login the portal does
 * not hold (deleted there) is created again, with a mail; on a first push, the users the client
 * has that the registry does not grant are kept.
 */
export function clientOnlineOutlook(
  desired: DesiredClientOnlineState,
  sentBefore: boolean,
  /** Persons portal-sync has met (client_online_logins). */
  met: ReadonlySet<string>,
  snapshot: ClientOnlineSnapshot,
  /** Every login the portal holds, by ref. */
  logins: ReadonlyMap<string, ExistingLogin>,
  /** Refs other persons' logins have already: ref → person key. */
  claimed: ReadonlyMap<string, string>,
): OutlookItem[] {
  if (!desired.push) return [];
  const clientRecord = { recordType: 'client' as const, recordId: desired.clientId };
  const actual = snapshot.clientsByNumber.get(desired.clientNumber);
  const unmet = desired.logins.filter((login) => !met.has(login.personKey));
  const first = !sentBefore;
  const clientUsers: ExistingLogin[] = first
    ? (actual?.users ?? []).map((user) => ({ ref: user.ref, email: user.email.trim().toLowerCase() }))
    : [];
  const everywhere = [...logins.values()];
  const correlations = correlateLogins(unmet, clientUsers, everywhere, claimed);
  const conflicts = correlations.flatMap((c) => (c.outcome === 'conflict' ? [c] : []));
  const loginOf = new Map(desired.logins.map((login) => [login.personKey, login]));
  if (conflicts.length > 0) {
    return conflicts.map((c) => {
      const login = loginOf.get(c.personKey)!;
      return { action: 'conflict', object: 'login', recordType: login.recordType, recordId: login.recordId, credentialsMails: 0, detail: c.code };
    });
  }

  const items: OutlookItem[] = [];
  const adopted = new Map(correlations.flatMap((c) => (c.outcome === 'adopt' ? [[c.personKey, c.ref] as const] : [])));
  if (!actual) items.push({ action: 'create', object: 'client', ...clientRecord, credentialsMails: 0 });
  else if (first) items.push({ action: 'adopt', object: 'client', ...clientRecord, credentialsMails: 0 });
  else if (pushDifferences(desired.push, actual).length > 0) items.push({ action: 'update', object: 'client', ...clientRecord, credentialsMails: 0 });

  for (const login of desired.logins) {
    const record = { recordType: login.recordType, recordId: login.recordId };
    if (!met.has(login.personKey)) {
      const ref = adopted.get(login.personKey);
      const personKey = login.personKey;
      items.push(ref === undefined ? { action: 'create', object: 'login', ...record, credentialsMails: 1, personKey } : { action: 'adopt', object: 'login', ...record, credentialsMails: 0, personKey });
    } else if (!logins.has(login.ref)) {
      // Met, but the portal holds no such login (deleted there): the push creates it again.
      items.push({ action: 'create', object: 'login', ...record, credentialsMails: 1, personKey: login.personKey });
    }
  }
  if (first && actual) {
    const pushed = new Set([...desired.push.users.map((user) => user.ref), ...adopted.values()]);
    for (const user of actual.users) {
      if (!pushed.has(user.ref)) items.push({ action: 'keep', object: 'user', ...clientRecord, credentialsMails: 0, detail: user.ref });
    }
  }
  return items;
}
