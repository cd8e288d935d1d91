import type { CwEntity, CwUser } from '../portals/caseware/api';
import type { CoClient } from '../portals/client-online/api';
import type { DesiredCaseWareState } from './caseware';
import type { ClientOnlinePush, DesiredClientOnlineState } from './client-online';

/**
 * Drift: where a portal really holds something else than the registry says it should, found by the
 * reconcile from the portal's bulk lists. A pure function of desired state, the ledger and what
 * the portal answered. Drift names records by id and fields by their portal name, never values,
 * so it can be stored, shown and handed to the client's sync as it is.
 */
export type DriftIssue =
  /** Should be in the portal and is not (deleted by hand, or never created). */
  | 'missing'
  /** In the portal with other values; `fields` says which. */
  | 'fields'
  /** A CaseWare contact that should have access was deactivated. */
  | 'inactive'
  /** A CaseWare contact that should have no access is active (reactivated by hand). */
  | 'active'
  /** The client entity is not shared with a contact that should see it. */
  | 'share-missing'
  /** The client entity is shared with a contact that should not see it. */
  | 'share-extra'
  /** A contact is not in the configured contact group. */
  | 'group-missing'
  /** The portal holds a client portal-sync removed, or should remove. */
  | 'extra';

export interface Drift {
  recordType: 'client' | 'contact';
  recordId: number;
  issue: DriftIssue;
  fields?: string[];
}

/** A portal object no registry record accounts for: reported, never deleted. */
export interface Orphan {
  /** `kept-user`: a Client Online user a client had before go-live, kept although the registry does not give it access. */
  kind: 'entity' | 'contact-user' | 'client' | 'kept-user';
  /** The portal's own id (a CWGuid, a client number), never personal data. */
  remoteId: string;
  /** Why it counts as an orphan, in words an administrator can act on. */
  reason: string;
}

/** The identities the ledger holds for one client at one portal (see src/sync/ledger.ts). */
export interface LedgerView {
  recordType: 'client' | 'contact';
  recordId: number;
  remoteId: string | null;
  access: 'active' | 'revoked';
  /** Portal-sync has sent the record (a last-sent copy, or a push not yet answered). */
  sent?: boolean;
}

/** Names of the fields whose values differ between what should be and what is. */
export function differingFields<T extends object>(wanted: T, actual: Partial<Record<keyof T, unknown>>): string[] {
  return (Object.keys(wanted) as (keyof T & string)[]).filter((field) => (wanted[field] ?? null) !== (actual[field] ?? null));
}

/** The wanted values of the fields that differ: all a PATCH needs to carry to bring `actual` to `wanted`. */
export function differingValues<T extends object>(wanted: T, actual: Partial<Record<keyof T, unknown>>): Partial<T> {
  const changes: Partial<T> = {};
  for (const field of differingFields(wanted, actual) as (keyof T & string)[]) changes[field] = wanted[field];
  return changes;
}

// ----- CaseWare Cloud ----------------------------------------------------------------------------

/** What CaseWare Cloud holds, read in bulk: every entity, every contact user, every share. */
export interface CaseWareSnapshot {
  entitiesByGuid: ReadonlyMap<string, CwEntity>;
  entitiesByNumber: ReadonlyMap<string, CwEntity>;
  usersByGuid: ReadonlyMap<string, CwUser>;
  /** `entityGuid|userGuid|roleGuid` of every role assignment. */
  shares: ReadonlySet<string>;
  /** The contact role contacts are shared under. */
  roleId: string;
  /** Members of the configured contact group; undefined when none is configured. */
  groupMembers: ReadonlySet<string> | undefined;
}

export function shareKey(entityGuid: string, userGuid: string, roleGuid: string): string {
  return `${entityGuid}|${userGuid}|${roleGuid}`;
}

/**
 * Where CaseWare Cloud differs from what one client should have there. Records with an open sync
 * error (`withErrors`) are known conflicts, not drift: the administrator has them in the error list.
 */
