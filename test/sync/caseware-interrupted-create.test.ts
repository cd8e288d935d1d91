import { afterAll, beforeAll, expect, test } from 'vitest';
import { simHook } from '../support/simulator-http';
import { startTestStack, syncRanSince, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

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

const calls = async () => (await simHook(stack.simulator.origin, 'GET', 'calls')) as Record<string, number>;
const script = async (rules: object[]) => expect((await fetch(`${stack.simulator.origin}/_sim/script`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }),
})).status).toBe(204);
const ledgerIds = async (clientNumber: string) =>
  (await stack.database.db('portal_identities').where({ portal: 'caseware', client_number: clientNumber }).orderBy('record_type').select('record_type', 'remote_id'))
    .map((row: { record_type: string; remote_id: string | null }) => `${row.record_type} ${row.remote_id}`);

test('creates CaseWare carried out but whose answers were lost are adopted by the retries: one entity, one user, one mail', async () => {
  const only = { caseware: true, clientOnline: false };
  const before = await calls();
  // CaseWare makes the entity and the user, and the connection drops before the answer arrives.
  await script([
    { method: 'POST', path: '^/entities$', times: 1, loseAnswer: true },
    { method: 'POST', path: '^/users$', times: 1, loseAnswer: true },
  ]);
  expect((await stack.api('POST', '/clients', { clientNumber: '7103', kind: 'company', name: 'Verloren B.V.', links: only })).status).toBe(201);
  const contact = await stack.api('POST', '/clients/7103/contacts', { firstName: 'Vera', lastName: 'Loren', email: 'vera@c7103.test', links: only });
  expect(contact.status).toBe(201);
  await stack.settled('7103');
  await script([]);

  const state = await stack.simState();
  const entities = state.entities.filter((e) => e.EntityNo === '7103');
  const users = state.users.filter((u) => u.Email === 'vera@c7103.test');
  expect(entities).toHaveLength(1);
  expect(users).toHaveLength(1);
  expect(state.mails.filter((m) => m.to === 'vera@c7103.test')).toHaveLength(1);
  expect(await ledgerIds('7103')).toEqual([`client ${entities[0]?.CWGuid}`, `contact ${users[0]?.CWGuid}`]);
  // The retry created the entity again at once (no look-up first) and adopted it on CaseWare's 409.
  const after = await calls();
  expect((after['POST /entities'] ?? 0) - (before['POST /entities'] ?? 0)).toBe(2);
}, 120_000);

// Last in this file: it stops the stack's worker.
test('a worker stopped in the middle of adopting an entity (after CaseWare\'s 409) leaves one entity, which the next worker adopts', async () => {
  const loaded = (await simHook(stack.simulator.origin, 'POST', 'load', {
    entities: [{ Name: 'Gestopt B.V.', EntityNo: '7104', City: 'Oud' }],
  })) as { entities: string[] };
  const [handMade] = loaded.entities;
  const before = await calls();
  // The look-up after the 409 never answers: the worker is stopped while it waits.
  await script([{ method: 'GET', path: '^/entities$', times: 1, delayMs: 600_000, status: 503 }]);
  expect((await stack.api('POST', '/clients', { clientNumber: '7104', kind: 'company', name: 'Gestopt B.V.', city: 'Nieuw', links: { caseware: true, clientOnline: false } })).status).toBe(201);
  await waitFor('the look-up after the 409', async () => {
    const now = await calls();
    return (now['POST /entities'] ?? 0) > (before['POST /entities'] ?? 0) && (now['GET /entities'] ?? 0) > (before['GET /entities'] ?? 0);
  });
  stack.services.worker.shutdown();
  await waitFor('the worker to stop', async () => stack.services.worker.getState() === 'STOPPED');
  expect(await ledgerIds('7104')).toEqual([]);

  await (await stack.replacementWorker()).runUntil(() => stack.settled('7104'));
  const state = await stack.simState();
  expect(state.entities.filter((e) => e.EntityNo === '7104').map((e) => ({ id: e.CWGuid, city: e.City }))).toEqual([{ id: handMade, city: 'Nieuw' }]);
  expect(await ledgerIds('7104')).toEqual([`client ${handMade}`]);
  // Both workers tried to create it, and both met the 409.
  expect((await calls())['POST /entities'] ?? 0).toBe((before['POST /entities'] ?? 0) + 2);
}, 120_000);
