import type { Db } from '../db';
import type { RowOf } from '../db-rows';
import { desiredCaseWareState } from '../domain/caseware';
import {
  answeringRoleName,
  dueMoment,
  linkedContactIds,
  recipientStanding,
  recipientVerdict,
  type RecipientStanding,
  type FileRequestStatus,
  type RecipientFacts,
  type RecipientVerdict,
} from '../domain/file-requests';
import { fileRequestWorkflowId } from '../../workflows/file-request-definitions';
import { identitiesForClient } from '../sync/ledger';
import { loadClientWithContacts } from './contacts';
import { RegistryError } from './errors';

// File requests in the registry: what was asked of whom, and how far it got. The workflow
// (`file-request-<id>`) reads and writes these rows by id; subject and description stay here.

export interface FileRequestInput {
  clientNumber: string;
  subject: string;
  description: string;
  /** A date (due at the end of that day, UTC) or a moment. */
  dueDate?: string;
  /** Default: every contact of the client that may answer. */
  contactIds?: number[];
  /** Give a named contact that may only view the answering role rather than refusing it. */
  grantAnswerRole?: boolean;
  requestedBy: string;
}

export interface FileRequestRecipient {
  contactId: number;
  /** The contact's name as the registry has it (first name, infix, last name); null without one. */
  name: string | null;
  status: 'active' | 'removed';
  removedReason: string | null;
  removedAt: string | null;
}

export interface FileRequestRecord {
  id: number;
  clientNumber: string;
  subject: string;
  description: string;
  dueAt: string | null;
  status: FileRequestStatus;
  workflowId: string;
  remoteId: string | null;
  remindersSent: number;
  lastRemindedAt: string | null;
  filesReceived: number;
  answeredByContactId: number | null;
  requestedBy: string;
  cancelledBy: string | null;
  failure: string | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  recipients: FileRequestRecipient[];
}

// The mapper below does more than rename (timestamps leave as ISO strings, the recipients join), so
// it stays written out; the rows are the records' fields in snake_case, timestamps as Dates.

/** The record's ISO timestamps as the driver returns them. */
type WithDates<T, K extends keyof T> = Omit<T, K> & { [P in K]: null extends T[P] ? Date | null : Date };

/** A `file_requests` row, as the registry and the file-request activities read it. */
export type FileRequestRow = RowOf<
  WithDates<Omit<FileRequestRecord, 'recipients'>, 'dueAt' | 'lastRemindedAt' | 'createdAt' | 'updatedAt' | 'closedAt'> & { clientId: number }
>;

type RecipientRow = RowOf<WithDates<Omit<FileRequestRecipient, 'name'>, 'removedAt'> & { fileRequestId: number }> & NameColumns;

type NameColumns = { first_name: string | null; infix: string | null; last_name: string | null };

/** A contact's name as the registry has it: first name, infix, last name; null without any. */
export function contactDisplayName(contact: { firstName: string | null; infix: string | null; lastName: string | null }): string | null {
  return [contact.firstName, contact.infix, contact.lastName].filter((part) => part !== null && part.trim() !== '').join(' ') || null;
}

/** A request's recipients with their names (a deleted contact keeps its name in the registry). */
function recipientRows(db: Db) {
  return db('file_request_recipients as r')
    .leftJoin('contacts as c', 'c.id', 'r.contact_id')
    .select('r.*', 'c.first_name', 'c.infix', 'c.last_name')
    .orderBy('r.contact_id');
}

const iso = (value: Date | null) => (value === null ? null : value.toISOString());

