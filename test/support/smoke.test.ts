import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './db';

let database: TestDatabase;
beforeAll(async () => { database = await createTestDatabase(); });
afterAll(async () => { await database.drop(); });

test('migrations create the registry tables', async () => {
  const tables = await database.db('information_schema.tables').where({ table_schema: 'public' }).pluck('table_name');
  expect(tables).toEqual(expect.arrayContaining(['clients', 'contacts', 'outbox_events', 'portal_identities', 'sync_errors']));
});
