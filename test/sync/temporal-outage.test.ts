import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ cuttableTemporal: true });
});
afterAll(async () => {
  await stack?.stop();
});

test('registry writes made while Temporal is unreachable succeed, wait in the outbox and arrive after it is back', async () => {
  const db = stack.database.db;
  const proxy = stack.temporalProxy!;
  await proxy.down();

  const created = await stack.api('POST', '/clients', { clientNumber: '3001', kind: 'company', name: 'Storing B.V.', links: { caseware: true } });
  expect(created.status).toBe(201);
  const contact = await stack.api('POST', '/clients/3001/contacts', {
    firstName: 'Rik', lastName: 'Wacht', email: 'rik@c3001.test', links: { caseware: true },
  });
  expect(contact.status).toBe(201);
  expect((await stack.api('PATCH', '/clients/3001', { city: 'Delft' })).status).toBe(200);

  // The dispatcher keeps trying; nothing is delivered, nothing is lost.
  await waitFor('a failed delivery attempt', async () => {
    const rows = await db('outbox_events').where({ client_number: '3001' }).where('attempts', '>', 0);
    return rows.length > 0;
  });
  const pending = await db('outbox_events').where({ client_number: '3001' }).whereNull('delivered_at');
  expect(pending).toHaveLength(3);
  expect((await stack.simState()).entities.map((e) => e.EntityNo)).not.toContain('3001');
  const status = await stack.api('GET', '/sync/clients/3001');
  expect(status.body.caseware.state).toBe('pending');

  await proxy.up();
  await stack.settled('3001');
  const state = await stack.simState();
  expect(state.entities.filter((e) => e.EntityNo === '3001')).toEqual([expect.objectContaining({ City: 'Delft' })]);
  expect(state.users.filter((u) => u.Email === 'rik@c3001.test')).toHaveLength(1);
  expect(state.mails.filter((m) => m.to === 'rik@c3001.test')).toHaveLength(1);
  expect(await db('outbox_events').where({ client_number: '3001' }).whereNull('delivered_at')).toHaveLength(0);
}, 120_000);