function toRecord(row: FileRequestRow, recipients: RecipientRow[]): FileRequestRecord {
  return {
    id: row.id,
    clientNumber: row.client_number,
    subject: row.subject,
    description: row.description,
    dueAt: iso(row.due_at),
    status: row.status,
    workflowId: row.workflow_id,
    remoteId: row.remote_id,
    remindersSent: row.reminders_sent,
    lastRemindedAt: iso(row.last_reminded_at),
    filesReceived: row.files_received,
    answeredByContactId: row.answered_by_contact_id,
    requestedBy: row.requested_by,
    cancelledBy: row.cancelled_by,
    failure: row.failure,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    closedAt: iso(row.closed_at),
    recipients: recipients.map((r) => ({
      contactId: r.contact_id,
      name: contactDisplayName({ firstName: r.first_name, infix: r.infix, lastName: r.last_name }),
      status: r.status,
      removedReason: r.removed_reason,
      removedAt: iso(r.removed_at),
    })),
  };
}

/**
 * What the registry and the ledger know of every contact of the client as a recipient, and
 * whether the client itself is in CaseWare Cloud.
 */
export async function recipientFacts(
  db: Db,
  clientNumber: string,
): Promise<{ clientId: number; entityGuid: string | null; contacts: Map<number, RecipientFacts>; names: Map<number, string | null> }> {
  const registry = await loadClientWithContacts(db, clientNumber);
  const desired = desiredCaseWareState(registry.client, registry.contacts);
  const linked = linkedContactIds(desired);
  const missingEmail = new Set(desired.conflicts.filter((c) => c.recordType === 'contact' && c.code === 'missing-email').map((c) => c.recordId));
  const identities = await identitiesForClient(db, 'caseware', clientNumber);
  const active = (recordType: 'client' | 'contact', id: number) =>
    identities.find((i) => i.recordType === recordType && i.recordId === id && i.access === 'active' && i.remoteId !== null);
  const grants = new Set(
    (await db('caseware_answer_grants').whereIn('contact_id', registry.contacts.map((c) => c.id)).select<{ contact_id: number }[]>('contact_id')).map(
      (g) => g.contact_id,
    ),
  );
  const syncErrors = new Map(
    (
      await db('sync_errors')
        .where({ portal: 'caseware', record_type: 'contact', client_number: clientNumber })
        .whereNull('resolved_at')
        .orderBy('id')
        .select<{ record_id: number; code: string }[]>('record_id', 'code')
    ).map((row) => [Number(row.record_id), row.code]),
  );
  const entity = desired.entity ? active('client', registry.client.id) : undefined;
  const contacts = new Map<number, RecipientFacts>();
  for (const contact of registry.contacts) {
    contacts.set(contact.id, {
      contactId: contact.id,
      linked: desired.entity !== null && linked.has(contact.id),
      missingEmail: missingEmail.has(contact.id),
      inCaseWare: active('contact', contact.id) !== undefined,
      syncError: syncErrors.get(contact.id) ?? null,
      granted: grants.has(contact.id),
    });
  }
  const names = new Map(registry.contacts.map((contact) => [contact.id, contactDisplayName(contact)]));
  return { clientId: registry.client.id, entityGuid: entity?.remoteId ?? null, contacts, names };
}

const notInCaseWareMessage = (clientNumber: string) =>
  `client ${clientNumber} is not in CaseWare Cloud (its link is off, it cannot be sent, or its sync has not finished); a file request needs its entity there`;

export type RecipientCandidate = { contactId: number; name: string | null } & RecipientStanding;

/**
 * Every contact of the client as a recipient of a new request: whether it may answer now, once
 * given the answering role, or not at all and why; and why no request can go to the client at all.
 */
export async function recipientCandidates(
  db: Db,
  clientNumber: string,
  contactRoleName: string,
): Promise<{ clientNumber: string; clientRefusal: string | null; contacts: RecipientCandidate[] }> {
  const facts = await recipientFacts(db, clientNumber);
  const contacts = [...facts.contacts.values()].map((fact) => ({
    contactId: fact.contactId,
    name: facts.names.get(fact.contactId) ?? null,
    ...recipientStanding(fact, { clientNumber, contactRoleName }),
  }));
  return { clientNumber, clientRefusal: facts.entityGuid === null ? notInCaseWareMessage(clientNumber) : null, contacts };
}

