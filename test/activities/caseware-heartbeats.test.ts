import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { createCaseWareActivities } from '../../activities/caseware';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { createClient } from '../../src/registry/clients';
import { createContact, updateContact } from '../../src/registry/contacts';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState } from '../../src/simulators/caseware/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startTemporal, waitFor } from '../support/temporal';
import { caseWareFirstAttempt, caseWareSyncRun } from './workflows/caseware-attempts';

// The CaseWare sync inside a real worker, under Temporal's heartbeats and retries: an attempt that
// is cancelled stops at once, a retry resumes where its predecessor stopped, and a slow attempt is
// not given up on (and raced by its retry) while it is alive.

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let simulator: CaseWareSimulator;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `caseware-heartbeats-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  let bundle;
  [env, database, simulator, bundle] = await Promise.all([
    startTemporal(),
    createTestDatabase(),
    startCaseWareSimulator({ port: 0 }),
    bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, 'workflows', 'caseware-attempts.ts'), logger: quiet }),
  ]);
  // Requests time out long after the attempt should have stopped: only cancellation can stop it early.
  const caseware = new CaseWareClient({ baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: simulator.clientSecret, requestTimeoutMs: 60_000 });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createCaseWareActivities({ db: database.db, caseware, contactRoleName: 'Contact - Entity Access' }),
  });
  running = worker.run();
});
afterEach(async () => {
  await script([]);
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await simulator?.close();
  await env?.teardown();
  await database?.drop();
});

const noop = () => undefined;
const quiet = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

type Rule = { method: string; path: string; times?: number; delayMs?: number; status?: number; body?: string };
async function script(rules: Rule[]) {
  const response = await fetch(`${simulator.origin}/_sim/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
  expect(response.status).toBe(204);
}
const allCalls = async () => (await (await fetch(`${simulator.origin}/_sim/calls`)).json()) as Record<string, number>;
let before: Record<string, number> = {};
beforeEach(async () => {
  before = await allCalls();
});
/** The calls made since the test began, per route. */
async function calls(): Promise<Record<string, number>> {
  const now = await allCalls();
  return Object.fromEntries(Object.entries(now).map(([route, n]) => [route, n - (before[route] ?? 0)]).filter(([, n]) => n !== 0));
}
const simState = async () => (await (await fetch(`${simulator.origin}/_sim/state`)).json()) as SimulatorState;

function run(clientNumber: string, heartbeatTimeout: string) {
  return env.client.workflow.start(caseWareSyncRun, {
    workflowId: `caseware-run-${clientNumber}-${randomBytes(3).toString('hex')}`,
    taskQueue,
    args: [{ clientNumber, uptoEventId: 1 }, heartbeatTimeout],
  });
}

/**
 * Cancels the sync of a company whose entity request hangs, once that request is made, and checks
 * that the sync ends as cancelled within `withinMs` (far below the 60 s request timeout: only the
 * abort ends it this soon) and made no call after it.
 */
async function cancelWhileTheEntityHangs(clientNumber: string, start: () => Promise<WorkflowHandle>, withinMs: number): Promise<void> {
  await createClient(database.db, { clientNumber, kind: 'company', status: 'client', name: `Hang ${clientNumber} B.V.`, links: { caseware: true } });
  await script([{ method: 'POST', path: '^/entities$', delayMs: 600_000 }]);
  const handle = await start();
  await waitFor('the entity request to hang', async () => ((await calls())['POST /entities'] ?? 0) >= 1);
  const cancelledAt = Date.now();
  await handle.cancel();
  const outcome = await handle.result().catch((error: unknown) => error);
  expect(outcome).toBeInstanceOf(WorkflowFailedError);
  expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect(Date.now() - cancelledAt).toBeLessThan(withinMs);
  const after = await calls();
  expect(after['POST /entities']).toBe(1);
  expect(Object.keys(after).filter((route) => route.includes('/users'))).toEqual([]);
}

test('a cancelled attempt stops at once, its hanging call aborted, and makes no further calls', async () => {
  // The heartbeat timeout is 3 s.
  await cancelWhileTheEntityHangs('7101', () => run('7101', '3 seconds'), 10_000);
});

test('a first attempt, a local activity without heartbeats, stops when cancelled, its hanging call aborted', async () => {
  // The workflow waits for the attempt to stop. (The cancel request itself reaches the workflow
  // when its worker heartbeats the workflow task the local activity keeps open, within 8 s.)
  await cancelWhileTheEntityHangs(
    '7106',
    () => env.client.workflow.start(caseWareFirstAttempt, {
      workflowId: `caseware-first-attempt-7106-${randomBytes(3).toString('hex')}`,
      taskQueue,
      args: [{ clientNumber: '7106', uptoEventId: 1 }],
    }),
    15_000,
  );
});

test('a retry resumes after the contacts the failed attempt finished, without calling for them again', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '7102', kind: 'company', status: 'client', name: 'Groot B.V.', links: { caseware: true } });
  for (const n of [1, 2, 3, 4]) {
    await createContact(db, '7102', { firstName: `C${n}`, email: `c${n}@c7102.test`, links: { caseware: true } });
  }
  // The first attempt creates two contacts, then CaseWare fails on the third (retryable).
  await script([
    { method: 'POST', path: '^/users$', times: 2 },
    { method: 'POST', path: '^/users$', times: 1, status: 503 },
  ]);
  const summary = await (await run('7102', '20 seconds')).result();
  expect(summary).toMatchObject({ entity: 'unchanged', contactsCreated: 2 });
  const counted = await calls();
  // Two created by the first attempt, one refused, two by the retry.
  expect(counted['POST /users']).toBe(5);
  // The retry neither looked up the entity nor the contacts the first attempt had finished.
  expect(counted['GET /entities/:guid'] ?? 0).toBe(0);
  expect(counted['GET /users/:guid'] ?? 0).toBe(0);
  const state = await simState();
  expect(state.users.filter((u) => u.Email.endsWith('@c7102.test'))).toHaveLength(4);
  expect(state.mails.filter((m) => m.to.endsWith('@c7102.test'))).toHaveLength(4);
});

