import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { SimulatorState } from '../../src/simulators/client-online';
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
