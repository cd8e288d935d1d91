import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { ensureReconcileSchedule } from '../../src/reconcile-schedule';
import { reconcileScheduleId } from '../../workflows/definitions';
import { startTestStack, type TestStack } from '../support/stack';

// The reconcile over real servers: drift made by hand in each simulator, through its own API as a
// person in the portal would, is found in bulk and repaired by the clients' own syncs.
// RECORD_HISTORIES=1 writes the runs' histories to test/fixtures/histories (reconcile-*.json),
// which the replay test replays against the current workflow code.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function createCompany(clientNumber: string, links = { caseware: true, clientOnline: true }) {
  const response = await stack.api('POST', '/clients', {
    clientNumber,
    kind: 'company',
    name: `Reconcile ${clientNumber} B.V.`,
    address: 'Dijk 1',
    postcode: '1234 AB',
    city: 'Hoorn',
    country: 'NL',
    email: `info-${clientNumber}@example.test`,
    links,
  });
  expect(response.status).toBe(201);
}

async function createContact(clientNumber: string, body: Record<string, unknown>) {
  const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, { links: { caseware: true, clientOnline: true }, ...body });
  expect(response.status).toBe(201);
  return response.body as { id: number };
}

/** Calls per route at the simulators since `before`. */
async function callsSince(before: { caseware: Record<string, number>; clientOnline: Record<string, number> }) {
  const now = await calls();
  const delta = (after: Record<string, number>, earlier: Record<string, number>) =>
    Object.fromEntries(Object.entries(after).flatMap(([route, n]) => (n - (earlier[route] ?? 0) > 0 ? [[route, n - (earlier[route] ?? 0)]] : [])));
  return { caseware: delta(now.caseware, before.caseware), clientOnline: delta(now.clientOnline, before.clientOnline) };
}

async function calls() {
  const [caseware, clientOnline] = await Promise.all([
    fetch(`${stack.simulator.origin}/_sim/calls`).then((r) => r.json() as Promise<Record<string, number>>),
    fetch(`${stack.clientOnline.origin}/_sim/calls`).then((r) => r.json() as Promise<Record<string, number>>),
  ]);
  return { caseware, clientOnline };
}

const writes = (routes: Record<string, number>) => Object.entries(routes).filter(([route]) => !route.startsWith('GET '));