/** The recipients of a new request, or a refusal that names every contact that cannot answer. */
export async function planRecipients(
  db: Db,
  input: Pick<FileRequestInput, 'clientNumber' | 'contactIds' | 'grantAnswerRole'>,
  contactRoleName: string,
): Promise<{ clientId: number; recipients: Extract<RecipientVerdict, { mayAnswer: true }>[] }> {
  const { clientNumber } = input;
  const facts = await recipientFacts(db, clientNumber);
  if (facts.entityGuid === null) {
    throw new RegistryError('rule', notInCaseWareMessage(clientNumber));
  }
  const context = { clientNumber, contactRoleName, grant: input.grantAnswerRole === true };
  if (input.contactIds === undefined) {
    // Everyone who may answer; with the flag, also everyone who may only view (given the role).
    const verdicts = [...facts.contacts.values()].map((f) => recipientVerdict(f, context));
    const recipients = verdicts.filter((v): v is Extract<RecipientVerdict, { mayAnswer: true }> => v.mayAnswer);
    if (recipients.length === 0) {
      const hint = context.grant
        ? `nor one who may only view and could be given that role (see GET /file-requests/recipients?clientNumber=${clientNumber})`
        : 'send "grantAnswerRole": true to give the linked contacts who may only view that role';
      throw new RegistryError(
        'rule',
        `client ${clientNumber} has no contact who may answer a file request in CaseWare Cloud (a linked contact with the role "${answeringRoleName}"); ${hint}`,
      );
    }
    return { clientId: facts.clientId, recipients };
  }
  const verdicts: RecipientVerdict[] = [];
  const unknown: number[] = [];
  for (const contactId of new Set(input.contactIds)) {
    const contact = facts.contacts.get(contactId);
    if (!contact) unknown.push(contactId);
    else verdicts.push(recipientVerdict(contact, context));
  }
  if (unknown.length > 0) throw new RegistryError('not-found', `client ${clientNumber} has no contact ${unknown.join(', ')}`);
  const refused = verdicts.filter((v): v is Extract<RecipientVerdict, { mayAnswer: false }> => !v.mayAnswer);
  if (refused.length > 0) throw new RegistryError('rule', refused.map((v) => v.message).join('; '));
  return { clientId: facts.clientId, recipients: verdicts.filter((v): v is Extract<RecipientVerdict, { mayAnswer: true }> => v.mayAnswer) };
}

/** Stores the request, its recipients and any grants it needs, in one transaction. */
export async function createFileRequest(db: Db, input: FileRequestInput, contactRoleName: string): Promise<FileRequestRecord> {
  const due = input.dueDate === undefined ? null : dueMoment(input.dueDate);
  if (due !== null && due.getTime() <= Date.now()) throw new RegistryError('rule', 'dueDate lies in the past');
  const plan = await planRecipients(db, input, contactRoleName);
  const id = await db.transaction(async (trx) => {
    // The id is taken first, so that the row is stored with its workflow id.
    const taken = await trx.raw<{ rows: { id: string }[] }>("select nextval(pg_get_serial_sequence('file_requests', 'id')) as id");
    const row = { id: Number(taken.rows[0]?.id) };
    await trx('file_requests').insert({
      id: row.id,
      client_id: plan.clientId,
      client_number: input.clientNumber,
      subject: input.subject,
      description: input.description,
      due_at: due,
      status: 'open',
      workflow_id: fileRequestWorkflowId(row.id),
      requested_by: input.requestedBy,
    });
    if (!Number.isSafeInteger(row.id)) throw new Error('file request id not taken');
    await trx('file_request_recipients').insert(plan.recipients.map((r) => ({ file_request_id: row.id, contact_id: r.contactId })));
    const grants = plan.recipients.filter((r) => r.needsGrant);
    if (grants.length > 0) {
      await trx('caseware_answer_grants')
        .insert(grants.map((r) => ({ contact_id: r.contactId, client_number: input.clientNumber })))
        .onConflict('contact_id')
        .ignore();
    }
    return row.id;
  });
  return getFileRequest(db, id);
}

