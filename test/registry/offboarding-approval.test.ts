import { afterAll, beforeAll, expect, test } from 'vitest';
import { createOffboarding, setOffboardingStatus } from '../../src/registry/offboardings';
import { createClient } from '../../src/registry/clients';
import { createContact } from '../../src/registry/contacts';
import { createTestDatabase, type TestDatabase } from '../support/db';

// The rolling approval budget (issue 22, item 4): a plan split into small requests by one token
// still meets four eyes. Each company here ends 6 accesses when it leaves: 3 contacts lose its
// CaseWare entity, 3 Client Online logins lose it.

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const both = { caseware: true, clientOnline: true };
const day = 24 * 3_600_000;

async function company(clientNumber: string): Promise<void> {
  const { db } = database;
  await createClient(db, { clientNumber, kind: 'company', status: 'client', name: `Company ${clientNumber}`, links: both });
  for (let i = 0; i < 3; i += 1) await createContact(db, clientNumber, { email: `c${i}@${clientNumber}.test`, links: both });
}

const leave = (clientNumber: string, requestedBy: string, approvalWindowMs = day) =>
  createOffboarding(database.db, { request: { kind: 'client-leaves', clientNumber }, requestedBy, approvalThreshold: 10, approvalWindowMs });

test('two requests under the threshold each: the second is held, and says why', async () => {
  for (const n of ['7101', '7102', '7103']) await company(n);
  const first = await leave('7101', 'alice');
  expect(first.plan.removes.accessEnded).toEqual({ caseware: 3, clientOnline: 3 });
  expect(first).toMatchObject({ status: 'running', approvalRequired: false, approvalReason: null });

  const second = await leave('7102', 'alice');
  expect(second).toMatchObject({ status: 'awaiting-approval', approvalRequired: true });
  expect(second.approvalReason).toBe(
    `it ends 6 accesses (CaseWare Cloud 3, Client Online 3); with the 6 ended by offboarding ${first.id}, which token "alice" asked for ` +
      'without approval in the last 24 hours, that is 12, more than the approval threshold (10)',
  );

  // Another token has a budget of its own.
  expect(await leave('7103', 'bob')).toMatchObject({ status: 'running', approvalReason: null });
});

test('a plan above the threshold on its own says so', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '7201', kind: 'company', status: 'client', name: 'Big', links: both });
  for (let i = 0; i < 6; i += 1) await createContact(db, '7201', { email: `c${i}@7201.test`, links: both });
  const held = await leave('7201', 'carol');
  expect(held.approvalReason).toBe('it ends 12 accesses (CaseWare Cloud 6, Client Online 6), more than the approval threshold (10)');
});

test('what does not count: an offboarding that failed before changing anything, one that needed approval, or a window of 0', async () => {
  for (const n of ['7301', '7302', '7303', '7304']) await company(n);
  const failed = await leave('7301', 'dave');
  await setOffboardingStatus(database.db, failed.id, 'failed', { failure: 'the workflow service (Temporal) could not be reached; nothing was changed' });
  const next = await leave('7302', 'dave');
  expect(next.status).toBe('running');
  // 7302's 6 count: the next is held.
  expect((await leave('7303', 'dave')).status).toBe('awaiting-approval');
  expect((await leave('7304', 'erin', 0)).status).toBe('running');
  expect((await leave('7301', 'erin', 0)).status).toBe('running');
});
