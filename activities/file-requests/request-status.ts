import { ApplicationFailure } from '@temporalio/common';
import { setFileRequestStatus } from '../../src/registry/file-requests';
import { ignoreNotFound, releaseAnswerGrants } from './answer-grants';
import type { FileRequestRow } from '../../src/registry/file-requests';
import type { FileRequestContext, FileRequestOutcome, FileRequestState } from './context';
import { fileRequestMissingFailure } from '../../workflows/file-request-definitions';

const closedOutcome: Record<string, FileRequestOutcome> = {
  answered: 'answered',
  cancelled: 'cancelled',
  'no-recipients': 'no-recipients',
  failed: 'failed',
};

/** The request's row; a request the registry does not have fails the activity for good. */
export async function loadFileRequest({ db }: FileRequestContext, fileRequestId: number): Promise<FileRequestRow> {
  const row = await db('file_requests').where({ id: fileRequestId }).first<FileRequestRow | undefined>();
  if (!row) throw ApplicationFailure.nonRetryable(`no file request ${fileRequestId}`, fileRequestMissingFailure);
  return row;
}

/** Closes the request in the registry, and takes back the answering roles nothing needs any more. */
export async function closeFileRequest(context: FileRequestContext, row: FileRequestRow, status: 'answered' | 'cancelled' | 'no-recipients' | 'failed', details: Parameters<typeof setFileRequestStatus>[3]): Promise<void> {
  await setFileRequestStatus(context.db, row.id, status, details);
  await releaseAnswerGrants(context, row);
}

/** A request closed already (a retry, or a late activity): what it ended as; roles nothing needs are taken back. */
export async function alreadyClosed(context: FileRequestContext, row: FileRequestRow): Promise<FileRequestState> {
  await releaseAnswerGrants(context, row);
  return { outcome: closedOutcome[row.status] ?? 'cancelled', recipients: 0, removed: 0 };
}

/** Every recipient has gone: the request is cancelled in CaseWare and flagged to the staff. */
export async function closeWithoutRecipients(context: FileRequestContext, row: FileRequestRow): Promise<FileRequestState> {
  if (row.remote_id) await context.caseware.cancelFileRequest(row.remote_id).catch(ignoreNotFound);
  await closeFileRequest(context, row, 'no-recipients', { failure: 'every recipient lost access to CaseWare Cloud; nobody can answer this request' });
  return { outcome: 'no-recipients', recipients: 0, removed: 0 };
}

/** The due date passed: an open request is marked overdue (a closed one stays as it is). */
export async function markFileRequestOverdue({ db }: FileRequestContext, { fileRequestId }: { fileRequestId: number }): Promise<void> {
  await db('file_requests').where({ id: fileRequestId, status: 'open' }).whereNull('closed_at').update({ status: 'overdue', updated_at: db.fn.now() });
}