export function caseWareDrift(
  desired: DesiredCaseWareState,
  ledger: readonly LedgerView[],
  snapshot: CaseWareSnapshot,
  withErrors: ReadonlySet<number> = new Set(),
): Drift[] {
  const drift: Drift[] = [];
  const entityIdentity = ledger.find((identity) => identity.recordType === 'client');
  const entity = entityIdentity?.remoteId ? snapshot.entitiesByGuid.get(entityIdentity.remoteId) : undefined;
  const clientId = desired.clientId;

  if (desired.entity && !withErrors.has(clientId)) {
    if (!entity) {
      drift.push({ recordType: 'client', recordId: clientId, issue: 'missing' });
    } else {
      const fields = differingFields(desired.entity, entity);
      if (fields.length > 0) drift.push({ recordType: 'client', recordId: clientId, issue: 'fields', fields });
    }
  }

  const wanted = new Map(desired.contacts.map((contact) => [contact.contactId, contact]));
  // A linked contact that cannot be sent (no email, a name too long) keeps what it has.
  const conflicted = new Set(desired.conflicts.map((conflict) => conflict.recordId));
  const contactIdentities = new Map(ledger.filter((i) => i.recordType === 'contact').map((i) => [i.recordId, i]));

  for (const [contactId, contact] of wanted) {
    if (withErrors.has(contactId) || !entity) continue;
    const identity = contactIdentities.get(contactId);
    const user = identity?.remoteId && identity.access === 'active' ? snapshot.usersByGuid.get(identity.remoteId) : undefined;
    if (!user) {
      drift.push({ recordType: 'contact', recordId: contactId, issue: 'missing' });
      continue;
    }
    const fields = differingFields(contact.fields, user);
    if (fields.length > 0) drift.push({ recordType: 'contact', recordId: contactId, issue: 'fields', fields });
    if (user.Type === 'I') drift.push({ recordType: 'contact', recordId: contactId, issue: 'inactive' });
    if (!snapshot.shares.has(shareKey(entity.CWGuid, user.CWGuid, snapshot.roleId))) {
      drift.push({ recordType: 'contact', recordId: contactId, issue: 'share-missing' });
    }
    if (snapshot.groupMembers && !snapshot.groupMembers.has(user.CWGuid)) {
      drift.push({ recordType: 'contact', recordId: contactId, issue: 'group-missing' });
    }
  }

  for (const identity of contactIdentities.values()) {
    if (wanted.has(identity.recordId) || conflicted.has(identity.recordId) || !identity.remoteId) continue;
    const user = snapshot.usersByGuid.get(identity.remoteId);
    if (!user) continue;
    if (user.Type === 'A') drift.push({ recordType: 'contact', recordId: identity.recordId, issue: 'active' });
    if (entity && snapshot.shares.has(shareKey(entity.CWGuid, user.CWGuid, snapshot.roleId))) {
      drift.push({ recordType: 'contact', recordId: identity.recordId, issue: 'share-extra' });
    }
  }
  return drift;
}

/**
 * CaseWare objects no registry record accounts for: an entity whose id the ledger does not know
 * and whose number is no client the registry sends there, a contact user the ledger does not know.
 */
export function caseWareOrphans(
  snapshot: CaseWareSnapshot,
  known: { remoteIds: ReadonlySet<string>; sentClientNumbers: ReadonlySet<string>; registryClientNumbers: ReadonlySet<string> },
): Orphan[] {
  const orphans: Orphan[] = [];
  for (const entity of snapshot.entitiesByGuid.values()) {
    if (known.remoteIds.has(entity.CWGuid) || known.sentClientNumbers.has(entity.EntityNo)) continue;
    orphans.push({
      kind: 'entity',
      remoteId: entity.CWGuid,
      reason: known.registryClientNumbers.has(entity.EntityNo)
        ? `entity number ${entity.EntityNo} is a registry client that is not sent to CaseWare Cloud; portal-sync leaves it alone`
        : `entity number ${entity.EntityNo} is no client in the registry`,
    });
  }
  for (const user of snapshot.usersByGuid.values()) {
    if (user.OwnerType !== 'Contact' || known.remoteIds.has(user.CWGuid)) continue;
    orphans.push({ kind: 'contact-user', remoteId: user.CWGuid, reason: 'a CaseWare contact that no registry contact was sent as' });
  }
  return orphans;
}

