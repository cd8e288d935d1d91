import { describe, expect, test } from 'vitest';
import { dueMoment, recipientStanding, recipientVerdict, type FileRequestTimings } from '../../src/domain/file-requests';
import { reminderSchedule } from '../../workflows/file-request-schedule';

const linked = { contactId: 7, linked: true, missingEmail: false, inCaseWare: true, syncError: null, granted: false };
const access = { clientNumber: '1001', contactRoleName: 'Contact - Entity Access', grant: false };

describe('who may receive a file request', () => {
  test('a linked contact with a login may answer when the sync shares "Entity Staff", or when it was given that role', () => {
    expect(recipientVerdict(linked, { ...access, contactRoleName: 'Contact - Entity Staff' })).toEqual({ contactId: 7, mayAnswer: true, needsGrant: false });
    expect(recipientVerdict({ ...linked, granted: true }, access)).toEqual({ contactId: 7, mayAnswer: true, needsGrant: false });
  });
  test('one that may only view is refused, naming the flag; with the flag it is given the role', () => {
    const refused = recipientVerdict(linked, access);
    expect(refused).toMatchObject({ mayAnswer: false, reason: 'view-only' });
    expect(refused.mayAnswer === false && refused.message).toContain('"grantAnswerRole": true');
    expect(recipientVerdict(linked, { ...access, grant: true })).toEqual({ contactId: 7, mayAnswer: true, needsGrant: true });
  });
  test('one not linked, or without a login yet, is refused even with the flag', () => {
    expect(recipientVerdict({ ...linked, linked: false }, { ...access, grant: true })).toMatchObject({ mayAnswer: false, reason: 'not-linked' });
    expect(recipientVerdict({ ...linked, inCaseWare: false }, { ...access, grant: true })).toMatchObject({ mayAnswer: false, reason: 'not-in-caseware' });
  });
  test('one whose link is on but has no email address is refused for that, not as "not linked"', () => {
    const noEmail = recipientVerdict({ ...linked, linked: false, missingEmail: true, inCaseWare: false }, { ...access, grant: true });
    expect(noEmail).toMatchObject({ mayAnswer: false, reason: 'no-email', sentence: 'no CaseWare login (no email address)' });
    expect(noEmail.mayAnswer === false && noEmail.message).toContain('contact 7 at client 1001 has no CaseWare login (no email address)');
  });
  test('one CaseWare Cloud refused (an open sync error) says so rather than "its sync has not finished"', () => {
    expect(recipientVerdict({ ...linked, inCaseWare: false, syncError: 'shared-email' }, { ...access, grant: true })).toMatchObject({
      mayAnswer: false,
      reason: 'sync-error',
      sentence: 'no CaseWare login (a sync error: see Sync errors)',
    });
  });
  test('its standing: may answer, may answer once given the role, or cannot with the reason', () => {
    const context = { clientNumber: '1001', contactRoleName: 'Contact - Entity Access' };
    expect(recipientStanding({ ...linked, granted: true }, context)).toMatchObject({ answer: 'may-answer', reason: null });
    expect(recipientStanding(linked, context)).toMatchObject({ answer: 'needs-answering-role', reason: 'view-only' });
    expect(recipientStanding({ ...linked, linked: false }, context)).toEqual({ answer: 'cannot', reason: 'not-linked', sentence: 'not linked to CaseWare Cloud' });
  });
});

describe('reminder schedule', () => {
  const day = 86_400_000;
  const timings: FileRequestTimings = { pollIntervalMs: 1, remindBeforeDueMs: [7 * day, day], remindAfterDueEveryMs: 3 * day, maxRemindersAfterDue: 2, remindWithoutDueEveryMs: 14 * day };
  test('before the due date (only what is still ahead at the start), then every interval after it, capped', () => {
    expect(reminderSchedule(30 * day, 0, timings)).toEqual([23 * day, 29 * day, 33 * day, 36 * day]);
    expect(reminderSchedule(30 * day, 25 * day, timings)).toEqual([29 * day, 33 * day, 36 * day]);
  });
  test('without a due date: every interval from the start, capped; 0 means none', () => {
    expect(reminderSchedule(null, 0, timings)).toEqual([14 * day, 28 * day]);
    expect(reminderSchedule(null, 0, { ...timings, remindWithoutDueEveryMs: 0 })).toEqual([]);
  });
  test('a calendar date is due at the end of that day, UTC', () => {
    expect(dueMoment('2027-01-31').toISOString()).toBe('2027-01-31T23:59:59.999Z');
    expect(dueMoment('2027-01-31T09:00:00+01:00').toISOString()).toBe('2027-01-31T08:00:00.000Z');
  });
});
