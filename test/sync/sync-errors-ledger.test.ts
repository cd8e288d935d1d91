import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listSyncErrorRecords, openSyncError, reportSyncErrors, type SyncErrorInput } from '../../src/sync/ledger';
import { createTestDatabase, type TestDatabase } from '../support/db';

// The sync-error half of the ledger against a real database: how often a sync met an error, since
// when, and the filtered, bounded list the system administrator reads.

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const noEmail = (contactId: number, clientNumber: string): SyncErrorInput => ({
  recordType: 'contact',
  recordId: contactId,
  code: 'missing-email',
  message: `contact ${contactId} at client ${clientNumber} has no email address. Give the contact an email address of its own.`,
});

async function rowsOf(clientNumber: string) {
  return database
    .db('sync_errors')
    .where({ client_number: clientNumber })
    .orderBy('id')
    .select<{ id: number; attempts: number; first_seen_at: Date; last_seen_at: Date; resolved_at: Date | null }[]>(
      'id',
      'attempts',
      'first_seen_at',
      'last_seen_at',
      'resolved_at',
    );
}

/** Moves an error's timestamps into the past, as if it had been met an hour ago. */
async function ageBy1Hour(id: number) {
  await database.db('sync_errors').where({ id }).update({
    first_seen_at: database.db.raw("first_seen_at - interval '1 hour'"),
    last_seen_at: database.db.raw("last_seen_at - interval '1 hour'"),
  });
}

describe('attempts', () => {
  test('each sync that reports an open error again counts one attempt; first seen stays, last seen moves', async () => {
    const { db } = database;
    await reportSyncErrors(db, 'caseware', '6101', [noEmail(11, '6101')]);
    const [opened] = await rowsOf('6101');
    expect(opened).toMatchObject({ attempts: 1, resolved_at: null });
    await ageBy1Hour(opened!.id);
    const [aged] = await rowsOf('6101');

    await reportSyncErrors(db, 'caseware', '6101', [noEmail(11, '6101')]);
    await reportSyncErrors(db, 'caseware', '6101', [noEmail(11, '6101')]);
    const rows = await rowsOf('6101');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: opened!.id, attempts: 3, resolved_at: null });
    expect(rows[0]!.first_seen_at).toEqual(aged!.first_seen_at);
    expect(rows[0]!.last_seen_at.getTime()).toBeGreaterThan(aged!.last_seen_at.getTime() + 30 * 60_000);
  });

  test('openSyncError counts too, and leaves the client\'s other errors alone', async () => {
    const { db } = database;
    const failure = { recordType: 'client' as const, recordId: 20, code: 'ConfigurationError', message: 'client 6102: set CASEWARE_CONTACT_ROLE to an existing contact role' };
    await reportSyncErrors(db, 'caseware', '6102', [noEmail(21, '6102')]);
    await openSyncError(db, 'caseware', '6102', failure);
    await openSyncError(db, 'caseware', '6102', failure);
    const rows = await rowsOf('6102');
    expect(rows.map((row) => [row.attempts, row.resolved_at])).toEqual([
      [1, null],
      [2, null],
    ]);
  });

  test('the same error at the other portal, or another code of the same record, counts on its own', async () => {
    const { db } = database;
    await reportSyncErrors(db, 'caseware', '6103', [noEmail(31, '6103')]);
    await reportSyncErrors(db, 'client_online', '6103', [noEmail(31, '6103')]);
    await reportSyncErrors(db, 'caseware', '6103', [noEmail(31, '6103'), { ...noEmail(31, '6103'), code: 'field-too-long' }]);
    const rows = await database.db('sync_errors').where({ client_number: '6103' }).orderBy('id').select('portal', 'code', 'attempts');
    expect(rows).toEqual([
      { portal: 'caseware', code: 'missing-email', attempts: 2 },
      { portal: 'client_online', code: 'missing-email', attempts: 1 },
      { portal: 'caseware', code: 'field-too-long', attempts: 1 },
    ]);
  });

  test('an error that recurs after it resolved opens anew, and the resolved one keeps its count', async () => {
    const { db } = database;
    await reportSyncErrors(db, 'caseware', '6104', [noEmail(41, '6104')]);
    await reportSyncErrors(db, 'caseware', '6104', [noEmail(41, '6104')]);
    await reportSyncErrors(db, 'caseware', '6104', []);
    await reportSyncErrors(db, 'caseware', '6104', [noEmail(41, '6104')]);
    const rows = await rowsOf('6104');
    expect(rows.map((row) => [row.attempts, row.resolved_at === null])).toEqual([
      [2, false],
      [1, true],
    ]);
  });
});

describe('listSyncErrorRecords', () => {
  beforeAll(async () => {
    const { db } = database;
    await reportSyncErrors(db, 'caseware', '6201', [noEmail(51, '6201'), noEmail(52, '6201')]);
    await reportSyncErrors(db, 'client_online', '6201', [{ recordType: 'client', recordId: 50, code: 'no-client-user', message: 'client 6201 has no client user' }]);
    await reportSyncErrors(db, 'caseware', '6202', [noEmail(61, '6202')]);
    await reportSyncErrors(db, 'caseware', '6202', []);
  });

  const only = { limit: 1000 };

  test('filters by portal, code and client, open ones unless includeResolved, with the total', async () => {
    const { db } = database;
    const at6201 = await listSyncErrorRecords(db, { ...only, clientNumber: '6201' });
    expect(at6201.total).toBe(3);
    expect(at6201.errors.map((error) => [error.portal, error.recordId])).toEqual([
      ['clientOnline', 50],
      ['caseware', 52],
      ['caseware', 51],
    ]);
    const clientOnline = await listSyncErrorRecords(db, { ...only, clientNumber: '6201', portal: 'client_online' });
    expect(clientOnline.errors.map((error) => error.code)).toEqual(['no-client-user']);
    const missing = await listSyncErrorRecords(db, { ...only, code: 'missing-email', portal: 'caseware' });
    expect(missing.errors.every((error) => error.code === 'missing-email' && error.portal === 'caseware')).toBe(true);
    expect(missing.errors.map((error) => error.clientNumber)).toContain('6201');
    expect(missing.errors.map((error) => error.clientNumber)).not.toContain('6202');

    const withResolved = await listSyncErrorRecords(db, { ...only, clientNumber: '6202', includeResolved: true });
    expect(withResolved).toMatchObject({ total: 1, errors: [{ recordId: 61, attempts: 1, resolvedAt: expect.any(Date) }] });
  });

  test('the limit cuts the page, not the total', async () => {
    const { db } = database;
    const all = await listSyncErrorRecords(db, { limit: 1000 });
    const page = await listSyncErrorRecords(db, { limit: 2 });
    expect(page.total).toBe(all.total);
    expect(all.total).toBeGreaterThan(2);
    expect(page.errors).toEqual(all.errors.slice(0, 2));
  });
});
