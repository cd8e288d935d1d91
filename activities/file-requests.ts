import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../src/db';
import { answeringRoleName } from '../src/domain/file-requests';
import { CaseWareError } from '../src/portals/caseware/errors';
import type { CwFileRequest, CwFileRequestCreateBody } from '../src/portals/caseware/file-request-api';
import { dropAnswerGrants, recipientFacts, setFileRequestStatus, unneededAnswerGrants } from '../src/registry/file-requests';
import { isRegistryError } from '../src/registry/errors';
import { identitiesForClient } from '../src/sync/ledger';
import { isPortalHeld } from '../src/sync/portal-holds';
import { toActivityFailure } from './failures';

/** The CaseWare Cloud calls a file request needs; `CaseWareClient` provides them over HTTP. */
export interface FileRequestPort {
  createFileRequest(body: CwFileRequestCreateBody): Promise<CwFileRequest>;
  getFileRequest(guid: string): Promise<CwFileRequest | undefined>;
  setFileRequestRecipients(guid: string, recipients: string[]): Promise<CwFileRequest>;
  cancelFileRequest(guid: string): Promise<CwFileRequest>;
  remindFileRequest(guid: string): Promise<void>;
  findRoleByName(name: string): Promise<{ CWGuid: string } | undefined>;
  shareEntity(entityGuid: string, userIds: string[], roleId: string): Promise<void>;
  unshareEntity(entityGuid: string, userIds: string[], roleId: string): Promise<void>;
}

export interface FileRequestActivityDeps {
  db: Db;
  caseware: FileRequestPort;
}

/** Where a request stands after an activity: what the workflow decides on. Ids and counts only. */
export type FileRequestOutcome = 'open' | 'answered' | 'cancelled' | 'no-recipients' | 'failed';

export interface FileRequestState {
  outcome: FileRequestOutcome;
  /** Recipients who can still answer. */
  recipients: number;
  /** Recipients this call removed because they lost access. */
  removed: number;
}

interface Row {
  id: number;
  client_number: string;
  subject: string;
  description: string;
  due_at: Date | null;
  status: string;
  workflow_id: string;
  remote_id: string | null;
  closed_at: Date | null;
}

const closedOutcome: Record<string, FileRequestOutcome> = {
  answered: 'answered',
  cancelled: 'cancelled',
  'no-recipients': 'no-recipients',
  failed: 'failed',
};

function ignoreNotFound(error: unknown): void {
  if (error instanceof CaseWareError && error.code === 'not-found') return;
  throw error;
}

