import { CaseWareError } from '../../src/portals/caseware/errors';
import { waitWhileHeld } from './answer-grants';
import { classified, type FileRequestContext } from './context';
import { loadFileRequest } from './request-status';

/** The reminder went out: recorded as sent and counted once, however often this is called. */
async function confirmReminder({ db }: FileRequestContext, fileRequestId: number, reminder: number): Promise<boolean> {
  await db.transaction(async (trx) => {
    const confirmed = await trx('file_request_reminders')
      .where({ file_request_id: fileRequestId, reminder })
      .whereNull('sent_at')
      .update({ sent_at: trx.fn.now() });
    if (confirmed === 0) return;
    await trx('file_requests')
      .where({ id: fileRequestId })
      .update({ reminders_sent: trx.raw('reminders_sent + 1'), last_reminded_at: trx.fn.now(), updated_at: trx.fn.now() });
  });
  return true;
}

/**
 * Mails the recipients again; a request no longer open is not reminded. `reminder` is which
 * reminder of the request's schedule this is: the key it is recorded under before CaseWare
 * Cloud is asked, so that a retry after a lost answer (the portal mailed, the answer never
 * came) asks CaseWare whether its count of reminders grew instead of mailing again. Where
 * CaseWare does not say, a reminder asked for and not confirmed counts as sent: one missed
 * reminder is better than a second mail.
 */
export async function sendFileRequestReminder(context: FileRequestContext, { fileRequestId, reminder }: { fileRequestId: number; reminder: number }): Promise<{ sent: boolean }> {
  return classified(async () => {
    const row = await loadFileRequest(context, fileRequestId);
    if (row.closed_at || !row.remote_id) return { sent: false };
    const key = { file_request_id: row.id, reminder };
    const noted = await context.db('file_request_reminders').where(key).first<{ portal_count_before: number | null; sent_at: Date | null } | undefined>();
    if (noted?.sent_at) return { sent: true };
    await waitWhileHeld(context, row.id, 'the reminder');
    const remote = await context.caseware.getFileRequest(row.remote_id);
    // Answered or cancelled meanwhile: the next look at it says so.
    if (remote?.Status !== 'Open') return { sent: false };
    if (noted) {
      // An earlier attempt asked CaseWare and never learnt whether it reminded.
      if (noted.portal_count_before === null || remote.Reminders === null || remote.Reminders > noted.portal_count_before) {
        return { sent: await confirmReminder(context, row.id, reminder) };
      }
    } else {
      await context.db('file_request_reminders').insert({ ...key, portal_count_before: remote.Reminders }).onConflict(['file_request_id', 'reminder']).ignore();
    }
    try {
      await context.caseware.remindFileRequest(row.remote_id);
    } catch (error) {
      if (error instanceof CaseWareError && !error.retryable) return { sent: false };
      throw error;
    }
    return { sent: await confirmReminder(context, row.id, reminder) };
  });
}
