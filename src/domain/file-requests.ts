import type { DesiredCaseWareState } from './caseware';

// Who may answer a file request (seed article 003, domain.md "File requests"): a contact that
// CaseWare Cloud holds as an active login with access to its client's entity, under the role
// "Contact - Entity Staff". "Contact - Entity Access" may only view. Pure functions of the
// registry, the ledger and the configured role, so the API can answer at once.

export const answeringRoleName = 'Contact - Entity Staff';

export type FileRequestStatus = 'open' | 'overdue' | 'answered' | 'cancelled' | 'no-recipients' | 'failed';
export const fileRequestStatuses: readonly FileRequestStatus[] = ['open', 'overdue', 'answered', 'cancelled', 'no-recipients', 'failed'];
export const openFileRequestStatuses: readonly FileRequestStatus[] = ['open', 'overdue'];

/** What the registry and the ledger know of one contact, as far as answering goes. */
export interface RecipientFacts {
  contactId: number;
  /** The contact should have access to the entity (its link and its client's are on, it can be sent). */
  linked: boolean;
  /**
   * Its link and its client's are on, but it has no email address: CaseWare Cloud's login is the
   * email, so desiredCaseWareState leaves it out (a `missing-email` conflict) and it is not `linked`.
   */
  missingEmail: boolean;
  /** The ledger holds an active CaseWare login with access for it: a sync has finished it. */
  inCaseWare: boolean;
  /** CaseWare Cloud refused it: the code of its open sync error there (a shared email), else null. */
  syncError: string | null;
  /** It has been given "Contact - Entity Staff" for file requests (caseware_answer_grants). */
  granted: boolean;
}

/** Why a contact cannot receive a file request. */
export type RecipientRefusal = 'not-linked' | 'no-email' | 'sync-error' | 'not-in-caseware' | 'view-only';

export type RecipientVerdict =
  | { contactId: number; mayAnswer: true; needsGrant: boolean }
  | { contactId: number; mayAnswer: false; reason: RecipientRefusal; sentence: string; message: string };

/** The reason in a few plain words, for a list of contacts (the console); `message` says what to do. */
export function recipientRefusalSentence(reason: RecipientRefusal, contactRoleName: string): string {
  switch (reason) {
    case 'not-linked':
      return 'not linked to CaseWare Cloud';
    case 'no-email':
      return 'no CaseWare login (no email address)';
    case 'sync-error':
      return 'no CaseWare login (a sync error: see Sync errors)';
    case 'not-in-caseware':
      return 'no CaseWare login yet (its sync has not finished)';
    case 'view-only':
      return `may only view (${contactRoleName})`;
  }
}

function refusal(facts: RecipientFacts, context: { clientNumber: string; contactRoleName: string }): { reason: RecipientRefusal; message: string } | null {
  const who = `contact ${facts.contactId} at client ${context.clientNumber}`;
  if (facts.missingEmail) {
    return {
      reason: 'no-email',
      message: `${who} has no CaseWare login (no email address): CaseWare Cloud uses the email as login name, so the sync leaves the contact out; give it an email address of its own`,
    };
  }
  if (!facts.linked) {
    return {
      reason: 'not-linked',
      message: `${who} is not linked to CaseWare Cloud (its link, or its client's, is off, or CaseWare Cloud cannot take it: see GET /sync/errors); only linked contacts can answer a file request`,
    };
  }
  if (!facts.inCaseWare && facts.syncError !== null) {
    return {
      reason: 'sync-error',
      message: `${who} has no CaseWare Cloud login: CaseWare Cloud refused it (sync error ${facts.syncError}; see GET /sync/errors?clientNumber=${context.clientNumber}); fix that first`,
    };
  }
  if (!facts.inCaseWare) {
    return {
      reason: 'not-in-caseware',
      message: `${who} has no CaseWare Cloud login yet: its sync has not finished (see GET /sync/clients/${context.clientNumber}); try again when it has`,
    };
  }
  return null;
}

