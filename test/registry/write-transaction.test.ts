import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConcurrentWriteError, writeTransaction } from '../../src/registry/write-transaction';
import { createTestDatabase, type TestDatabase } from '../support/db';

// The retry of registry writes against a real database: a real deadlock between two writers that
// lock two rows in opposite order, and a write nested in a caller's transaction.

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.db('clients').insert([
    { client_number: '8701', kind: 'company', name: 'Eerste' },
    { client_number: '8702', kind: 'company', name: 'Tweede' },
  ]);
});
afterAll(async () => {
  await database?.drop();
});

test('two writers that deadlock both go through: PostgreSQL rolls one back, and it runs again', async () => {
  const { db } = database;
  let attempts = 0;
  let holding = 0;
  let bothHold: () => void = () => undefined;
  const barrier = new Promise<void>((resolve) => (bothHold = resolve));
  const writer = (first: string, second: string, name: string) =>
    writeTransaction(db, `client ${first}`, async (trx) => {
      attempts += 1;
      await trx('clients').where({ client_number: first }).update({ city: name });
      // Each holds its first row before either asks for its second: a deadlock, on the first try.
      holding += 1;
      if (holding === 2) bothHold();
      await barrier;
      await trx('clients').where({ client_number: second }).update({ city: name });
    });
  await Promise.all([writer('8701', '8702', 'Ams'), writer('8702', '8701', 'Rot')]);
  expect(attempts).toBe(3);
  const cities = await db('clients').whereIn('client_number', ['8701', '8702']).pluck<string[]>('city');
  // The writer that ran again committed last, over both rows.
  expect(new Set(cities).size).toBe(1);
});

test('nested in a caller\'s transaction it is not run again: the caller\'s whole transaction was rolled back', async () => {
  const { db } = database;
  let attempts = 0;
  const deadlock = db.transaction((trx) =>
    writeTransaction(trx, 'client 8701', async (savepoint) => {
      attempts += 1;
      await savepoint.raw("do $$ begin raise exception 'deadlock detected (raised by the test)' using errcode = '40P01'; end $$");
    }),
  );
  await expect(deadlock).rejects.toMatchObject({ code: '40P01' });
  await expect(deadlock).rejects.not.toBeInstanceOf(ConcurrentWriteError);
  expect(attempts).toBe(1);
});