export function createFileRequestActivities({ db, caseware }: FileRequestActivityDeps) {
  async function load(fileRequestId: number): Promise<Row> {
    const row = await db('file_requests').where({ id: fileRequestId }).first<Row | undefined>();
    if (!row) throw ApplicationFailure.nonRetryable(`no file request ${fileRequestId}`, 'FileRequestMissing');
    return row;
  }

  async function answeringRoleId(): Promise<string> {
    const role = await caseware.findRoleByName(answeringRoleName);
    if (!role) throw ApplicationFailure.nonRetryable(`CaseWare Cloud has no role named "${answeringRoleName}"`, 'ConfigurationError');
    return role.CWGuid;
  }

  /**
   * The request's active recipients, split into those who can still answer (with their CaseWare
   * user) and those who lost access since: link off, contact deleted, offboarded, or no login left.
   */
  async function recipientsOf(row: Row) {
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
    const keep: { contactId: number; userId: string; grantToShare: boolean }[] = [];
    const lost: { contactId: number; userId: string | null; reason: string; granted: boolean }[] = [];
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
  async function removeRecipients(entityGuid: string | null, lost: Awaited<ReturnType<typeof recipientsOf>>['lost'], fileRequestId: number) {
    if (lost.length === 0) return;
    const granted = lost.filter((l) => l.granted && l.userId !== null);
    if (granted.length > 0 && entityGuid) {
      await caseware.unshareEntity(entityGuid, granted.map((g) => g.userId as string), await answeringRoleId()).catch(ignoreNotFound);
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

  /**
   * Takes back "Contact - Entity Staff" from each recipient who was given it for file requests and
   * whom no other open request goes to: a closed request needs nobody's role. Called once the
   * request is closed, and again by any retry that finds it closed, so a release cut short by a
   * failure (or waiting while CaseWare Cloud is held) is finished.
   */
  async function releaseAnswerGrants(row: Row): Promise<void> {
    const contactIds = await unneededAnswerGrants(db, row.id);
    if (contactIds.length === 0) return;
    const identities = await identitiesForClient(db, 'caseware', row.client_number);
    const entityGuid = identities.find((i) => i.recordType === 'client')?.remoteId ?? null;
    const userIds = contactIds.flatMap((id) => identities.find((i) => i.recordType === 'contact' && i.recordId === id)?.remoteId ?? []);
    if (entityGuid && userIds.length > 0) {
      await waitWhileHeld(row.id, 'taking back the answering role');
      await caseware.unshareEntity(entityGuid, userIds, await answeringRoleId()).catch(ignoreNotFound);
    }
    await dropAnswerGrants(db, row.id, contactIds);
  }

  /** Closes the request in the registry, and takes back the answering roles nothing needs any more. */
  async function close(row: Row, status: 'answered' | 'cancelled' | 'no-recipients' | 'failed', details: Parameters<typeof setFileRequestStatus>[3]): Promise<void> {
    await setFileRequestStatus(db, row.id, status, details);
    await releaseAnswerGrants(row);
  }

  /** A request closed already (a retry, or a late activity): what it ended as; roles nothing needs are taken back. */
  async function alreadyClosed(row: Row): Promise<FileRequestState> {
    await releaseAnswerGrants(row);
    return { outcome: closedOutcome[row.status] ?? 'cancelled', recipients: 0, removed: 0 };
  }

  /** Shares "Contact - Entity Staff" with the recipients given it that CaseWare Cloud does not have it for yet. */
  async function shareGrants(row: Row, entityGuid: string, keep: Awaited<ReturnType<typeof recipientsOf>>['keep']): Promise<void> {
    const toShare = keep.filter((k) => k.grantToShare);
    if (toShare.length === 0) return;
    await waitWhileHeld(row.id, 'sharing the answering role');
    await caseware.shareEntity(entityGuid, toShare.map((k) => k.userId), await answeringRoleId());
    await db('caseware_answer_grants').whereIn('contact_id', toShare.map((k) => k.contactId)).update({ shared_at: db.fn.now() });
  }

  /** Every recipient has gone: the request is cancelled in CaseWare and flagged to the staff. */
  async function closeWithoutRecipients(row: Row): Promise<FileRequestState> {
    if (row.remote_id) await caseware.cancelFileRequest(row.remote_id).catch(ignoreNotFound);
    await close(row, 'no-recipients', { failure: 'every recipient lost access to CaseWare Cloud; nobody can answer this request' });
    return { outcome: 'no-recipients', recipients: 0, removed: 0 };
  }

  function contactOfUser(identities: Awaited<ReturnType<typeof recipientsOf>>['identities'], userId: string | null): number | null {
    return identities.find((i) => i.recordType === 'contact' && i.remoteId === userId)?.recordId ?? null;
  }

  /**
   * While an operator holds CaseWare Cloud nothing is written to it, file requests included: the
   * activity fails retryably (type `PortalHeld`) and Temporal tries it again, at most a minute
   * apart, until the portal is released. Reading the request's state goes on.
   */
  async function waitWhileHeld(fileRequestId: number, what: string): Promise<void> {
    if (!(await isPortalHeld(db, 'caseware'))) return;
    throw ApplicationFailure.retryable(
      `CaseWare Cloud is held (PUT /sync/portals/caseware/hold): ${what} of file request ${fileRequestId} waits until it is released`,
      'PortalHeld',
    );
  }

  /** The reminder went out: recorded as sent and counted once, however often this is called. */
  async function confirmReminder(fileRequestId: number, reminder: number): Promise<boolean> {
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

  async function classified<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toActivityFailure(error);
    }
  }

  return {
    /**
     * Creates the request in CaseWare Cloud for its recipients. Idempotent: the request carries
     * its workflow id as ExternalRef, so a retry after a lost answer finds the request the first
     * attempt made instead of making a second one. A refusal CaseWare will not change its mind on
     * fails the request (status `failed`, with CaseWare's reason) instead of retrying forever.
     */
    async createFileRequestInPortal({ fileRequestId }: { fileRequestId: number }): Promise<FileRequestState> {
      return classified(async () => {
        const row = await load(fileRequestId);
        if (row.closed_at) return alreadyClosed(row);
        await waitWhileHeld(row.id, 'the creation');
        const { keep, lost, entityGuid } = await recipientsOf(row);
        await removeRecipients(entityGuid, lost, row.id);
        if (!entityGuid) {
          await close(row, 'failed', { failure: `client ${row.client_number} is no longer in CaseWare Cloud` });
          return { outcome: 'failed', recipients: 0, removed: lost.length };
        }
        if (keep.length === 0) return { ...(await closeWithoutRecipients(row)), removed: lost.length };
        await shareGrants(row, entityGuid, keep);
        if (!row.remote_id) {
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
          } catch (error) {
            if (error instanceof CaseWareError && !error.retryable && error.scope === 'record') {
              await close(row, 'failed', { failure: `CaseWare Cloud refused the file request: ${error.message}` });
              return { outcome: 'failed', recipients: keep.length, removed: lost.length };
            }
            throw error;
          }
        }
        return { outcome: 'open', recipients: keep.length, removed: lost.length };
      });
    },

    /**
     * One look at the request: answered or cancelled in CaseWare Cloud, and whether each recipient
     * can still answer. Recipients who lost access are taken off the request in CaseWare; when the
     * last one goes the request is cancelled there and flagged `no-recipients`.
     */
    async followFileRequest({ fileRequestId }: { fileRequestId: number }): Promise<FileRequestState> {
      return classified(async () => {
        const row = await load(fileRequestId);
        if (row.closed_at) return alreadyClosed(row);
        const { keep, lost, entityGuid, identities } = await recipientsOf(row);
        const remote = row.remote_id ? await caseware.getFileRequest(row.remote_id) : undefined;
        if (remote?.Status === 'Answered') {
          await close(row, 'answered', { filesReceived: remote.Files.length, answeredByContactId: contactOfUser(identities, remote.AnsweredBy) });
          return { outcome: 'answered', recipients: keep.length, removed: 0 };
        }
        if (!remote || remote.Status === 'Cancelled') {
          // Cancelled (or deleted) by someone in CaseWare Cloud itself.
          await close(row, 'cancelled', { cancelledBy: 'caseware-cloud' });
          return { outcome: 'cancelled', recipients: keep.length, removed: 0 };
        }
        // A grant taken back by a request that closed while this one was being made is shared again.
        if (entityGuid) await shareGrants(row, entityGuid, keep);
        if (lost.length === 0) return { outcome: 'open', recipients: keep.length, removed: 0 };
        await waitWhileHeld(row.id, 'taking off the recipients who lost access');
        if (keep.length === 0) {
          await removeRecipients(entityGuid, lost, row.id);
          return { ...(await closeWithoutRecipients(row)), removed: lost.length };
        }
        // CaseWare first: a retry after a lost answer sets the same list again.
        await caseware.setFileRequestRecipients(remote.CWGuid, keep.map((k) => k.userId));
        await removeRecipients(entityGuid, lost, row.id);
        return { outcome: 'open', recipients: keep.length, removed: lost.length };
      });
    },

    /**
     * Mails the recipients again; a request no longer open is not reminded. `reminder` is which
     * reminder of the request's schedule this is: the key it is recorded under before CaseWare
     * Cloud is asked, so that a retry after a lost answer (the portal mailed, the answer never
     * came) asks CaseWare whether its count of reminders grew instead of mailing again. Where
     * CaseWare does not say, a reminder asked for and not confirmed counts as sent: one missed
     * reminder is better than a second mail.
     */
    async sendFileRequestReminder({ fileRequestId, reminder }: { fileRequestId: number; reminder: number }): Promise<{ sent: boolean }> {
      return classified(async () => {
        const row = await load(fileRequestId);
        if (row.closed_at || !row.remote_id) return { sent: false };
        const key = { file_request_id: row.id, reminder };
        const noted = await db('file_request_reminders').where(key).first<{ portal_count_before: number | null; sent_at: Date | null } | undefined>();
        if (noted?.sent_at) return { sent: true };
        await waitWhileHeld(row.id, 'the reminder');
        const remote = await caseware.getFileRequest(row.remote_id);
        // Answered or cancelled meanwhile: the next look at it says so.
        if (remote?.Status !== 'Open') return { sent: false };
        if (noted) {
          // An earlier attempt asked CaseWare and never learnt whether it reminded.
          if (noted.portal_count_before === null || remote.Reminders === null || remote.Reminders > noted.portal_count_before) {
            return { sent: await confirmReminder(row.id, reminder) };
          }
        } else {
          await db('file_request_reminders').insert({ ...key, portal_count_before: remote.Reminders }).onConflict(['file_request_id', 'reminder']).ignore();
        }
        try {
          await caseware.remindFileRequest(row.remote_id);
        } catch (error) {
          if (error instanceof CaseWareError && !error.retryable) return { sent: false };
          throw error;
        }
        return { sent: await confirmReminder(row.id, reminder) };
      });
    },

    async markFileRequestOverdue({ fileRequestId }: { fileRequestId: number }): Promise<void> {
      await db('file_requests').where({ id: fileRequestId, status: 'open' }).whereNull('closed_at').update({ status: 'overdue', updated_at: db.fn.now() });
    },

    /** Staff cancelled: cancelled in CaseWare too, unless a contact answered it first. */
    async cancelFileRequestInPortal({ fileRequestId, cancelledBy }: { fileRequestId: number; cancelledBy: string }): Promise<FileRequestState> {
      return classified(async () => {
        const row = await load(fileRequestId);
        if (row.closed_at) return alreadyClosed(row);
        if (row.remote_id) {
          await waitWhileHeld(row.id, 'the cancellation');
          const remote = await caseware.cancelFileRequest(row.remote_id).catch((error: unknown) => {
            ignoreNotFound(error);
            return undefined;
          });
          if (remote?.Status === 'Answered') {
            const identities = await identitiesForClient(db, 'caseware', row.client_number);
            await close(row, 'answered', { filesReceived: remote.Files.length, answeredByContactId: contactOfUser(identities, remote.AnsweredBy) });
            return { outcome: 'answered', recipients: 0, removed: 0 };
          }
        }
        await close(row, 'cancelled', { cancelledBy });
        return { outcome: 'cancelled', recipients: 0, removed: 0 };
      });
    },
  };
}

export type FileRequestActivities = ReturnType<typeof createFileRequestActivities>;