export async function getFileRequest(db: Db, id: number): Promise<FileRequestRecord> {
  const row = await db('file_requests').where({ id }).first<FileRequestRow | undefined>();
  if (!row) throw new RegistryError('not-found', `no file request ${id}`);
  const recipients = (await recipientRows(db).where('r.file_request_id', id)) as RecipientRow[];
  return toRecord(row, recipients);
}

export async function listFileRequests(
  db: Db,
  filter: { clientNumber?: string; status?: FileRequestStatus; limit?: number },
): Promise<FileRequestRecord[]> {
  const query = db('file_requests').orderBy('id', 'desc').limit(filter.limit ?? 100);
  if (filter.clientNumber !== undefined) void query.where({ client_number: filter.clientNumber });
  if (filter.status !== undefined) void query.where({ status: filter.status });
  const rows = (await query) as FileRequestRow[];
  const recipients = rows.length === 0 ? [] : ((await recipientRows(db).whereIn('r.file_request_id', rows.map((r) => r.id))) as RecipientRow[]);
  return rows.map((row) => toRecord(row, recipients.filter((r) => r.file_request_id === row.id)));
}

/** The contacts among `contactIds` that an open request other than `fileRequestId` goes to. */
function neededElsewhere(db: Db, fileRequestId: number) {
  return db('file_request_recipients as other')
    .join('file_requests as request', 'request.id', 'other.file_request_id')
    .whereRaw('other.contact_id = caseware_answer_grants.contact_id')
    .where('other.status', 'active')
    .whereNull('request.closed_at')
    .whereNot('request.id', fileRequestId)
    .select(db.raw('1'));
}

/**
 * The contacts this request's recipients were given "Contact - Entity Staff" for (a grant) that no
 * other open request goes to: once the request is closed, nothing needs their grant any more.
 */
export async function unneededAnswerGrants(db: Db, fileRequestId: number): Promise<number[]> {
  const rows = await db('caseware_answer_grants')
    .whereIn('contact_id', db('file_request_recipients').where({ file_request_id: fileRequestId, status: 'active' }).select('contact_id'))
    .whereNotExists(neededElsewhere(db, fileRequestId))
    .select<{ contact_id: number | string }[]>('contact_id');
  return rows.map((row) => Number(row.contact_id));
}

/**
 * Lets the grants of these contacts go, once their role has been taken back in CaseWare Cloud. A
 * request made meanwhile that needs one keeps it, marked as not shared, so that its workflow
 * shares the role again at its next look.
 */
export async function dropAnswerGrants(db: Db, fileRequestId: number, contactIds: readonly number[]): Promise<void> {
  if (contactIds.length === 0) return;
  await db.transaction(async (trx) => {
    const grants = () => trx('caseware_answer_grants').whereIn('contact_id', [...contactIds]);
    await grants().whereNotExists(neededElsewhere(trx, fileRequestId)).delete();
    await grants().update({ shared_at: null });
  });
}

const closed: readonly FileRequestStatus[] = ['answered', 'cancelled', 'no-recipients', 'failed'];

/** Sets the status; a closed request stays closed (a late write of an open status changes nothing). */
export async function setFileRequestStatus(
  db: Db,
  id: number,
  status: FileRequestStatus,
  details: { cancelledBy?: string; failure?: string; filesReceived?: number; answeredByContactId?: number | null } = {},
): Promise<void> {
  const update: Record<string, unknown> = { status, updated_at: db.fn.now() };
  if (closed.includes(status)) update.closed_at = db.fn.now();
  if (details.cancelledBy !== undefined) update.cancelled_by = details.cancelledBy;
  if (details.failure !== undefined) update.failure = details.failure;
  if (details.filesReceived !== undefined) update.files_received = details.filesReceived;
  if (details.answeredByContactId !== undefined) update.answered_by_contact_id = details.answeredByContactId;
  await db('file_requests').where({ id }).whereNull('closed_at').update(update);
}
