import { afterAll, beforeAll, expect, test } from 'vitest';
import { updateClient } from '../../src/registry/clients';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Outbox event ids come from a sequence at insert, but transactions commit in their own order: a
// slow transaction's change (a lower id) can commit after a later change of the same client has
// been synced. That change must still reach the portals, and until it has, the sync status must
// not say in-sync.

let stack: TestStack;
let contactId: number;

beforeAll(async () => {
  stack = await startTestStack();
  const created = await stack.api('POST', '/clients', {
    clientNumber: '7101', kind: 'company', name: 'Trage Transactie B.V.', city: 'Start', links: { caseware: true },
  });
  expect(created.status).toBe(201);
  const contact = await stack.api('POST', '/clients/7101/contacts', {
    firstName: 'Tom', lastName: 'Traag', email: 'tom@7101.test', phone: '010-0000001', links: { caseware: true },
  });
  expect(contact.status).toBe(201);
  contactId = contact.body.id;
  await waitFor('the client and its contact in CaseWare', async () => {
    const state = await stack.simState();
    return state.entities.some((e) => e.EntityNo === '7101' && e.City === 'Start') && state.users.some((u) => u.Email === 'tom@7101.test') &&
      (await stack.api('GET', '/sync/clients/7101')).body.caseware.state === 'in-sync';
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

test('a change committed after a later one has synced still reaches CaseWare, and the status is never in-sync before it has', async () => {
  const db = stack.database.db;
  const trx = await db.transaction();
  try {
    // The slow transaction takes its event id first ...
    await updateClient(trx, '7101', { city: 'FromSlowTx' });
    // ... while a later change of the same client commits. A dispatcher that delivers it now lets
    // it sync before the slow one commits (the race); one that waits for the commit horizon holds
    // it back until then, and the status says pending meanwhile. Give the race its chance.
    expect((await stack.api('PATCH', `/contacts/${contactId}`, { phone: '010-0000002' })).status).toBe(200);
    const laterSynced = await waitFor('the later change in CaseWare', async () =>
      (await stack.simState()).users.some((u) => u.Email === 'tom@7101.test' && u.Phone === '010-0000002'), { timeoutMs: 3_000 })
      .catch(() => false);
    const undelivered = async () => (await db('outbox_events').where({ client_number: '7101' }).whereNull('delivered_at')).length;
    if (laterSynced) {
      await waitFor('the later change applied, or held back', async () =>
        (await stack.api('GET', '/sync/clients/7101')).body.caseware.state === 'in-sync' || (await undelivered()) > 0);
    } else {
      expect(await undelivered()).toBeGreaterThan(0);
      expect((await stack.api('GET', '/sync/clients/7101')).body.caseware.state).toBe('pending');
    }
  } catch (error) {
    await trx.rollback();
    throw error;
  }
  await trx.commit();

  // Read the status and then the portal: if the status says in-sync, the portal must already hold
  // the change (what the status saw applied was applied before the read of the portal).
  let violation: string | undefined;
  let city: string | undefined;
  await waitFor(
    'CaseWare to hold the slow transaction\'s city with the status in-sync',
    async () => {
      const state = (await stack.api('GET', '/sync/clients/7101')).body.caseware.state as string;
      city = (await stack.simState()).entities.find((e) => e.EntityNo === '7101')?.City ?? undefined;
      if (state === 'in-sync' && city !== 'FromSlowTx') violation = `registry FromSlowTx, CaseWare ${city}, status in-sync`;
      return violation !== undefined || (city === 'FromSlowTx' && state === 'in-sync');
    },
    { timeoutMs: 15_000, intervalMs: 20 },
  );
  expect(violation).toBeUndefined();
  expect(city).toBe('FromSlowTx');
  expect((await stack.simState()).users.find((u) => u.Email === 'tom@7101.test')?.Phone).toBe('010-0000002');
});
