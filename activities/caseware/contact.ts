import { isDeepStrictEqual } from 'node:util';
import { sharedEmailMessage, type CaseWareContactFields, type DesiredCaseWareContact } from '../../src/domain/caseware';
import { differingValues } from '../../src/domain/drift';
import { CaseWareError } from '../../src/portals/caseware/errors';
import type { Db } from '../../src/db';
import { claimLogin, loginOwner, saveIdentity, takeRemoteObject, type IdentityKey, type PortalIdentity } from '../../src/sync/ledger';
import { guardCredentialsMail, withdrawCredentialsMail } from '../../src/sync/mail-guard';
import type { RepairRequest } from '../../src/sync/repairs';
import { confirmed, portal, type CaseWareSyncRun } from './context';
import type { CaseWareUserRef } from './types';

/** `held`: its creation waits for the approval of the credentials-mail guard; nothing was written for it. */
export type ContactOutcome = 'created' | 'adopted' | 'updated' | 'unchanged' | 'conflict' | 'held';

/**
 * A contact whose user is ready in CaseWare but not yet shared with the entity: the caller shares
 * the entity with every such contact of the client in one call, then completes each (the ledger
 * records it as finished only then).
 */
export interface PendingShare {
  userId: string;
  outcome: Exclude<ContactOutcome, 'conflict'>;
  complete: () => Promise<void>;
}

/** What the sync knows about one contact besides the ledger's identity. */
export interface ContactCheck {
  hasShare: (userId: string) => Promise<boolean>;
  /** What the reconcile found CaseWare holding otherwise for this contact, or a resync of its client. */
  drift: RepairRequest[];
  /** The entity is not the one the ledger knew: no share can be trusted. */
  entityIsNew: boolean;
  /** The record that held the contact's login when the sync read the ledger. */
  owner: PortalIdentity | undefined;
}

/** The CaseWare user a contact has (found or made), and what it held before this sync. */
interface ContactUser {
  user: CaseWareUserRef;
  created: boolean;
  held: object | undefined;
}

function reportSharedEmail(run: CaseWareSyncRun, contact: DesiredCaseWareContact, owner: PortalIdentity): 'conflict' {
  run.errors.push({
    recordType: 'contact',
    recordId: contact.contactId,
    code: 'shared-email',
    message: sharedEmailMessage({ id: contact.contactId, clientNumber: run.clientNumber }, owner),
  });
  return 'conflict';
}

async function reportStaffEmail(run: CaseWareSyncRun, contact: DesiredCaseWareContact, key: IdentityKey): Promise<'conflict'> {
  await saveIdentity(run.context.db, key, { loginKey: null });
  run.errors.push({
    recordType: 'contact',
    recordId: contact.contactId,
    code: 'email-in-use',
    message:
      `contact ${contact.contactId} at client ${run.clientNumber} has the email address of a CaseWare Cloud ` +
      'staff user; CaseWare Cloud needs a unique email per login. Give the contact an email address of its own.',
  });
  return 'conflict';
}

/**
 * Write-ahead: the ledger says "active" before any call that can give access (create,
 * reactivate, share), so an attempt that fails half-way leaves the revoke path something to
 * take back instead of a ledger that says "revoked" over an active CaseWare user. Until the
 * last step it records nothing as sent, so the next attempt checks CaseWare again.
 */
function accessWriteAhead(db: Db, key: IdentityKey, alreadyRecorded: boolean): () => Promise<void> {
  let accessRecorded = alreadyRecorded;
  return async () => {
    if (accessRecorded) return;
    await saveIdentity(db, key, { access: 'active', lastSent: null });
    accessRecorded = true;
  };
}

/** A trusted contact's change, sent without reading CaseWare; undefined when CaseWare no longer has the user. */
async function sendTrustedChange(run: CaseWareSyncRun, contact: DesiredCaseWareContact, remoteId: string, lastSent: unknown, key: IdentityKey): Promise<'unchanged' | 'updated' | undefined> {
  if (isDeepStrictEqual(lastSent, contact.fields)) return 'unchanged';
  const updated = await run.caseware.updateContact(remoteId, contact.fields).then(
    () => true,
    (error: unknown) => {
      // Deleted in CaseWare: checked and made again below.
      if (error instanceof CaseWareError && error.code === 'not-found') return false;
      throw error;
    },
  );
  if (!updated) return undefined;
  await run.ledger.record((writer) => saveIdentity(writer, key, { lastSent: contact.fields }));
  return 'updated';
}

