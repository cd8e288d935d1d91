import { afterAll, beforeAll, expect, test } from 'vitest';
import { lastAuditEvent, recordAuditEvent } from '../../src/registry/audit-events';
import { createTestDatabase, type TestDatabase } from '../support/db';

// PostgreSQL stores no NUL in text or jsonb; a hostile request's field names and path may carry
// one. The audit row of a registry write is part of the write's transaction, so it must always be
// storable: the row keeps a stand-in for each NUL, whoever records it (the API's hook, `portal-sync tokens`).

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

test('a NUL in a field name or a record id is stored as U+FFFD, never dropped into another id; the rest of the row as sent', async () => {
  await recordAuditEvent(database.db, {
    tokenName: 'anna',
    method: 'PATCH',
    route: '/clients/:number',
    status: 200,
    recordIds: { clientNumber: '10\u000001' },
    fields: ['city', 'na\u0000me'],
    requestId: 'req-1',
  });
  const stored = await lastAuditEvent(database.db, 'PATCH', '/clients/:number');
  expect(stored).toMatchObject({ tokenName: 'anna', status: 200, fields: ['city', 'na\uFFFDme'], recordIds: { clientNumber: '10\uFFFD01' } });
});
