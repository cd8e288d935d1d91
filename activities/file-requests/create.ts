import { CaseWareError } from '../../src/portals/caseware/errors';
import { shareGrants, waitWhileHeld } from './answer-grants';
import type { FileRequestRow } from '../../src/registry/file-requests';
import { classified, type FileRequestContext, type FileRequestState, type RecipientToKeep } from './context';
import { removeRecipients, recipientsOf } from './recipients';
import { alreadyClosed, closeFileRequest, closeWithoutRecipients, loadFileRequest } from './request-status';

/**
 * Makes the request in CaseWare Cloud and records its id. Undefined: made; otherwise the request
 * failed, since CaseWare refused it for good.
 */
async function createInCaseWare(context: FileRequestContext, row: FileRequestRow, entityGuid: string, keep: RecipientToKeep[]): Promise<'failed' | undefined> {
  const { db, caseware } = context;
  try {
    const created = await caseware.createFileRequest({
      EntityId: entityGuid,
      Subject: row.subject,
      Description: row.description,
      DueDate: row.due_at ? row.due_at.toISOString().slice(0, 10) : null,
      Recipients: keep.map((k) => k.userId),
      ExternalRef: row.workflow_id,
    });
    await db('file_requests').where({ id: row.id }).update({ remote_id: created.CWGuid, updated_at: db.fn.now() });
    return undefined;
  } catch (error) {
    if (error instanceof CaseWareError && !error.retryable && error.scope === 'record') {
      await closeFileRequest(context, row, 'failed', { failure: `CaseWare Cloud refused the file request: ${error.message}` });
      return 'failed';
    }
    throw error;
  }
}

/**
 * Creates the request in CaseWare Cloud for its recipients. Idempotent: the request carries
 * its workflow id as ExternalRef, so a retry after a lost answer finds the request the first
 * attempt made instead of making a second one. A refusal CaseWare will not change its mind on
 * fails the request (status `failed`, with CaseWare's reason) instead of retrying forever.
 */
export async function createFileRequestInPortal(context: FileRequestContext, { fileRequestId }: { fileRequestId: number }): Promise<FileRequestState> {
  return classified(async () => {
    const row = await loadFileRequest(context, fileRequestId);
    if (row.closed_at) return alreadyClosed(context, row);
    await waitWhileHeld(context, row.id, 'the creation');
    const { keep, lost, entityGuid } = await recipientsOf(context, row);
    await removeRecipients(context, entityGuid, lost, row.id);
    if (!entityGuid) {
      await closeFileRequest(context, row, 'failed', { failure: `client ${row.client_number} is no longer in CaseWare Cloud` });
      return { outcome: 'failed', recipients: 0, removed: lost.length };
    }
    if (keep.length === 0) return { ...(await closeWithoutRecipients(context, row)), removed: lost.length };
    await shareGrants(context, row, entityGuid, keep);
    if (!row.remote_id && (await createInCaseWare(context, row, entityGuid, keep)) === 'failed') {
      return { outcome: 'failed', recipients: keep.length, removed: lost.length };
    }
    return { outcome: 'open', recipients: keep.length, removed: lost.length };
  });
}