/**
 * A contact the ledger has met before may have been created by an attempt that failed before
 * recording it: looked up by email, and by the login key it claimed then.
 */
async function findEarlierUser(run: CaseWareSyncRun, contact: DesiredCaseWareContact, identity: PortalIdentity): Promise<CaseWareUserRef | undefined> {
  const user = await run.caseware.findUserByEmail(contact.fields.Email);
  if (user) return user;
  // Its email changed since: the attempt that died may have created the user under the
  // address claimed then (the ledger's login key). That user is this contact's; it gets the
  // new address below rather than a second user beside it.
  if (!identity.remoteId && identity.access === 'active' && identity.loginKey && identity.loginKey !== contact.loginKey) {
    const earlier = await run.caseware.findUserByEmail(identity.loginKey);
    if (earlier?.OwnerType === 'Contact') return earlier;
  }
  return undefined;
}

/** Creates the contact's user (which mails it credentials), or adopts the one CaseWare has under its email. */
async function createOrAdoptUser(
  run: CaseWareSyncRun,
  contact: DesiredCaseWareContact,
  key: IdentityKey,
  beforeGivingAccess: () => Promise<void>,
): Promise<ContactUser | 'conflict' | 'held'> {
  const { db, credentialsMailGuard } = run.context;
  // Creating the user mails it credentials: beyond the guard's threshold it waits for approval.
  const creation = { clientNumber: run.clientNumber, recordType: 'contact', recordId: contact.contactId } as const;
  if (!(await guardCredentialsMail(db, portal, creation, credentialsMailGuard)).allowed) return 'held';
  try {
    await beforeGivingAccess();
    const user = await run.caseware.createContact(contact.fields);
    return { user, created: true, held: contact.fields };
  } catch (error) {
    // Refused (a duplicate email is adopted below): nobody was mailed.
    if (error instanceof CaseWareError && !error.retryable) await withdrawCredentialsMail(db, portal, creation);
    if (!(error instanceof CaseWareError && error.code === 'duplicate-email')) throw error;
    const user = await run.caseware.findUserByEmail(contact.fields.Email);
    if (!user) throw error;
    if (user.OwnerType !== 'Contact') return reportStaffEmail(run, contact, key);
    return { user, created: false, held: user };
  }
}

/** A contact without a known CaseWare user: claims its login, then finds or makes the user and takes it over. */
async function findOrCreateUser(
  run: CaseWareSyncRun,
  contact: DesiredCaseWareContact,
  identity: PortalIdentity | undefined,
  key: IdentityKey,
  beforeGivingAccess: () => Promise<void>,
): Promise<ContactUser | 'conflict' | 'held'> {
  const claim = await claimLogin(run.context.db, key, contact.loginKey);
  if (!claim.claimed) return reportSharedEmail(run, contact, claim.owner);
  // A contact never met is created at once; should CaseWare know the email after all (left from
  // before), its 409 leads to the same look-up.
  let found: ContactUser | 'conflict' | 'held' | undefined;
  if (identity !== undefined) {
    const user = await findEarlierUser(run, contact, identity);
    if (user && user.OwnerType !== 'Contact') return reportStaffEmail(run, contact, key);
    if (user) found = { user, created: false, held: user };
  }
  found ??= await createOrAdoptUser(run, contact, key, beforeGivingAccess);
  if (typeof found === 'string') return found;
  // Found by email, the user may have been a deleted contact's: it is this contact's now.
  await takeRemoteObject(run.context.db, key, { remoteId: found.user.CWGuid, loginKey: contact.loginKey });
  return found;
}

/** The first record sent with an email owns that CaseWare login. */
function ownsLogin(contact: DesiredCaseWareContact, holder: PortalIdentity | undefined): boolean {
  return !holder || (holder.recordType === 'contact' && holder.recordId === contact.contactId);
}

/** Writes the fields CaseWare holds otherwise; a refused email change frees the address it reserved. */
async function writeContactChanges(run: CaseWareSyncRun, key: IdentityKey, userId: string, changes: Partial<CaseWareContactFields>, changingEmail: boolean): Promise<void> {
  try {
    await run.caseware.updateContact(userId, changes);
  } catch (error) {
    // Refused: the new address stays free for others. Not answered (a timeout): CaseWare may
    // have taken it, so it stays reserved and the retry finds out.
    if (changingEmail && error instanceof CaseWareError && !error.retryable) await saveIdentity(run.context.db, key, { pendingLoginKey: null });
    throw error;
  }
}

