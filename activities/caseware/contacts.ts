import type { DesiredCaseWareContact } from '../../src/domain/caseware';
import { CaseWareError } from '../../src/portals/caseware/errors';
import { saveIdentity, type PortalIdentity } from '../../src/sync/ledger';
import { driftedRecords, resyncRequested } from '../../src/sync/repairs';
import { ensureContact, type ContactOutcome, type PendingShare } from './contact';
import { forRecord, identityKey, markFinished, today, type CaseWareSyncRun } from './context';
import type { ContactIds } from './lookups';
import type { CaseWarePort } from './types';

/** The ledger's identities of the client's contacts, by contact id. */
export function contactIdentities(run: CaseWareSyncRun): Map<number, PortalIdentity> {
  return new Map(run.reading.identities.filter((i) => i.recordType === 'contact').map((i) => [i.recordId, i]));
}

/** Takes a contact's access away: unshared, out of the group, deactivated. */
async function revoke(run: CaseWareSyncRun, identity: PortalIdentity, ids: ContactIds) {
  const caseware: CaseWarePort = run.caseware;
  // Access written ahead with no id: an attempt may have created the user and died before it
  // learnt the id. The login key is this contact's claim, so a contact user with that email is it.
  if (!identity.remoteId && identity.access === 'active' && identity.loginKey) {
    const user = await caseware.findUserByEmail(identity.loginKey);
    if (user?.OwnerType === 'Contact') {
      identity = { ...identity, remoteId: user.CWGuid };
      await saveIdentity(run.context.db, identityKey(identity), { remoteId: user.CWGuid });
    }
  }
  if (!identity.remoteId) return;
  const remoteId = identity.remoteId;
  const ignoreMissing = (error: unknown) => {
    if (error instanceof CaseWareError && error.code === 'not-found') return;
    throw error;
  };
  const groupId = await ids.group();
  if (run.entityGuid) await caseware.unshareEntity(run.entityGuid, [remoteId], await ids.role()).catch(ignoreMissing);
  if (groupId) await caseware.setGroupMembership(groupId, remoteId, false).catch(ignoreMissing);
  await caseware.deactivateUser(remoteId, today()).catch(ignoreMissing);
}

/**
 * Revokes every contact that lost its link, or was deleted, or whose client left CaseWare.
 * `conflicted`: linked contacts that cannot be sent, which keep what they have.
 */
export async function revokeContacts(run: CaseWareSyncRun, conflicted: Set<number>): Promise<void> {
  const { reading, done, clientNumber } = run;
  const drifted = driftedRecords(reading.repairs.drift);
  const wanted = new Set(reading.desired.contacts.map((c) => c.contactId));
  const liveContactIds = new Set(reading.registry.contacts.map((c) => c.id));
  for (const identity of contactIdentities(run).values()) {
    if (wanted.has(identity.recordId) || conflicted.has(identity.recordId) || done.contacts.includes(identity.recordId)) continue;
    const deleted = !liveContactIds.has(identity.recordId);
    // Revoked already, unless the reconcile found it active or shared again in CaseWare.
    if (identity.access === 'revoked' && !(deleted && identity.loginKey) && !drifted.has(`contact:${identity.recordId}`)) continue;
    await forRecord(run.errors, { recordType: 'contact', recordId: identity.recordId }, `contact ${identity.recordId} at client ${clientNumber}`, async () => {
      await revoke(run, identity, run.ids);
      // A deleted contact gives up its login, and the ledger erases what was sent for it.
      await saveIdentity(run.context.db, identityKey(identity), { access: 'revoked', ...(deleted ? { loginKey: null, pendingLoginKey: null, lastSent: null } : {}) });
      run.summary.contactsRevoked += 1;
      markFinished(run, identity.recordId);
    });
  }
}

/** A contact ready in CaseWare and waiting to be shared with the entity. */
interface UnsharedContact {
  contactId: number;
  label: string;
  share: PendingShare;
}

function countOutcome(run: CaseWareSyncRun, outcome: ContactOutcome): void {
  const { summary } = run;
  if (outcome === 'created') summary.contactsCreated += 1;
  if (outcome === 'adopted') summary.contactsAdopted += 1;
  if (outcome === 'updated') summary.contactsUpdated += 1;
  if (outcome === 'held') summary.contactsHeld = (summary.contactsHeld ?? 0) + 1;
}

async function completeShare(run: CaseWareSyncRun, { contactId, share }: UnsharedContact): Promise<void> {
  await share.complete();
  countOutcome(run, share.outcome);
  markFinished(run, contactId);
}

