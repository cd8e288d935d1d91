import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestStack, syncRanSince, type TestStack } from '../support/stack';

// A sync that created a CaseWare user and died before recording its id (a worker killed, the
// database connection dropped) leaves the ledger with access "active" and no remote id. When the
// contact is then switched off, the revoke must still find that user and take its access away.
// Found by the chaos run (npm run chaos, seed 20261202): a contact switched off that stayed active.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

test('a contact switched off after an interrupted create is deactivated in CaseWare, though the ledger never learnt its id', async () => {
  const both = { caseware: true, clientOnline: false };
  expect((await stack.api('POST', '/clients', { clientNumber: '7101', kind: 'company', name: 'Onderbroken B.V.', links: both })).status).toBe(201);
  const contact = await stack.api('POST', '/clients/7101/contacts', { firstName: 'Ida', lastName: 'Half', email: 'ida@c7101.test', links: both });
  expect(contact.status).toBe(201);
  await stack.settled('7101');
  const user = (await stack.simState()).users.find((u) => u.Email === 'ida@c7101.test');
  expect(user?.Type).toBe('A');

  // What the interrupted attempt left: access written ahead, the user created, its id never saved.
  await stack.database.db('portal_identities')
    .where({ portal: 'caseware', record_type: 'contact', record_id: contact.body.id })
    .update({ remote_id: null, last_sent: null, access: 'active' });

  expect((await stack.api('PUT', `/contacts/${contact.body.id}/links`, { caseware: false })).status).toBe(200);
  await syncRanSince(stack, '7101', 'caseware');
  const after = (await stack.simState()).users.find((u) => u.Email === 'ida@c7101.test');
  expect(after?.Type, 'the CaseWare user of a contact switched off').toBe('I');
  expect(await stack.differences(['7101'])).toEqual([]);
}, 120_000);

test('an email change after an interrupted create gives the user made then the new address: no second user', async () => {
  const both = { caseware: true, clientOnline: false };
  expect((await stack.api('POST', '/clients', { clientNumber: '7102', kind: 'company', name: 'Verhuisd B.V.', links: both })).status).toBe(201);
  const contact = await stack.api('POST', '/clients/7102/contacts', { firstName: 'Otto', lastName: 'Oud', email: 'otto@c7102.test', links: both });
  expect(contact.status).toBe(201);
  await stack.settled('7102');
  const user = (await stack.simState()).users.find((u) => u.Email === 'otto@c7102.test');
  expect(user?.Type).toBe('A');

  // The interrupted attempt's leftovers, as above; then the contact's address changes.
  await stack.database.db('portal_identities')
    .where({ portal: 'caseware', record_type: 'contact', record_id: contact.body.id })
    .update({ remote_id: null, last_sent: null, access: 'active' });
  expect((await stack.api('PATCH', `/contacts/${contact.body.id}`, { email: 'otto@nieuw.test' })).status).toBe(200);
  await syncRanSince(stack, '7102', 'caseware');

  const state = await stack.simState();
  const users = state.users.filter((u) => u.Email === 'otto@c7102.test' || u.Email === 'otto@nieuw.test');
  expect(users.map((u) => ({ id: u.CWGuid, email: u.Email, type: u.Type }))).toEqual([{ id: user?.CWGuid, email: 'otto@nieuw.test', type: 'A' }]);
  expect(state.mails.filter((m) => m.to === 'otto@c7102.test' || m.to === 'otto@nieuw.test')).toHaveLength(1);
  expect(await stack.differences(['7102'])).toEqual([]);
}, 120_000);