export async function ensureContact(
  run: CaseWareSyncRun,
  contact: DesiredCaseWareContact,
  identity: PortalIdentity | undefined,
  check: ContactCheck,
): Promise<ContactOutcome | PendingShare> {
  const { db } = run.context;
  const key: IdentityKey = { portal, recordType: 'contact', recordId: contact.contactId, clientNumber: run.clientNumber };

  // Another record held the login when the sync began: asked again, since this sync may have just
  // let it go (a deleted contact's).
  const owner = ownsLogin(contact, check.owner) ? check.owner : await loginOwner(db, portal, contact.loginKey);
  if (owner && !ownsLogin(contact, owner)) return reportSharedEmail(run, contact, owner);

  // Trusted: an earlier sync finished this contact (user, share and group) and recorded what it
  // sent, and the reconcile found nothing wrong with it. Then CaseWare is not read: a change is
  // one call, no change none.
  let trusted = confirmed(identity) && check.drift.length === 0 && !check.entityIsNew;
  if (trusted && identity?.loginKey === contact.loginKey) {
    const sent = await sendTrustedChange(run, contact, identity.remoteId as string, identity.lastSent, key);
    if (sent) return sent;
    trusted = false;
  }

  const beforeGivingAccess = accessWriteAhead(db, key, identity?.access === 'active' && (trusted || identity.lastSent === null));
  let user: CaseWareUserRef | undefined = trusted
    ? { CWGuid: identity?.remoteId as string, OwnerType: 'Contact', Type: 'A' }
    : identity?.remoteId
      ? await run.caseware.getUser(identity.remoteId)
      : undefined;
  const knownUser = user !== undefined;
  let outcome: Exclude<ContactOutcome, 'conflict'> = 'unchanged';
  // A user this attempt created has no shares yet.
  let created = false;
  // What CaseWare holds for this user, to compare with what it should hold.
  let held: object | undefined = trusted ? (identity?.lastSent as object) : user;
  if (!user) {
    const found = await findOrCreateUser(run, contact, identity, key, beforeGivingAccess);
    if (typeof found === 'string') return found;
    ({ user, created, held } = found);
    // Found by email rather than made: adopted, and never mailed.
    outcome = created ? 'created' : 'adopted';
  }
  // An email change: reserve the new login besides the old one; until CaseWare has taken it,
  // the old one stays this contact's, so no other contact can adopt this CaseWare user by the
  // old address, even when this worker dies before it learns CaseWare's answer.
  const changingEmail = knownUser && (identity?.loginKey ?? null) !== contact.loginKey;
  if (changingEmail) {
    const claim = await claimLogin(db, key, contact.loginKey, { pending: true });
    if (!claim.claimed) return reportSharedEmail(run, contact, claim.owner);
  }

  // Only what CaseWare holds otherwise is written (an adopted user keeps the rest as it is).
  const changes = held === undefined ? contact.fields : differingValues(contact.fields, held as Partial<CaseWareContactFields>);
  if (Object.keys(changes).length > 0) {
    await writeContactChanges(run, key, user.CWGuid, changes, changingEmail);
    if (outcome !== 'adopted') outcome = 'updated';
  }
  await beforeGivingAccess();
  if (user.Type === 'I') {
    await run.caseware.reactivateUser(user.CWGuid);
    if (outcome === 'unchanged') outcome = 'updated';
  }
  const groupId = await run.ids.group();
  // Group membership is not read per contact: set when the contact was not finished before, when
  // the reconcile found it missing, or on a resync.
  if (groupId && (!confirmed(identity) || check.drift.some((d) => d.issue === 'group-missing' || d.issue === 'resync'))) {
    await run.caseware.setGroupMembership(groupId, user.CWGuid, true);
  }
  const userId = user.CWGuid;
  const complete = () =>
    run.ledger.record((writer) => saveIdentity(writer, key, { remoteId: userId, loginKey: contact.loginKey, pendingLoginKey: null, lastSent: contact.fields, access: 'active' }));
  if (!trusted && (created || !(await check.hasShare(userId)))) return { userId, outcome, complete };
  await complete();
  return outcome;
}
