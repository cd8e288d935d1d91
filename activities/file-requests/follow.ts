import { shareGrants, waitWhileHeld } from './answer-grants';
import { classified, type FileRequestContext, type FileRequestState } from './context';
import { contactOfUser, removeRecipients, recipientsOf } from './recipients';
import { alreadyClosed, closeFileRequest, closeWithoutRecipients, loadFileRequest } from './request-status';

/**
 * One look at the request: answered or cancelled in CaseWare Cloud, and whether each recipient
 * can still answer. Recipients who lost access are taken off the request in CaseWare; when the
 * last one goes the request is cancelled there and flagged `no-recipients`.
 */
export async function followFileRequest(context: FileRequestContext, { fileRequestId }: { fileRequestId: number }): Promise<FileRequestState> {
  return classified(async () => {
    const row = await loadFileRequest(context, fileRequestId);
    if (row.closed_at) return alreadyClosed(context, row);
    const { keep, lost, entityGuid, identities } = await recipientsOf(context, row);
    const remote = row.remote_id ? await context.caseware.getFileRequest(row.remote_id) : undefined;
    if (remote?.Status === 'Answered') {
      await closeFileRequest(context, row, 'answered', { filesReceived: remote.Files.length, answeredByContactId: contactOfUser(identities, remote.AnsweredBy) });
      return { outcome: 'answered', recipients: keep.length, removed: 0 };
    }
    if (!remote || remote.Status === 'Cancelled') {
      // Cancelled (or deleted) by someone in CaseWare Cloud itself.
      await closeFileRequest(context, row, 'cancelled', { cancelledBy: 'caseware-cloud' });
      return { outcome: 'cancelled', recipients: keep.length, removed: 0 };
    }
    // A grant taken back by a request that closed while this one was being made is shared again.
    if (entityGuid) await shareGrants(context, row, entityGuid, keep);
    if (lost.length === 0) return { outcome: 'open', recipients: keep.length, removed: 0 };
    await waitWhileHeld(context, row.id, 'taking off the recipients who lost access');
    if (keep.length === 0) {
      await removeRecipients(context, entityGuid, lost, row.id);
      return { ...(await closeWithoutRecipients(context, row)), removed: lost.length };
    }
    // CaseWare first: a retry after a lost answer sets the same list again.
    await context.caseware.setFileRequestRecipients(remote.CWGuid, keep.map((k) => k.userId));
    await removeRecipients(context, entityGuid, lost, row.id);
    return { outcome: 'open', recipients: keep.length, removed: lost.length };
  });
}