/** Shares the entity with every contact waiting for it; false when CaseWare refuses the batch. */
async function shareTogether(run: CaseWareSyncRun, entityGuid: string, unshared: UnsharedContact[]): Promise<boolean> {
  const together = await run.caseware.shareEntity(entityGuid, unshared.map((u) => u.share.userId), await run.ids.role()).then(
    () => true,
    (error: unknown) => {
      if (error instanceof CaseWareError && !error.retryable) return false;
      throw error;
    },
  );
  if (together) {
    for (const pending of unshared.splice(0)) await completeShare(run, pending);
  }
  return together;
}

/**
 * Whether the entity is shared with a user under the contact role. The entity's shares are read
 * once, and only when a contact is checked against CaseWare rather than the ledger.
 */
function shareReader(run: CaseWareSyncRun): (userId: string) => Promise<boolean> {
  let shared: Promise<{ userId: string; roleId: string }[]> | undefined;
  return async (userId: string) => {
    // An entity this attempt created is shared with nobody yet.
    if (!run.entityGuid || !run.reading.desired.entity || run.summary.entity === 'created') return false;
    shared ??= run.caseware.listEntityRoleAssignments(run.entityGuid);
    const roleId = await run.ids.role();
    return (await shared).some((s) => s.userId === userId && s.roleId === roleId);
  };
}

/** Ensures each desired contact not yet finished; those whose share is pending are collected in `unshared`. */
async function ensureEachContact(run: CaseWareSyncRun, entityGuid: string, unshared: UnsharedContact[]): Promise<void> {
  const { reading, clientNumber } = run;
  const identities = contactIdentities(run);
  const entityIdentity = reading.identities.find((i) => i.recordType === 'client');
  // An operator's resync names the client and has every contact checked as if the reconcile had named it.
  const resync = resyncRequested(reading.repairs.drift);
  const contactDrift = (contactId: number) =>
    reading.repairs.drift.filter((d) => (d.recordType === 'contact' && d.recordId === contactId) || (resync && d.issue === 'resync'));
  const hasShare = shareReader(run);
  for (const contact of reading.desired.contacts) {
    if (run.done.contacts.includes(contact.contactId)) continue;
    const label = `contact ${contact.contactId} at client ${clientNumber}`;
    await forRecord(run.errors, { recordType: 'contact', recordId: contact.contactId }, label, async () => {
      const result = await ensureContact(run, contact, identities.get(contact.contactId), {
        hasShare,
        drift: contactDrift(contact.contactId),
        owner: reading.owners.get(contact.loginKey),
        // A new entity (made again after it was deleted, or adopted) is shared with nobody yet.
        entityIsNew: entityGuid !== entityIdentity?.remoteId,
      });
      recordContactResult(run, contact, label, result, unshared);
    });
  }
}

function recordContactResult(run: CaseWareSyncRun, contact: DesiredCaseWareContact, label: string, result: ContactOutcome | PendingShare, unshared: UnsharedContact[]): void {
  if (typeof result === 'object') {
    unshared.push({ contactId: contact.contactId, label, share: result });
    return;
  }
  countOutcome(run, result);
  // A contact with a sync error is tried again by a retry, so that the error stays reported.
  if (result !== 'conflict' && result !== 'held') markFinished(run, contact.contactId);
}

/** Brings every linked contact to what the registry wants and shares the entity with those not yet sharing it. */
export async function ensureContacts(run: CaseWareSyncRun): Promise<void> {
  const entityGuid = run.entityGuid;
  if (!run.reading.desired.entity || !entityGuid) return;
  // Contacts whose user is ready but not yet shared with the entity: shared in one call.
  const unshared: UnsharedContact[] = [];
  try {
    await ensureEachContact(run, entityGuid, unshared);
  } catch (error) {
    // A retry resumes after the finished contacts: those made ready before the failure are
    // shared first, if CaseWare lets us, and so are not looked up again.
    if (unshared.length > 0) await shareTogether(run, entityGuid, unshared).catch(() => undefined);
    throw error;
  }
  // Refused as a whole, each is shared on its own, so that only the one CaseWare refuses gets
  // the sync error.
  if (unshared.length > 1) await shareTogether(run, entityGuid, unshared);
  for (const pending of unshared) {
    await forRecord(run.errors, { recordType: 'contact', recordId: pending.contactId }, pending.label, async () => {
      await run.caseware.shareEntity(entityGuid, [pending.share.userId], await run.ids.role());
      await completeShare(run, pending);
    });
  }
}
