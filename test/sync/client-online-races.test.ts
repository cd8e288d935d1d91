import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { temporal } from '@temporalio/proto';
import { assertLoginPrivacy, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Pushes and deletes that share a Client Online login, overlapping, over real servers (registry
// API → outbox → Temporal → simulator over HTTP). The simulator takes 1.5 s per push between
// looking up its logins and storing them, so a push is in flight long enough to be overtaken.

let stack: TestStack;
const personClients = new Map<string, number>(); // client number → registry id

beforeAll(async () => {
  stack = await startTestStack({ clientOnlineProcessingDelayMs: 1_500 });
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(async () => {
  assertLoginPrivacy(await stack.coState(), personClients);
});

/**
 * True while the client's workflow runs its Client Online sync (its push is under way): as a
 * regular activity, or as a first attempt, a local activity inside a started workflow task. These
 * companies are linked to Client Online only, so a started workflow task is that sync.
 */
async function clientOnlineSyncRunning(clientNumber: string): Promise<boolean> {
  const { raw } = await stack.temporal.client.workflow.getHandle(`client-${clientNumber}`).describe();
  return (raw.pendingActivities ?? []).some((activity) => activity.activityType?.name === 'syncClientToClientOnline') ||
    raw.pendingWorkflowTask?.state === temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED;
}

test("a person client made former while a company's push of his login is in flight: no failed push, no second login or mail", async () => {
  const person = await stack.api('POST', '/clients', {
    clientNumber: '7201', kind: 'person', name: 'V. Vertrek', firstName: 'Vera', lastName: 'Vertrek', privateEmail: 'vera@home.test',
    correspondenceEmailPreference: 'private', links: { clientOnline: true },
  });
  expect(person.status).toBe(201);
  personClients.set('7201', person.body.id);
  const ref = `p-${person.body.id}`;
  expect((await stack.api('POST', '/clients', { clientNumber: '7202', kind: 'company', name: 'Vertrek B.V.', links: { clientOnline: true } })).status).toBe(201);
  const follower = await stack.api('POST', '/clients/7202/contacts', { master: { clientNumber: '7201' }, email: 'vera@7202.test' });
  expect(follower.status).toBe(201);
  await waitFor('her login and the company in Client Online', async () => {
    const state = await stack.coState();
    return state.logins.some((l) => l.ref === ref) && state.clients.some((c) => c.clientNumber === '7202');
  });
  // Nothing else of the company's may be under way: the next sync of it is the push below.
  await stack.settled('7201');
  await stack.settled('7202');
  await waitFor('the company\'s syncs to be done', async () => !(await clientOnlineSyncRunning('7202')));

  // The company's push that gives her login the company starts; while it is in flight she leaves.
  expect((await stack.api('PUT', `/contacts/${follower.body.id}/links`, { clientOnline: true })).status).toBe(200);
  await waitFor('the company\'s push to be under way', () => clientOnlineSyncRunning('7202'), { intervalMs: 20 });
  expect((await stack.api('PATCH', '/clients/7201', { status: 'former' })).status).toBe(200);

  const state = await waitFor('her client gone and her login seeing the company', async () => {
    const current = await stack.coState();
    const login = current.logins.find((l) => l.ref === ref);
    return !current.clients.some((c) => c.clientNumber === '7201') && login?.clients.join() === '7202' && current;
  }, { timeoutMs: 30_000 });
  expect(state.mails.filter((m) => m.ref === ref)).toHaveLength(1);
  // Client Online shows the push before the sync that sent it has recorded its outcome (and
  // resolved the company's no-client-user error of before her link): wait for that sync to finish.
  await stack.settled('7202');
  const errors = await stack.api('GET', '/sync/errors?clientNumber=7202');
  expect(errors.body.errors, JSON.stringify(errors.body.errors)).toEqual([]);
});

test("a login moved from one company to another, the first company's sync running first: the login never vanishes, one mail", async () => {
  const company = async (clientNumber: string) =>
    expect((await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Verhuis ${clientNumber} B.V.`, links: { clientOnline: true } })).status).toBe(201);
  await company('7211');
  await company('7212');
  const master = await stack.api('POST', '/clients/7211/contacts', {
    firstName: 'Mira', lastName: 'Meester', email: 'mira@7211.test', links: { clientOnline: true },
  });
  expect(master.status).toBe(201);
  const colleague = await stack.api('POST', '/clients/7212/contacts', {
    firstName: 'Kees', lastName: 'Collega', email: 'kees@7212.test', links: { clientOnline: true },
  });
  expect(colleague.status).toBe(201);
  const follower = await stack.api('POST', '/clients/7212/contacts', { master: { contactId: master.body.id }, email: 'mira@7212.test' });
  expect(follower.status).toBe(201);
  const ref = `c-${master.body.id}`;
  await waitFor('her login at the first company, the colleague\'s at the second', async () => {
    const state = await stack.coState();
    return state.logins.find((l) => l.ref === ref)?.clients.join() === '7211' &&
      state.logins.some((l) => l.ref === `c-${colleague.body.id}`);
  });
  await stack.settled('7211');
  await stack.settled('7212');

  // The second company's next push waits: another push of the colleague's login holds its lease.
  await stack.database.db('client_online_login_leases').insert({
    ref: `c-${colleague.body.id}`, holder: 'test', expires_at: stack.database.db.raw(`clock_timestamp() + interval '60 seconds'`),
  });
  // She moves: the second company gets her login, then the first one lets go of it. The first
  // company's sync is free to run at once; pushing it first would leave her login with no client.
  expect((await stack.api('PUT', `/contacts/${follower.body.id}/links`, { clientOnline: true })).status).toBe(200);
  expect((await stack.api('PUT', `/contacts/${master.body.id}/links`, { clientOnline: false })).status).toBe(200);
  await waitFor('the first company\'s sync to be under way', () => clientOnlineSyncRunning('7211'), { intervalMs: 20 });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect((await stack.coState()).logins.find((l) => l.ref === ref)?.clients, 'her login while the second company waits').toEqual(['7211']);

  await stack.database.db('client_online_login_leases').where({ holder: 'test' }).del();
  const state = await waitFor('her login seeing only the second company', async () => {
    const current = await stack.coState();
    return current.logins.find((l) => l.ref === ref)?.clients.join() === '7212' && current;
  }, { timeoutMs: 30_000 });
  expect(state.mails.filter((m) => m.ref === ref), 'credentials mails for her login').toHaveLength(1);
  await stack.settled('7211');
  await stack.settled('7212');
  expect(await stack.differences()).toEqual([]);
});
