import { ApplicationFailure } from '@temporalio/common';
import { answeringRoleName } from '../../src/domain/file-requests';
import { CaseWareError } from '../../src/portals/caseware/errors';
import { dropAnswerGrants, unneededAnswerGrants } from '../../src/registry/file-requests';
import { identitiesForClient } from '../../src/sync/ledger';
import { isPortalHeld } from '../../src/sync/portal-holds';
import type { FileRequestRow } from '../../src/registry/file-requests';
import type { FileRequestContext, RecipientToKeep } from './context';
import { configurationFailure } from '../../workflows/definitions';

export function ignoreNotFound(error: unknown): void {
  if (error instanceof CaseWareError && error.code === 'not-found') return;
  throw error;
}

export async function answeringRoleId({ caseware }: FileRequestContext): Promise<string> {
  const role = await caseware.findRoleByName(answeringRoleName);
  if (!role) throw ApplicationFailure.nonRetryable(`CaseWare Cloud has no role named "${answeringRoleName}"`, configurationFailure);
  return role.CWGuid;
}

/**
 * While an operator holds CaseWare Cloud nothing is written to it, file requests included: the
 * activity fails retryably (type `PortalHeld`) and Temporal tries it again, at most a minute
 * apart, until the portal is released. Reading the request's state goes on.
 */
export async function waitWhileHeld({ db }: FileRequestContext, fileRequestId: number, what: string): Promise<void> {
  if (!(await isPortalHeld(db, 'caseware'))) return;
  throw ApplicationFailure.retryable(
    `CaseWare Cloud is held (PUT /sync/portals/caseware/hold): ${what} of file request ${fileRequestId} waits until it is released`,
    'PortalHeld',
  );
}

/**
 * Takes back "Contact - Entity Staff" from each recipient who was given it for file requests and
 * whom no other open request goes to: a closed request needs nobody's role. Called once the
 * request is closed, and again by any retry that finds it closed, so a release cut short by a
 * failure (or waiting while CaseWare Cloud is held) is finished.
 */
export async function releaseAnswerGrants(context: FileRequestContext, row: FileRequestRow): Promise<void> {
  const { db, caseware } = context;
  const contactIds = await unneededAnswerGrants(db, row.id);
  if (contactIds.length === 0) return;
  const identities = await identitiesForClient(db, 'caseware', row.client_number);
  const entityGuid = identities.find((i) => i.recordType === 'client')?.remoteId ?? null;
  const userIds = contactIds.flatMap((id) => identities.find((i) => i.recordType === 'contact' && i.recordId === id)?.remoteId ?? []);
  if (entityGuid && userIds.length > 0) {
    await waitWhileHeld(context, row.id, 'taking back the answering role');
    await caseware.unshareEntity(entityGuid, userIds, await answeringRoleId(context)).catch(ignoreNotFound);
  }
  await dropAnswerGrants(db, row.id, contactIds);
}

/** Shares "Contact - Entity Staff" with the recipients given it that CaseWare Cloud does not have it for yet. */
export async function shareGrants(context: FileRequestContext, row: FileRequestRow, entityGuid: string, keep: RecipientToKeep[]): Promise<void> {
  const { db, caseware } = context;
  const toShare = keep.filter((k) => k.grantToShare);
  if (toShare.length === 0) return;
  await waitWhileHeld(context, row.id, 'sharing the answering role');
  await caseware.shareEntity(entityGuid, toShare.map((k) => k.userId), await answeringRoleId(context));
  await db('caseware_answer_grants').whereIn('contact_id', toShare.map((k) => k.contactId)).update({ shared_at: db.fn.now() });
}
