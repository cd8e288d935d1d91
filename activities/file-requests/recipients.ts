import { recipientFacts } from '../../src/registry/file-requests';
import { isRegistryError } from '../../src/registry/errors';
import { identitiesForClient, type PortalIdentity } from '../../src/sync/ledger';
import { answeringRoleId, ignoreNotFound } from './answer-grants';
import type { FileRequestRow } from '../../src/registry/file-requests';
import type { FileRequestContext, LostRecipient, RecipientToKeep } from './context';

/**
 * The request's active recipients, split into those who can still answer (with their CaseWare
 * user) and those who lost access since: link off, contact deleted, offboarded, or no login left.
 */
export async function recipientsOf(context: FileRequestContext, row: FileRequestRow): Promise<{ keep: RecipientToKeep[]; lost: LostRecipient[]; entityGuid: string | null; identities: PortalIdentity[] }> {
  const { db } = context;
  const facts = await recipientFacts(db, row.client_number).catch((error: unknown) => {
    if (isRegistryError(error) && error.code === 'not-found') return undefined;
    throw error;
  });
  const identities = await identitiesForClient(db, 'caseware', row.client_number);
  const active = (await db('file_request_recipients').where({ file_request_id: row.id, status: 'active' }).orderBy('contact_id')) as { contact_id: number }[];
  const grants = new Map(
    ((await db('caseware_answer_grants').whereIn('contact_id', active.map((r) => r.contact_id))) as { contact_id: number; shared_at: Date | null }[]).map((g) => [
      g.contact_id,
      g,
    ]),
  );
  const keep: RecipientToKeep[] = [];
  const lost: LostRecipient[] = [];
  for (const { contact_id: contactId } of active) {
    const fact = facts?.contacts.get(contactId);
    const userId = identities.find((i) => i.recordType === 'contact' && i.recordId === contactId)?.remoteId ?? null;
    const granted = grants.has(contactId);
    if (!facts?.entityGuid || !fact?.linked) lost.push({ contactId, userId, reason: 'no longer linked to CaseWare Cloud', granted });
    else if (!fact.inCaseWare || userId === null) lost.push({ contactId, userId, reason: 'has no CaseWare Cloud login any more', granted });
    else keep.push({ contactId, userId, grantToShare: granted && grants.get(contactId)?.shared_at === null });
  }
  const entityGuid = facts?.entityGuid ?? identities.find((i) => i.recordType === 'client')?.remoteId ?? null;
  return { keep, lost, entityGuid, identities };
}

/** Marks recipients removed, and takes back the answering role given for file requests. */
export async function removeRecipients(context: FileRequestContext, entityGuid: string | null, lost: LostRecipient[], fileRequestId: number) {
  const { db, caseware } = context;
  if (lost.length === 0) return;
  const granted = lost.filter((l) => l.granted && l.userId !== null);
  if (granted.length > 0 && entityGuid) {
    await caseware.unshareEntity(entityGuid, granted.map((g) => g.userId as string), await answeringRoleId(context)).catch(ignoreNotFound);
  }
  await db.transaction(async (trx) => {
    for (const l of lost) {
      await trx('file_request_recipients')
        .where({ file_request_id: fileRequestId, contact_id: l.contactId, status: 'active' })
        .update({ status: 'removed', removed_reason: l.reason, removed_at: trx.fn.now() });
    }
    if (granted.length > 0) await trx('caseware_answer_grants').whereIn('contact_id', granted.map((g) => g.contactId)).delete();
  });
}

/** The contact a CaseWare user is, by the ledger. */
export function contactOfUser(identities: PortalIdentity[], userId: string | null): number | null {
  return identities.find((i) => i.recordType === 'contact' && i.remoteId === userId)?.recordId ?? null;
}