test('a first attempt that fails part-way records what CaseWare took, so its retry does not send it again', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '7107', kind: 'company', status: 'client', name: 'Deels B.V.', links: { caseware: true } });
  const contacts = [];
  for (const n of [1, 2, 3]) contacts.push(await createContact(db, '7107', { firstName: `D${n}`, email: `d${n}@c7107.test`, links: { caseware: true } }));
  await (await run('7107', '20 seconds')).result();
  for (const contact of contacts) await updateContact(db, contact.id, { mobile: `+3169000000${contact.id % 10}` });
  before = await allCalls();
  // The local first attempt (it keeps what CaseWare confirmed until the sync closes) gets two
  // contacts through, then CaseWare fails on the third.
  await script([
    { method: 'PATCH', path: '^/users/', times: 2 },
    { method: 'PATCH', path: '^/users/', times: 1, status: 503 },
  ]);
  const firstAttempt = await env.client.workflow.start(caseWareFirstAttempt, {
    workflowId: `caseware-first-attempt-7107-${randomBytes(3).toString('hex')}`,
    taskQueue,
    args: [{ clientNumber: '7107', uptoEventId: 1 }],
  });
  expect(await firstAttempt.result().catch((error: unknown) => error)).toBeInstanceOf(WorkflowFailedError);
  const sent = await db('portal_identities').where({ portal: 'caseware', record_type: 'contact' }).whereIn('record_id', contacts.map((c) => c.id)).orderBy('record_id');
  expect(sent.map((row) => (row.last_sent as { MobilePhone?: string }).MobilePhone)).toEqual([
    `+3169000000${(contacts[0]?.id ?? 0) % 10}`,
    `+3169000000${(contacts[1]?.id ?? 0) % 10}`,
    null,
  ]);
  // The retry sends only the contact CaseWare did not take.
  await (await run('7107', '20 seconds')).result();
  expect((await calls())['PATCH /users/:guid']).toBe(4);
  const mobiles = (await simState()).users.filter((user) => user.Email.endsWith('@c7107.test')).map((user) => user.MobilePhone);
  expect(mobiles.sort()).toEqual(contacts.map((c) => `+3169000000${c.id % 10}`).sort());
});

test('a slow attempt that is alive is not given up on: its retry does not create the entity a second time', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '7103', kind: 'company', status: 'client', name: 'Traag B.V.', links: { caseware: true } });
  // CaseWare takes 6 s to create the entity, twice the heartbeat timeout.
  await script([{ method: 'POST', path: '^/entities$', times: 1, delayMs: 6_000 }]);
  const summary = await (await run('7103', '3 seconds')).result();
  expect(summary).toMatchObject({ entity: 'created' });
  expect((await calls())['POST /entities']).toBe(1);
  expect((await simState()).entities.filter((e) => e.EntityNo === '7103')).toHaveLength(1);
});

test('a new client is shared with all its contacts in one call', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '7104', kind: 'company', status: 'client', name: 'Samen B.V.', links: { caseware: true } });
  for (const n of [1, 2, 3]) {
    await createContact(db, '7104', { firstName: `S${n}`, email: `s${n}@c7104.test`, links: { caseware: true } });
  }
  const summary = await (await run('7104', '20 seconds')).result();
  expect(summary).toMatchObject({ entity: 'created', contactsCreated: 3, syncErrors: 0 });
  const counted = await calls();
  expect(counted['POST /users']).toBe(3);
  expect(counted['PATCH /entities/:guid/role-assignments']).toBe(1);
  const state = await simState();
  const entity = state.entities.find((e) => e.EntityNo === '7104');
  const users = state.users.filter((u) => u.Email.endsWith('@c7104.test')).map((u) => u.CWGuid).sort();
  expect(state.roleAssignments.filter((a) => a.entityId === entity?.CWGuid).map((a) => a.userId).sort()).toEqual(users);
});

test('a shared call CaseWare refuses is made again per contact: only the refused contact gets a sync error', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '7105', kind: 'company', status: 'client', name: 'Apart B.V.', links: { caseware: true } });
  for (const n of [1, 2, 3]) {
    await createContact(db, '7105', { firstName: `A${n}`, email: `a${n}@c7105.test`, links: { caseware: true } });
  }
  // The call for all three is refused, and so is the first one made per contact.
  await script([{ method: 'PATCH', path: '/role-assignments$', times: 2, status: 400, body: JSON.stringify({ errors: [{ message: 'refused' }] }) }]);
  const summary = await (await run('7105', '20 seconds')).result();
  expect(summary).toMatchObject({ entity: 'created', contactsCreated: 2, syncErrors: 1 });
  expect((await calls())['PATCH /entities/:guid/role-assignments']).toBe(4);
  const errors = await db('sync_errors').where({ client_number: '7105' }).whereNull('resolved_at').select('record_type', 'code');
  expect(errors).toEqual([{ record_type: 'contact', code: 'caseware-invalid' }]);
});
