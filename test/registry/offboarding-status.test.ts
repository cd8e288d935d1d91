import { afterAll, beforeAll, expect, test } from 'vitest';
import { createOffboarding, getOffboarding, setOffboardingStatus } from '../../src/registry/offboardings';
import { createClient } from '../../src/registry/clients';
import { createContact } from '../../src/registry/contacts';
import { createTestDatabase, type TestDatabase } from '../support/db';

// A cancel records itself at once while the workflow writes its final status beside it: whichever
// write lands last, the offboarding ends cancelled, not back in an unfinished status.

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

async function heldOffboarding(clientNumber: string) {
  const { db } = database;
  await createClient(db, { clientNumber, kind: 'company', status: 'client', name: `Stop ${clientNumber} B.V.`, links: { caseware: true, clientOnline: true } });
  await createContact(db, clientNumber, { firstName: 'Cas', lastName: 'Stop', email: `cas@c${clientNumber}.test`, links: { caseware: true, clientOnline: true } });
  return createOffboarding(db, { request: { kind: 'client-leaves', clientNumber }, requestedBy: 'api', approvalThreshold: 0 });
}

test('the final status written before the cancel\'s own record stays final', async () => {
  const { db } = database;
  const record = await heldOffboarding('9101');
  expect(record.status).toBe('awaiting-approval');
  await setOffboardingStatus(db, record.id, 'cancelled', { cancelledBy: 'api' });
  await setOffboardingStatus(db, record.id, 'awaiting-approval', { cancelledBy: 'api' });
  const after = await getOffboarding(db, record.id);
  expect(after).toMatchObject({ status: 'cancelled', cancelledBy: 'api' });
  expect(after.finishedAt).not.toBeNull();
});

test('the cancel\'s own record written first is overtaken by the final status', async () => {
  const { db } = database;
  const record = await heldOffboarding('9102');
  await setOffboardingStatus(db, record.id, 'awaiting-approval', { cancelledBy: 'api' });
  await setOffboardingStatus(db, record.id, 'cancelled', { cancelledBy: 'api' });
  expect(await getOffboarding(db, record.id)).toMatchObject({ status: 'cancelled', cancelledBy: 'api' });
});
