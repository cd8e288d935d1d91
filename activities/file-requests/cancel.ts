import { identitiesForClient } from '../../src/sync/ledger';
import { ignoreNotFound, waitWhileHeld } from './answer-grants';
import { classified, type FileRequestContext, type FileRequestState } from './context';
import { contactOfUser } from './recipients';
import { alreadyClosed, closeFileRequest, loadFileRequest } from './request-status';

/** Staff cancelled: cancelled in CaseWare too, unless a contact answered it first. */
export async function cancelFileRequestInPortal(context: FileRequestContext, { fileRequestId, cancelledBy }: { fileRequestId: number; cancelledBy: string }): Promise<FileRequestState> {
  return classified(async () => {
    const row = await loadFileRequest(context, fileRequestId);
    if (row.closed_at) return alreadyClosed(context, row);
    if (row.remote_id) {
      await waitWhileHeld(context, row.id, 'the cancellation');
      const remote = await context.caseware.cancelFileRequest(row.remote_id).catch((error: unknown) => {
        ignoreNotFound(error);
        return undefined;
      });
      if (remote?.Status === 'Answered') {
        const identities = await identitiesForClient(context.db, 'caseware', row.client_number);
        await closeFileRequest(context, row, 'answered', { filesReceived: remote.Files.length, answeredByContactId: contactOfUser(identities, remote.AnsweredBy) });
        return { outcome: 'answered', recipients: 0, removed: 0 };
      }
    }
    await closeFileRequest(context, row, 'cancelled', { cancelledBy });
    return { outcome: 'cancelled', recipients: 0, removed: 0 };
  });
}