// ----- Client Online -----------------------------------------------------------------------------

/** What Client Online holds, read in bulk: every client with its users. */
export interface ClientOnlineSnapshot {
  clientsByNumber: ReadonlyMap<string, CoClient>;
}

const pushedClientFields = ['name', 'kind', 'address', 'postcode', 'city', 'country', 'phone', 'email'] as const;
const pushedUserFields = ['firstName', 'infix', 'lastName', 'initials', 'email', 'mobile'] as const;

/** Which parts of a push the portal holds otherwise: client fields by name, `users` for its logins. */
export function pushDifferences(push: ClientOnlinePush, actual: CoClient): string[] {
  const fields: string[] = pushedClientFields.filter((field) => (push[field] ?? null) !== (actual[field] ?? null));
  if (push.bsn !== undefined && (push.bsn ?? null) !== (actual.bsn ?? null)) fields.push('bsn');
  const actualUsers = new Map(actual.users.map((user) => [user.ref, user]));
  const usersDiffer =
    actualUsers.size !== push.users.length ||
    push.users.some((user) => {
      const held = actualUsers.get(user.ref);
      return !held || pushedUserFields.some((field) => (user[field] ?? null) !== (held[field] ?? null));
    });
  if (usersDiffer) fields.push('users');
  return fields;
}

/** Where Client Online differs from what one client should have there. */
export function clientOnlineDrift(
  desired: DesiredClientOnlineState,
  ledgerSent: boolean,
  snapshot: ClientOnlineSnapshot,
  refused: boolean,
): Drift[] {
  const actual = snapshot.clientsByNumber.get(desired.clientNumber);
  const record = { recordType: 'client', recordId: desired.clientId } as const;
  if (desired.push) {
    // A push the portal refused (a username taken) is the administrator's error, not drift.
    if (refused) return [];
    if (!actual) return [{ ...record, issue: 'missing' }];
    const fields = pushDifferences(desired.push, actual);
    return fields.length > 0 ? [{ ...record, issue: 'fields', fields }] : [];
  }
  // Gone from the registry's view: remove what portal-sync sent; what it never sent is an orphan.
  return actual && ledgerSent ? [{ ...record, issue: 'extra' }] : [];
}

export function clientOnlineOrphans(
  snapshot: ClientOnlineSnapshot,
  known: {
    sentClientNumbers: ReadonlySet<string>;
    registryClientNumbers: ReadonlySet<string>;
    keptUsers?: readonly { clientNumber: string; ref: string }[];
  },
): Orphan[] {
  const orphans: Orphan[] = [];
  for (const { clientNumber, ref } of known.keptUsers ?? []) {
    if (!snapshot.clientsByNumber.get(clientNumber)?.users.some((user) => user.ref === ref)) continue;
    orphans.push({
      kind: 'kept-user',
      remoteId: `${clientNumber}/${ref}`,
      reason:
        `login ${ref} has had access to client ${clientNumber} since before portal-sync first pushed it, and the registry does not give it that access; ` +
        `kept, not removed (DELETE /sync/clients/${clientNumber}/kept-users lets it go)`,
    });
  }
  for (const client of snapshot.clientsByNumber.values()) {
    if (known.sentClientNumbers.has(client.clientNumber)) continue;
    orphans.push({
      kind: 'client',
      remoteId: client.clientNumber,
      reason: known.registryClientNumbers.has(client.clientNumber)
        ? `client ${client.clientNumber} is in the registry but portal-sync never sent it to Client Online; it leaves it alone`
        : `client ${client.clientNumber} is no client in the registry`,
    });
  }
  return orphans;
}