/**
 * Whether the contact may receive a request for `clientNumber`. With `grant`, a contact that may
 * only view is given the answering role rather than refused; one that is not linked never is.
 */
export function recipientVerdict(
  facts: RecipientFacts,
  context: { clientNumber: string; contactRoleName: string; grant: boolean },
): RecipientVerdict {
  const { contactId } = facts;
  const refused = refusal(facts, context);
  if (refused) return { contactId, mayAnswer: false, ...refused, sentence: recipientRefusalSentence(refused.reason, context.contactRoleName) };
  if (context.contactRoleName === answeringRoleName || facts.granted) return { contactId, mayAnswer: true, needsGrant: false };
  if (context.grant) return { contactId, mayAnswer: true, needsGrant: true };
  return {
    contactId,
    mayAnswer: false,
    reason: 'view-only',
    sentence: recipientRefusalSentence('view-only', context.contactRoleName),
    message: `contact ${contactId} at client ${context.clientNumber} has the role "${context.contactRoleName}" in CaseWare Cloud, which may only view; a file request needs "${answeringRoleName}". Send "grantAnswerRole": true to give it that role`,
  };
}

/** What a contact may do with a request: the recipients list of the API and the console. */
export type RecipientStanding =
  | { answer: 'may-answer'; reason: null; sentence: string }
  | { answer: 'needs-answering-role'; reason: 'view-only'; sentence: string }
  | { answer: 'cannot'; reason: Exclude<RecipientRefusal, 'view-only'>; sentence: string };

/** Whether the contact may answer now, once given the answering role, or not at all (and why). */
export function recipientStanding(facts: RecipientFacts, context: { clientNumber: string; contactRoleName: string }): RecipientStanding {
  const verdict = recipientVerdict(facts, { ...context, grant: true });
  if (!verdict.mayAnswer) return { answer: 'cannot', reason: verdict.reason as Exclude<RecipientRefusal, 'view-only'>, sentence: verdict.sentence };
  if (verdict.needsGrant) {
    return { answer: 'needs-answering-role', reason: 'view-only', sentence: `${recipientRefusalSentence('view-only', context.contactRoleName)}; may answer once given ${answeringRoleName}` };
  }
  return { answer: 'may-answer', reason: null, sentence: `may answer (${answeringRoleName})` };
}

/** The contacts of a client the sync gives CaseWare access: the candidates for a request. */
export function linkedContactIds(desired: DesiredCaseWareState): Set<number> {
  return new Set(desired.contacts.map((c) => c.contactId));
}

/** A due date as a moment: a calendar date is due at the end of that day (UTC). */
export function dueMoment(due: string): Date {
  return /^\d{4}-\d{2}-\d{2}$/.test(due) ? new Date(`${due}T23:59:59.999Z`) : new Date(due);
}

/** How the workflow paces its reminders and its look at the portal; all in milliseconds. */
export interface FileRequestTimings {
  /** How often the workflow asks CaseWare Cloud whether the request is answered, and re-checks recipients. */
  pollIntervalMs: number;
  /** Reminders this long before the due date (each one that is still ahead when the request starts). */
  remindBeforeDueMs: number[];
  /** After the due date, a reminder every this long ... */
  remindAfterDueEveryMs: number;
  /** ... at most this many. */
  maxRemindersAfterDue: number;
  /** Without a due date, a reminder every this long (0: none), at most maxRemindersAfterDue. */
  remindWithoutDueEveryMs: number;
}

const dayMs = 24 * 60 * 60_000;
export const defaultFileRequestTimings: FileRequestTimings = {
  pollIntervalMs: 5 * 60_000,
  remindBeforeDueMs: [7 * dayMs, 1 * dayMs],
  remindAfterDueEveryMs: 3 * dayMs,
  maxRemindersAfterDue: 5,
  remindWithoutDueEveryMs: 14 * dayMs,
};
