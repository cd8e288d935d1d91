import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { SimulatorState } from '../../src/simulators/client-online/simulator';
import { assertLoginPrivacy, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// One login, one identity: the master's. Over real servers (registry API → outbox → Temporal →
// Client Online simulator over HTTP), a follower's push carries its master's login details, and a
// change of those details reaches every client the login sees.

let stack: TestStack;
const personClients = new Map<string, number>(); // client number → registry id

beforeAll(async () => {
  stack = await startTestStack({ clientOnlineProcessingDelayMs: 20 });
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(async () => {
  assertLoginPrivacy(await stack.coState(), personClients);
});

async function company(clientNumber: string) {
  const response = await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Bedrijf ${clientNumber} B.V.`, links: { clientOnline: true } });
  expect(response.status).toBe(201);
}

async function contact(clientNumber: string, body: Record<string, unknown>) {
  const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, { links: { clientOnline: true }, ...body });
  expect(response.status).toBe(201);
  return response.body as { id: number };
}

const loginOf = (state: SimulatorState, ref: string) => state.logins.find((l) => l.ref === ref);
const clientOf = (state: SimulatorState, clientNumber: string) => state.clients.find((c) => c.clientNumber === clientNumber);

/** Renames a client and waits until Client Online holds the new name: its push has landed. */
async function pushedAfterRename(clientNumber: string, name: string): Promise<SimulatorState> {
  expect((await stack.api('PATCH', `/clients/${clientNumber}`, { name })).status).toBe(200);
  return waitFor(`client ${clientNumber}'s push with its new name`, async () => {
    const state = await stack.coState();
    return clientOf(state, clientNumber)?.name === name && state;
  });
}

test("a follower of a master contact carries the master's login: one login, a stable username, one mail", async () => {
  await company('7101');
  await company('7102');
  const master = await contact('7101', { firstName: 'Mara', lastName: 'Meester', email: 'mara@a7101.test', mobile: '06-11110000' });
  const follower = await contact('7102', { email: 'mara@b7102.test', mobile: '06-22220000', links: { clientOnline: false } });
  expect((await stack.api('PUT', `/contacts/${follower.id}/master`, { contactId: master.id })).status).toBe(200);
  expect((await stack.api('PUT', `/contacts/${follower.id}/links`, { clientOnline: true })).status).toBe(200);
  const ref = `c-${master.id}`;
  await waitFor('the login to see both companies', async () => loginOf(await stack.coState(), ref)?.clients.length === 2);

  // Each company's push in turn: the login stays the master's, whichever pushed last.
  for (const [clientNumber, name] of [['7102', 'B twee'], ['7101', 'A twee'], ['7102', 'B drie']] as const) {
    const state = await pushedAfterRename(clientNumber, name);
    expect(loginOf(state, ref), `after ${clientNumber}'s push`).toMatchObject({ email: 'mara@a7101.test', mobile: '06-11110000' });
  }
  const state = await stack.coState();
  expect(state.logins.filter((l) => l.email.startsWith('mara@'))).toHaveLength(1);
  expect(state.mails.filter((m) => m.ref === ref)).toHaveLength(1);
  expect(state.mails.filter((m) => m.to === 'mara@b7102.test')).toEqual([]);
});

test("a master person client's email (not a synced field) reaches the login through its followers' clients", async () => {
  // The person client itself is not in Client Online: only its follower's company pushes his login.
  const person = await stack.api('POST', '/clients', {
    clientNumber: '7103', kind: 'person', name: 'J. Jansen', firstName: 'Jan', lastName: 'Jansen', email: 'jan@old.test',
    correspondenceEmailPreference: 'business', links: { clientOnline: false },
  });
  expect(person.status).toBe(201);
  personClients.set('7103', person.body.id);
  await company('7104');
  await contact('7104', { master: { clientNumber: '7103' }, email: 'jan@a7104.test' });
  const ref = `p-${person.body.id}`;
  await waitFor('the follower\'s company to carry his login', async () => loginOf(await stack.coState(), ref)?.email === 'jan@old.test');

  expect((await stack.api('PATCH', '/clients/7103', { email: 'jan@new.test' })).status).toBe(200);
  const state = await waitFor('the login to take the master\'s new email', async () => {
    const current = await stack.coState();
    return loginOf(current, ref)?.email === 'jan@new.test' && current;
  });
  expect(state.mails.filter((m) => m.ref === ref)).toHaveLength(1);
});

test("a master contact's mobile (a business field) reaches the login through its followers' clients", async () => {
  // The master contact's own Client Online link is off: only its follower's company pushes the login.
  await company('7105');
  await company('7106');
  const master = await contact('7105', { firstName: 'Mo', lastName: 'Biel', email: 'mo@a7105.test', mobile: '06-33330000', links: { clientOnline: false } });
  await contact('7106', { master: { contactId: master.id }, email: 'mo@b7106.test' });
  const ref = `c-${master.id}`;
  await waitFor('the follower\'s company to carry the master\'s login', async () => loginOf(await stack.coState(), ref)?.mobile === '06-33330000');

  expect((await stack.api('PATCH', `/contacts/${master.id}`, { mobile: '06-44440000' })).status).toBe(200);
  await waitFor('the login to take the master\'s new mobile', async () => loginOf(await stack.coState(), ref)?.mobile === '06-44440000');
  expect((await stack.coState()).mails.filter((m) => m.ref === ref)).toHaveLength(1);
});
