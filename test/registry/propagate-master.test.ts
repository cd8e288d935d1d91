import { afterAll, beforeAll, expect, test } from 'vitest';
import { createClient, updateClient } from '../../src/registry/clients';
import { createContact, getContact } from '../../src/registry/contacts';
import { endContactMaster, propagateMaster } from '../../src/registry/masters';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { waitFor } from '../support/temporal';

// Master propagation against a real database, with a concurrent transaction interleaved.

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

/** True while some statement of this database waits for a row lock (proof that it is blocked). */
async function someoneWaitsForALock(): Promise<boolean> {
  const { rows } = await database.db.raw<{ rows: { waiting: number }[] }>(
    "select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
  );
  return rows[0]!.waiting > 0;
}

test('propagation does not overwrite a follower whose master link ends while it runs', async () => {
  const { db } = database;
  const person = await createClient(db, { clientNumber: '8801', kind: 'person', status: 'client', name: 'P. Eerst', firstName: 'Piet' });
  await createClient(db, { clientNumber: '8802', kind: 'company', status: 'client', name: 'Volg B.V.' });
  const follower = await createContact(db, '8802', { master: { clientNumber: '8801' }, email: 'piet@8802.test' });
  expect(follower.firstName).toBe('Piet');
  await updateClient(db, '8801', { firstName: 'Pieter' });

  // The link ends in a transaction that has written but not committed when propagation starts.
  const unlinking = await db.transaction();
  await endContactMaster(unlinking, follower.id, { force: true });
  const propagation = propagateMaster(db, { type: 'client', id: person.id });
  await waitFor('propagation to wait for the unlinking transaction', someoneWaitsForALock);
  await unlinking.commit();
  const result = await propagation;

  const after = await getContact(db, follower.id);
  expect(after).toMatchObject({ masterClientId: null, firstName: 'Piet' });
  expect(result.changed).toEqual([]);
});
