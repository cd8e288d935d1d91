import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createCaseWareActivities } from '../../activities/caseware';
import { createOffboardingActivities } from '../../activities/offboarding';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { createOffboarding, failUnstartedOffboarding, getOffboarding } from '../../src/registry/offboardings';
import { createClient } from '../../src/registry/clients';
import { createContact, getContact } from '../../src/registry/contacts';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState } from '../../src/simulators/caseware/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';

// The offboarding activities called in the order the workflow calls them, against a real database
// and the CaseWare simulator, with the client's sync run by hand in between.

let database: TestDatabase;
let simulator: CaseWareSimulator;
let caseware: CaseWareClient;

beforeAll(async () => {
  [database, simulator] = await Promise.all([createTestDatabase(), startCaseWareSimulator({ port: 0 })]);
  caseware = new CaseWareClient({ baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: simulator.clientSecret, requestTimeoutMs: 2_000 });
});
afterAll(async () => {
  await simulator?.close();
  await database?.drop();
});

const simState = async () => (await (await fetch(`${simulator.origin}/_sim/state`)).json()) as SimulatorState;

async function script(rules: { method: string; path: string; status?: number }[]) {
  const response = await fetch(`${simulator.origin}/_sim/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
  expect(response.status).toBe(204);
}

/** A CaseWare sync of the client that covers every change committed so far, as its workflow would run one. */
async function syncCaseWare(clientNumber: string) {
  const { db } = database;
  const sync = createCaseWareActivities({ db, caseware, contactRoleName: 'Contact - Entity Access' });
  await db('outbox_events').where({ client_number: clientNumber }).whereNull('delivered_at').update({ delivered_at: db.fn.now() });
  const newest = Number((await db('outbox_events').where({ client_number: clientNumber }).max({ id: 'id' }))[0]?.id ?? 0);
  const { rows } = await db.raw<{ rows: { xid: string }[] }>('select pg_current_xact_id()::text as xid');
  return sync.syncClientToCaseWare({ clientNumber, uptoEventId: newest, horizon: Number(rows[0]?.xid) + 1 });
}

test('a step CaseWare refuses is not done: it waits, naming the refusal, until a later sync gets the change through', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '8101', kind: 'company', status: 'client', name: 'X B.V.', links: { caseware: true } });
  const contact = await createContact(db, '8101', { firstName: 'Ria', lastName: 'R', email: 'ria@x.test', links: { caseware: true } });
  await syncCaseWare('8101');
  const record = await createOffboarding(db, { request: { kind: 'revoke-contact-access', contactId: contact.id }, requestedBy: 'alice', approvalThreshold: 10 });
  const offboarding = createOffboardingActivities({ db, pollIntervalMs: 50 });
  await offboarding.applyOffboardingStep({ offboardingId: record.id, step: 1 });

  // CaseWare refuses taking the share away (422), as the client's sync meets it.
  await script([{ method: 'PATCH', path: 'role-assignments', status: 422 }]);
  expect((await syncCaseWare('8101')).syncErrors).toBe(1);
  const refused = await offboarding.awaitOffboardingStep({ offboardingId: record.id, step: 1, clientNumber: '8101', maxWaitMs: 300 });
  expect(refused).toEqual({
    caughtUp: false,
    behind: [],
    refused: [expect.objectContaining({ portal: 'caseware', recordType: 'contact', recordId: contact.id, code: 'caseware-invalid' })],
  });
  let step = (await getOffboarding(db, record.id)).steps[0];
  expect(step).toMatchObject({ status: 'waiting-for-portals', completedAt: null });
  expect(step?.refusal).toMatch(new RegExp(`^CaseWare Cloud refused it \\(caseware-invalid\\): contact ${contact.id} at client 8101: `));
  expect(step?.refusal).toContain('The step waits until a later sync of the client gets the change through');
  expect((await simState()).users.find((u) => u.Email === 'ria@x.test')?.Type).not.toBe('I');

  // The portal accepts on a later sync: the step is done, and says nothing of the refusal any more.
  await script([]);
  expect((await syncCaseWare('8101')).syncErrors).toBe(0);
  expect(await offboarding.awaitOffboardingStep({ offboardingId: record.id, step: 1, clientNumber: '8101', maxWaitMs: 300 })).toEqual({
    caughtUp: true,
    behind: [],
    refused: [],
  });
  step = (await getOffboarding(db, record.id)).steps[0];
  expect(step).toMatchObject({ status: 'done', refusal: null });
  expect(step?.completedAt).not.toBeNull();
  expect((await simState()).users.find((u) => u.Email === 'ria@x.test')?.Type).toBe('I');
});

test("another record's sync error at the client does not hold a contact's step", async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '8102', kind: 'company', status: 'client', name: 'Y B.V.', links: { caseware: true } });
  const leaving = await createContact(db, '8102', { firstName: 'Lea', lastName: 'L', email: 'lea@y.test', links: { caseware: true } });
  // A contact without an email cannot be sent to CaseWare: an open sync error of its own.
  await createContact(db, '8102', { firstName: 'Nora', lastName: 'N', links: { caseware: true } });
  expect((await syncCaseWare('8102')).syncErrors).toBe(1);
  const record = await createOffboarding(db, { request: { kind: 'revoke-contact-access', contactId: leaving.id }, requestedBy: 'alice', approvalThreshold: 10 });
  const offboarding = createOffboardingActivities({ db, pollIntervalMs: 50 });
  await offboarding.applyOffboardingStep({ offboardingId: record.id, step: 1 });
  expect((await syncCaseWare('8102')).syncErrors).toBe(1);
  expect(await offboarding.awaitOffboardingStep({ offboardingId: record.id, step: 1, clientNumber: '8102', maxWaitMs: 300 })).toMatchObject({ caughtUp: true });
});

test('a workflow that starts after the API marked its offboarding failed changes nothing, and the record stays failed', async () => {
  const { db } = database;
  const both = { caseware: true, clientOnline: true };
  await createClient(db, { clientNumber: '8201', kind: 'company', status: 'client', name: 'Z B.V.', links: both });
  const contact = await createContact(db, '8201', { email: 'c@z.test', links: both });
  const record = await createOffboarding(db, { request: { kind: 'revoke-contact-access', contactId: contact.id }, requestedBy: 'alice', approvalThreshold: 10 });
  // POST /offboardings: start() threw and Temporal did not know the workflow yet.
  expect(await failUnstartedOffboarding(db, record.id, 'the workflow service (Temporal) could not be reached; nothing was changed')).toBe(true);

  // The workflow starts all the same and does what it would.
  const offboarding = createOffboardingActivities({ db });
  const loaded = await offboarding.loadOffboardingSteps({ offboardingId: record.id });
  expect(loaded.finished).toBe('failed');
  const refusal = await offboarding.applyOffboardingStep({ offboardingId: record.id, step: 1 }).catch((error: unknown) => error);
  expect(refusal).toBeInstanceOf(ApplicationFailure);
  expect(refusal).toMatchObject({ type: 'OffboardingFinished', nonRetryable: true, details: ['failed'] });
  await offboarding.markOffboardingStatus({ offboardingId: record.id, status: 'completed' });

  const after = await getOffboarding(db, record.id);
  expect(after).toMatchObject({ status: 'failed', failure: 'the workflow service (Temporal) could not be reached; nothing was changed' });
  expect(after.steps.map((step) => [step.status, step.changed])).toEqual([['not-run', null]]);
  expect((await getContact(db, contact.id)).links).toEqual(both);
});

test('once a step has started, the API does not mark the offboarding failed: its workflow runs', async () => {
  const { db } = database;
  const both = { caseware: true, clientOnline: true };
  await createClient(db, { clientNumber: '8202', kind: 'company', status: 'client', name: 'W B.V.', links: both });
  const contact = await createContact(db, '8202', { email: 'c@w.test', links: both });
  const record = await createOffboarding(db, { request: { kind: 'revoke-contact-access', contactId: contact.id }, requestedBy: 'alice', approvalThreshold: 10 });
  await createOffboardingActivities({ db }).applyOffboardingStep({ offboardingId: record.id, step: 1 });
  expect(await failUnstartedOffboarding(db, record.id, 'unreachable')).toBe(false);
  expect((await getOffboarding(db, record.id)).status).toBe('running');
});