/** A CaseWare API call made by hand, as a person in the portal would. */
async function caseWareByHand(method: string, path: string, body?: unknown) {
  const token = await fetch(`${stack.simulator.baseUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ClientId: stack.simulator.clientId, ClientSecret: stack.simulator.clientSecret, Language: 'en' }),
  }).then((r) => r.json() as Promise<{ Token: string }>);
  const response = await fetch(`${stack.simulator.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token.Token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
}

async function clientOnlineByHand(method: string, clientNumber: string, body?: unknown) {
  const response = await fetch(`${stack.clientOnline.baseUrl}/api/v1/clients/${clientNumber}`, {
    method,
    headers: { 'x-api-key': stack.clientOnline.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `${method} ${clientNumber}`).toBeLessThan(300);
}

/** A Client Online client as its API answers it. */
async function clientOnlineAnswer(clientNumber: string) {
  const response = await fetch(`${stack.clientOnline.baseUrl}/api/v1/clients/${clientNumber}`, { headers: { 'x-api-key': stack.clientOnline.apiKey } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown> & { clientNumber: string; users: Record<string, unknown>[] };
}

interface PortalReport {
  portal: 'caseware' | 'clientOnline';
  checked: number;
  inSync: number;
  drifted: number;
  repaired: number;
  failed: number;
  orphans: number;
  reads: number;
  writes: number;
}

async function reconcile(body: Record<string, unknown> = { wait: true }, record?: string) {
  const response = await stack.api('POST', '/reconcile', body);
  expect(response.status).toBe(200);
  if (record && process.env.RECORD_HISTORIES) {
    const history = await stack.temporal.client.workflow.getHandle(response.body.workflowId as string).fetchHistory();
    const dir = path.join(__dirname, '..', 'fixtures', 'histories');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `reconcile-${record}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
  }
  return response.body as {
    id: number;
    workflowId: string;
    status: string;
    report: { status: string; portals: PortalReport[] };
    repairs?: unknown[];
  };
}

const portalReport = (run: { report: { portals: PortalReport[] } }, portal: PortalReport['portal']) =>
  run.report.portals.find((p) => p.portal === portal)!;

describe('the reconcile', () => {
  test('the schedule exists after the worker started; starting again does not make a second one and keeps it paused', async () => {
    const handle = stack.temporal.client.schedule.getHandle(reconcileScheduleId);
    const described = await handle.describe();
    expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 3_600_000 })]);
    expect(described.policies.overlap).toBe('SKIP');

    await handle.pause('test: paused by an operator');
    expect(await ensureReconcileSchedule(stack.temporal.client, { taskQueue: stack.taskQueue })).toBe('updated');
    const schedules = [];
    for await (const schedule of stack.temporal.client.schedule.list()) schedules.push(schedule.scheduleId);
    expect(schedules.filter((id) => id === reconcileScheduleId)).toHaveLength(1);
    expect((await handle.describe()).state.paused).toBe(true);

    const viaApi = await stack.api('PUT', '/reconcile/schedule', { paused: false });
    expect(viaApi.status).toBe(200);
    expect(viaApi.body).toMatchObject({ scheduleId: reconcileScheduleId, paused: false });
    expect((await stack.api('GET', '/reconcile/schedule')).body.nextRuns.length).toBeGreaterThan(0);

    // Temporal takes a note of at most 1000 bytes: 250 four-byte characters pass, 251 are refused
    // here (400, the schedule unchanged) rather than by Temporal (a 500).
    const longest = await stack.api('PUT', '/reconcile/schedule', { paused: true, note: '𐀀'.repeat(250) });
    expect(longest.status).toBe(200);
    expect(longest.body).toMatchObject({ paused: true, note: '𐀀'.repeat(250) });
    const tooLong = await stack.api('PUT', '/reconcile/schedule', { paused: false, note: '𐀀'.repeat(251) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.message).toContain('at most 1000 bytes');
    expect((await handle.describe()).state.paused).toBe(true);
    expect((await stack.api('PUT', '/reconcile/schedule', { paused: false })).status).toBe(200);
  });

  test('a clean run reads the portals in bulk and writes nothing', async () => {
    for (const n of ['8001', '8002', '8003']) {
      await createCompany(n);
      await createContact(n, { firstName: 'Schoon', lastName: `Klant${n}`, email: `schoon@c${n}.test` });
      await stack.settled(n);
    }
    const before = await calls();
    const run = await reconcile();
    expect(run.status).toBe('completed');
    const made = await callsSince(before);
    expect(writes(made.caseware)).toEqual([]);
    expect(writes(made.clientOnline)).toEqual([]);
    // Bulk lists, not a call per client: the same few routes, however many clients.
    expect(Object.keys(made.caseware).sort()).toEqual(
      expect.arrayContaining(['GET /entities', 'GET /users', 'GET /role-assignments', 'GET /roles']),
    );
    expect(Object.keys(made.caseware).filter((route) => route.includes(':guid'))).toEqual([]);
    expect(Object.keys(made.clientOnline)).toEqual(['GET /api/v1/clients']);
    for (const portal of ['caseware', 'clientOnline'] as const) {
      const report = portalReport(run, portal);
      expect(report).toMatchObject({ drifted: 0, repaired: 0, failed: 0, writes: 0 });
      expect(report.checked).toBeGreaterThanOrEqual(3);
      expect(report.inSync).toBe(report.checked);
      expect(report.reads).toBeGreaterThan(0);
    }
  });

  test('runs in a row get ids in a row, a dry run among them (issue 18: they went 1, 3, 5)', async () => {
    const runs = [await reconcile(), await reconcile({ dryRun: true, wait: true }), await reconcile()];
    const [first] = runs.map((run) => run.id);
    expect(runs.map((run) => run.id)).toEqual([first, first! + 1, first! + 2]);
    expect(runs.map((run) => run.report.status)).toEqual(['completed', 'completed', 'completed']);
    const listed = await stack.api('GET', '/reconcile/runs?limit=3');
    expect(listed.body.map((run: { id: number }) => run.id)).toEqual([first! + 2, first! + 1, first]);
  });

  test('drift made by hand in CaseWare Cloud is repaired: an edited field, a deactivated contact, a removed share, a deleted entity', async () => {
    await createCompany('8101', { caseware: true, clientOnline: false });
    await createContact('8101', { firstName: 'Dirk', lastName: 'Drift', email: 'dirk@c8101.test', links: { caseware: true } });
    const eva = await createContact('8101', { firstName: 'Eva', lastName: 'Echt', email: 'eva@c8101.test', links: { caseware: true } });
    await createCompany('8102', { caseware: true, clientOnline: false });
    await createContact('8102', { firstName: 'Fien', lastName: 'Weg', email: 'fien@c8102.test', links: { caseware: true } });
    await stack.settled('8101');
    await stack.settled('8102');

    const state = await stack.simState();
    const entity = state.entities.find((e) => e.EntityNo === '8101')!;
    const dirk = state.users.find((u) => u.Email === 'dirk@c8101.test')!;
    const evaUser = state.users.find((u) => u.Email === 'eva@c8101.test')!;
    const role = state.roles.find((r) => r.Name === 'Contact - Entity Access')!;
    await caseWareByHand('PATCH', `/entities/${entity.CWGuid}`, { City: 'Handwerk' });
    await caseWareByHand('PATCH', `/users/${dirk.CWGuid}`, { OwnerType: 'Contact', LastName: 'Hand' });
    await caseWareByHand('PATCH', `/users/${evaUser.CWGuid}`, { OwnerType: 'Contact', Type: 'I', InActiveDate: '2026-01-01' });
    await caseWareByHand('PATCH', `/entities/${entity.CWGuid}/role-assignments`, { userIds: [dirk.CWGuid], roleId: role.CWGuid, isRemove: true });
    await caseWareByHand('DELETE', `/entities/${state.entities.find((e) => e.EntityNo === '8102')!.CWGuid}`);
    expect(await stack.differences(['8101', '8102'])).not.toEqual([]);

    const mailsBefore = (await stack.simState()).mails.length;
    const run = await reconcile({ wait: true }, 'caseware-repairs');
    const report = portalReport(run, 'caseware');
    expect(report.drifted).toBe(2);
    expect(report.repaired).toBe(2);
    expect(report.failed).toBe(0);
    await stack.settled('8101');
    await stack.settled('8102');
    expect(await stack.differences(['8101', '8102'])).toEqual([]);
    const after = await stack.simState();
    expect(after.users.find((u) => u.CWGuid === evaUser.CWGuid)).toMatchObject({ Type: 'A' });
    expect(after.entities.filter((e) => e.EntityNo === '8102')).toHaveLength(1);
    // Repairs make no new logins: the contacts keep their CaseWare users, and nobody is mailed.
    expect(after.mails.length).toBe(mailsBefore);
    expect(eva.id).toBeGreaterThan(0);

    const details = await stack.api('GET', `/reconcile/runs/${run.id}`);
    expect(details.status).toBe(200);
    const repairs = details.body.repairs as { clientNumber: string; status: string; drift: { issue: string; fields?: string[] }[] }[];
    const of8101 = repairs.find((r) => r.clientNumber === '8101' && (r as { portal?: string }).portal === 'caseware')!;
    expect(of8101.status).toBe('repaired');
    expect(of8101.drift).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ recordType: 'client', issue: 'fields', fields: ['City'] }),
        expect.objectContaining({ recordType: 'contact', issue: 'fields', fields: ['LastName'] }),
        expect.objectContaining({ recordType: 'contact', issue: 'share-missing' }),
        expect.objectContaining({ recordType: 'contact', issue: 'inactive' }),
      ]),
    );
    // Drift names fields, never their values.
    expect(JSON.stringify(details.body)).not.toMatch(/Handwerk|Hand"|Drift|dirk@/);
  });

  test('drift made by hand in Client Online is repaired: a client deleted, a field edited, a client user removed', async () => {
    for (const n of ['8201', '8202', '8203']) {
      await createCompany(n, { caseware: false, clientOnline: true });
      await createContact(n, { firstName: 'Gijs', lastName: `Online${n}`, email: `gijs@c${n}.test`, links: { clientOnline: true } });
      await stack.settled(n);
    }
    await clientOnlineByHand('DELETE', '8201');
    const { clientNumber: _n2, users: users2, ...fields2 } = await clientOnlineAnswer('8202');
    await clientOnlineByHand('PUT', '8202', { ...pushable(fields2), name: 'Met de hand', users: users2.map(pushableUser) });
    const { clientNumber: _n3, users: _users3, ...fields3 } = await clientOnlineAnswer('8203');
    await clientOnlineByHand('PUT', '8203', { ...pushable(fields3), users: [] });
    expect(await stack.differences(['8201', '8202', '8203'])).not.toEqual([]);

    const mailsBefore = (await stack.coState()).mails.length;
    const run = await reconcile();
    const report = portalReport(run, 'clientOnline');
    expect(report.drifted).toBe(3);
    expect(report.repaired).toBe(3);
    await stack.settled('8202');
    // The logins of 8201 and 8203 were deleted with their last client: made again, they would be
    // mailed new credentials, so they wait for two operators' approval (test/sync/client-online-recreation.test.ts).
    expect((await stack.coState()).mails.slice(mailsBefore)).toEqual([]);
    const held = (await stack.api('GET', '/sync/health')).body.clientOnline.credentialsMails;
    expect(held.heldCreations.map((h: { clientNumber: string; reason: string }) => [h.clientNumber, h.reason])).toEqual([
      ['8201', 'recreation'],
      ['8203', 'recreation'],
    ]);
    expect((await stack.api('POST', '/sync/portals/clientOnline/approve-mails')).status).toBe(202);
    const { secret } = await createApiToken(stack.database.db, { name: 'second-operator', role: 'operator' });
    const second = await fetch(`${stack.services.apiUrl}/sync/portals/clientOnline/approve-mails`, { method: 'POST', headers: { authorization: `Bearer ${secret}` } });
    expect(second.status).toBe(200);
    for (const n of ['8201', '8202', '8203']) await stack.settled(n);
    expect(await stack.differences(['8201', '8202', '8203'])).toEqual([]);
    // Then they are mailed, once each. Nothing else is: 8202's login was never gone.
    const mails = (await stack.coState()).mails.slice(mailsBefore);
    expect(mails.map((m) => m.to).sort()).toEqual(['gijs@c8201.test', 'gijs@c8203.test']);
  });

  test('orphans are reported and left alone; a dry run repairs nothing', async () => {
    await caseWareByHand('POST', '/entities', { Name: 'Met de hand B.V.', EntityNo: '99901' });
    await clientOnlineByHand('PUT', '99902', { name: 'Handmatig', kind: 'company', users: [] });
    await createCompany('8301', { caseware: true, clientOnline: false });
    await stack.settled('8301');
    const entity = (await stack.simState()).entities.find((e) => e.EntityNo === '8301')!;
    await caseWareByHand('PATCH', `/entities/${entity.CWGuid}`, { Name: 'Veranderd' });

    const before = await calls();
    const run = await reconcile({ wait: true, dryRun: true }, 'dry-run');
    expect(writes((await callsSince(before)).caseware)).toEqual([]);
    expect(portalReport(run, 'caseware')).toMatchObject({ drifted: 1, repaired: 0 });
    expect((await stack.simState()).entities.find((e) => e.EntityNo === '8301')).toMatchObject({ Name: 'Veranderd' });

    const details = await stack.api('GET', `/reconcile/runs/${run.id}`);
    expect(details.body.dryRun).toBe(true);
    expect(details.body.repairs).toEqual([expect.objectContaining({ clientNumber: '8301', status: 'dry-run' })]);
    expect(details.body.orphans).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ portal: 'caseware', kind: 'entity', reason: expect.stringContaining('99901') }),
        expect.objectContaining({ portal: 'clientOnline', kind: 'client', remoteId: '99902' }),
      ]),
    );

    // A real run repairs the drift, and still deletes no orphan.
    await reconcile();
    await stack.settled('8301');
    const state = await stack.simState();
    expect(state.entities.find((e) => e.EntityNo === '8301')).toMatchObject({ Name: 'Reconcile 8301 B.V.' });
    expect(state.entities.find((e) => e.EntityNo === '99901')).toBeDefined();
    expect((await stack.coState()).clients.find((c) => c.clientNumber === '99902')).toBeDefined();
    const runs = await stack.api('GET', '/reconcile/runs');
    expect(runs.body.length).toBeGreaterThanOrEqual(2);
  });
});

describe('change syncs cost what changed', () => {
  test('a field edit is one portal call per portal; an edit of nothing the portals hold is none', async () => {
    await createCompany('8401');
    const hans = await createContact('8401', { firstName: 'Hans', lastName: 'Een', email: 'hans@c8401.test' });
    await stack.settled('8401');

    let before = await calls();
    expect((await stack.api('PATCH', '/clients/8401', { city: 'Alkmaar' })).status).toBe(200);
    await stack.settled('8401');
    let made = await callsSince(before);
    expect(made.caseware).toEqual({ 'PATCH /entities/:guid': 1 });
    expect(made.clientOnline).toEqual({ 'PUT /api/v1/clients/:clientNumber': 1 });

    before = await calls();
    expect((await stack.api('PATCH', `/contacts/${hans.id}`, { lastName: 'Twee' })).status).toBe(200);
    await stack.settled('8401');
    made = await callsSince(before);
    expect(made.caseware).toEqual({ 'PATCH /users/:guid': 1 });
    expect(made.clientOnline).toEqual({ 'PUT /api/v1/clients/:clientNumber': 1 });

    // The website goes to CaseWare only; Client Online's push is the same as before, so not sent.
    before = await calls();
    expect((await stack.api('PATCH', '/clients/8401', { website: 'https://nieuw.example.test' })).status).toBe(200);
    await stack.settled('8401');
    made = await callsSince(before);
    expect(made.caseware).toEqual({ 'PATCH /entities/:guid': 1 });
    expect(made.clientOnline).toEqual({});
  });

  test('a 429 in the middle of a sync repeats only the refused call', async () => {
    await createCompany('8501', { caseware: true, clientOnline: false });
    const ivo = await createContact('8501', { firstName: 'Ivo', lastName: 'Vol', email: 'ivo@c8501.test', links: { caseware: true } });
    await stack.settled('8501');
    const script = await fetch(`${stack.simulator.origin}/_sim/script`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rules: [{ method: 'PATCH', path: '^/users/', times: 1, status: 429, headers: { 'retry-after': '1' } }] }),
    });
    expect(script.status).toBe(204);
    const before = await calls();
    expect((await stack.api('PATCH', '/clients/8501', { city: 'Edam' })).status).toBe(200);
    expect((await stack.api('PATCH', `/contacts/${ivo.id}`, { lastName: 'Vol-Later' })).status).toBe(200);
    await stack.settled('8501');
    const made = await callsSince(before);
    // The entity's update went through once; the refused contact update was sent again once.
    expect(made.caseware['PATCH /entities/:guid']).toBe(1);
    expect(made.caseware['PATCH /users/:guid']).toBe(2);
  });
});

/** A Client Online client as answered, as a push body (what a person would send back edited). */
function pushable(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([key, value]) => value !== null && key !== 'bsn'));
}

function pushableUser(user: Record<string, unknown>): Record<string, unknown> {
  const { loginId: _loginId, ...rest } = user;
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== null));
}
