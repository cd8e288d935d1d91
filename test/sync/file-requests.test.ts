import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { CaseWareClient } from '../../src/portals/caseware/client';
import type { FileRequestSimState } from '../../src/simulators/caseware/simulator';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// File requests over real servers (issue 13; seed article 003). The stack shares every linked
// contact under "Contact - Entity Access", which may only view: a recipient must be given
// "Contact - Entity Staff" (grantAnswerRole), and once given, it is a default recipient.

let stack: TestStack;
/** Operator tokens with names of their own, besides the built-in one (`api`) that `stack.api` sends. */
const secrets: Record<'olga' | 'piet', string> = { olga: '', piet: '' };

// Short timings: a look at the portal every 300 ms; one reminder 3 s before the due date, then
// every 1.5 s after it, at most two; none without a due date. (Reminders that come due together,
// on a machine too busy to wake in time, are sent as one: the gaps leave room for that.)
const timings = { pollIntervalMs: 300, remindBeforeDueMs: [3_000], remindAfterDueEveryMs: 1_500, maxRemindersAfterDue: 2, remindWithoutDueEveryMs: 0 };

beforeAll(async () => {
  stack = await startTestStack({ fileRequestTimings: timings });
  for (const name of ['olga', 'piet'] as const) secrets[name] = (await createApiToken(stack.database.db, { name, role: 'operator' })).secret;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

interface Company {
  clientNumber: string;
  /** Linked contacts a and b; c is not linked to CaseWare Cloud. */
  a: number;
  b: number;
  c: number;
  email: (who: 'a' | 'b' | 'c') => string;
}

async function company(clientNumber: string): Promise<Company> {
  const created = await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Company ${clientNumber}`, links: { caseware: true } });
  expect(created.status).toBe(201);
  const email = (who: 'a' | 'b' | 'c') => `${who}@${clientNumber}.work.test`;
  const contact = async (who: 'a' | 'b' | 'c', linked: boolean) => {
    const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, { email: email(who), firstName: who, lastName: 'Tester', links: { caseware: linked } });
    expect(response.status).toBe(201);
    return response.body.id as number;
  };
  const result = { clientNumber, a: await contact('a', true), b: await contact('b', true), c: await contact('c', false), email };
  await stack.settled(clientNumber);
  return result;
}

async function as(name: keyof typeof secrets, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.services.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secrets[name]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function fileRequestSim(): Promise<FileRequestSimState> {
  return (await (await fetch(`${stack.simulator.origin}/_sim/file-requests`)).json()) as FileRequestSimState;
}
const setScript = (rules: object[]) =>
  fetch(`${stack.simulator.origin}/_sim/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
const cwUserGuid = async (email: string) => (await stack.simState()).users.find((u) => u.Email === email)?.CWGuid;
const cwRoles = async (entityNo: string, email: string) => {
  const state = await stack.simState();
  const entity = state.entities.find((e) => e.EntityNo === entityNo);
  const user = state.users.find((u) => u.Email === email);
  return state.roleAssignments
    .filter((r) => r.entityId === entity?.CWGuid && r.userId === user?.CWGuid)
    .map((r) => state.roles.find((role) => role.CWGuid === r.roleId)?.Name)
    .sort();
};

async function fileRequest(id: number) {
  const response = await stack.api('GET', `/file-requests/${id}`);
  expect(response.status).toBe(200);
  return response.body;
}

async function untilStatus(id: number, status: string, timeoutMs = 20_000) {
  await waitFor(`file request ${id} to be ${status}`, async () => (await fileRequest(id)).status === status, { timeoutMs });
  return fileRequest(id);
}

/** The request as CaseWare Cloud holds it, once it is there. */
async function remote(id: number) {
  await waitFor(`file request ${id} in CaseWare Cloud`, async () => (await fileRequest(id)).remoteId !== null);
  const { remoteId } = await fileRequest(id);
  const found = (await fileRequestSim()).fileRequests.find((r) => r.CWGuid === remoteId);
  if (!found) throw new Error(`CaseWare Cloud has no request ${remoteId}`);
  return found;
}

async function answer(id: number, email: string, files = ['jaarrekening.pdf', 'loonstroken.zip']) {
  const { remoteId } = await fileRequest(id);
  const response = await fetch(`${stack.simulator.origin}/_sim/file-requests/${remoteId}/answer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: await cwUserGuid(email), files }),
  });
  expect(response.status).toBe(200);
}

async function stage(workflowId: string): Promise<unknown> {
  const description = await stack.temporal.client.workflow.getHandle(workflowId).describe();
  return description.typedSearchAttributes.getAll().find((pair) => pair.key.name === 'FileRequestStage')?.value;
}

/**
 * The workflow sets its stage once the activity that recorded the status has returned: a moment
 * after the registry shows it. Waits for `expected`, and fails with the stage last seen.
 */
async function expectStage(workflowId: string, expected: string): Promise<void> {
  let last: unknown;
  await waitFor(`stage ${expected}`, async () => (last = await stage(workflowId)) === expected, { timeoutMs: 10_000 }).catch(() => undefined);
  expect(last).toBe(expected);
}

/** RECORD_HISTORIES=1 keeps the run's history for test/workflows/replay.test.ts. */
async function record(name: string, workflowId: string) {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await stack.temporal.client.workflow.getHandle(workflowId).fetchHistory();
  const dir = path.join(__dirname, '..', 'fixtures', 'histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `file-request-${name}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1_000).toISOString();

test('a request reaches the contacts who may answer; one that may only view, or is not linked, is refused by name; answering completes it', async () => {
  const s = await company('fr1');
  const base = { clientNumber: s.clientNumber, subject: 'Jaarstukken 2026', description: 'Graag de jaarstukken en loonstroken uploaden.' };
  const count = async () => Number((await stack.database.db('file_requests').count({ n: '*' }))[0]?.n);
  const before = await count();

  // Nobody may answer yet: every linked contact only has "Contact - Entity Access".
  const none = await stack.api('POST', '/file-requests', base);
  expect(none.status).toBe(422);
  expect(none.body.error.message).toContain('no contact who may answer');
  const viewOnly = await stack.api('POST', '/file-requests', { ...base, contactIds: [s.a] });
  expect(viewOnly.status).toBe(422);
  expect(viewOnly.body.error.message).toContain(`contact ${s.a} at client fr1 has the role "Contact - Entity Access"`);
  expect(viewOnly.body.error.message).toContain('"grantAnswerRole": true');
  // A contact without a CaseWare link is refused even with the flag: it has no login to give a role.
  const unlinked = await stack.api('POST', '/file-requests', { ...base, contactIds: [s.c], grantAnswerRole: true });
  expect(unlinked.status).toBe(422);
  expect(unlinked.body.error.message).toContain(`contact ${s.c} at client fr1 is not linked to CaseWare Cloud`);
  expect(await count()).toBe(before);

  const started = await stack.api('POST', '/file-requests', { ...base, contactIds: [s.a, s.b], grantAnswerRole: true });
  expect(started.status).toBe(202);
  const { id, workflowId } = started.body;
  expect(workflowId).toBe(`file-request-${id}`);
  const held = await remote(id);
  expect(held.Recipients.sort()).toEqual([await cwUserGuid(s.email('a')), await cwUserGuid(s.email('b'))].sort());
  expect(held.Subject).toBe(base.subject);
  expect(held.ExternalRef).toBe(workflowId);
  expect(await cwRoles('fr1', s.email('a'))).toEqual(['Contact - Entity Access', 'Contact - Entity Staff']);
  const mails = (await fileRequestSim()).mails.filter((m) => m.request === held.CWGuid);
  expect(mails.map((m) => m.to).sort()).toEqual([s.email('a'), s.email('b')]);
  await waitFor('the stage waiting', async () => (await stage(workflowId)) === 'waiting');

  // Once given the role, a and b are the default recipients; c still is not.
  const defaults = await stack.api('POST', '/file-requests', { ...base, subject: 'BTW Q4' });
  expect(defaults.status).toBe(202);
  expect(defaults.body.recipients.map((r: { contactId: number }) => r.contactId).sort()).toEqual([s.a, s.b].sort());

  await answer(id, s.email('b'));
  const answered = await untilStatus(id, 'answered');
  expect(answered.filesReceived).toBe(2);
  expect(answered.answeredByContactId).toBe(s.b);
  expect(answered.closedAt).not.toBeNull();
  await stack.temporal.client.workflow.getHandle(workflowId).result();
  await expectStage(workflowId, 'answered');
  // The history carries ids and counts: neither the subject, the description nor an email.
  const history = historyToJSON(await stack.temporal.client.workflow.getHandle(workflowId).fetchHistory());
  const payloads = [...history.matchAll(/"data":\s*"([^"]*)"/g)].map((m) => Buffer.from(m[1] ?? '', 'base64').toString('utf8')).join('\n');
  expect(payloads).toContain(`"fileRequestId":${id}`);
  for (const secret of [base.subject, base.description, s.email('a'), s.email('b')]) expect(history + payloads).not.toContain(secret);
  await record('answered', workflowId);

  const listed = await stack.api('GET', '/file-requests?clientNumber=fr1&status=answered');
  expect(listed.status).toBe(200);
  expect(listed.body.fileRequests.map((r: { id: number }) => r.id)).toEqual([id]);
  const open = await stack.api('GET', '/file-requests?clientNumber=fr1&status=open');
  expect(open.body.fileRequests.map((r: { id: number }) => r.id)).toEqual([defaults.body.id]);
}, 60_000);

test('bad input is refused with a clear 4xx and writes nothing', async () => {
  const count = async () => Number((await stack.database.db('file_requests').count({ n: '*' }))[0]?.n);
  const before = await count();
  const missing = await stack.api('POST', '/file-requests', { clientNumber: 'fr1' });
  expect(missing.status).toBe(400);
  expect(missing.body.error.issues.map((i: { path: string }) => i.path)).toContain('body.subject');
  const unknownField = await stack.api('POST', '/file-requests', { clientNumber: 'fr1', subject: 'x', recipients: ['a'] });
  expect(unknownField.status).toBe(400);
  const badDate = await stack.api('POST', '/file-requests', { clientNumber: 'fr1', subject: 'x', dueDate: '31-12-2026' });
  expect(badDate.status).toBe(400);
  const past = await stack.api('POST', '/file-requests', { clientNumber: 'fr1', subject: 'x', dueDate: '2020-01-01' });
  expect(past.status).toBe(422);
  expect(past.body.error.message).toContain('dueDate lies in the past');
  const noClient = await stack.api('POST', '/file-requests', { clientNumber: 'nope', subject: 'x' });
  expect(noClient.status).toBe(404);
  const otherContact = await stack.api('POST', '/file-requests', { clientNumber: 'fr1', subject: 'x', contactIds: [987654] });
  expect(otherContact.status).toBe(404);
  expect(otherContact.body.error.message).toContain('has no contact 987654');
  expect(await count()).toBe(before);
  expect((await stack.api('GET', '/file-requests?status=bogus')).status).toBe(400);
  expect((await stack.api('GET', '/file-requests/123456')).status).toBe(404);
});

test('reminders fire before and after the due date; staff cancel it, in CaseWare Cloud too', async () => {
  const s = await company('fr2');
  const started = await stack.api('POST', '/file-requests', {
    clientNumber: s.clientNumber,
    subject: 'Bankafschriften',
    dueDate: inSeconds(5),
    contactIds: [s.a],
    grantAnswerRole: true,
  });
  expect(started.status).toBe(202);
  const { id, workflowId } = started.body;
  const held = await remote(id);
  // One before the due date, then two after it: three reminders, then none.
  await untilStatus(id, 'overdue');
  await waitFor('three reminders', async () => (await fileRequest(id)).remindersSent === 3, { timeoutMs: 15_000 });
  await waitFor('the stage overdue', async () => (await stage(workflowId)) === 'overdue');
  const reminderMails = async () => (await fileRequestSim()).mails.filter((m) => m.request === held.CWGuid && m.kind === 'file-request-reminder');
  expect((await reminderMails()).map((m) => m.to)).toEqual([s.email('a'), s.email('a'), s.email('a')]);
  // The first came before the due date, the others after it.
  const dueAt = Date.parse(started.body.dueAt);
  expect((await reminderMails()).map((m) => Date.parse(m.at) < dueAt)).toEqual([true, false, false]);
  expect((await stack.api('GET', '/file-requests?clientNumber=fr2&status=overdue')).body.fileRequests).toHaveLength(1);

  const cancel = await stack.api('POST', `/file-requests/${id}/cancel`);
  expect(cancel.status).toBe(202);
  const cancelled = await untilStatus(id, 'cancelled');
  expect(cancelled.cancelledBy).toBe('api');
  expect((await remote(id)).Status).toBe('Cancelled');
  await expectStage(workflowId, 'cancelled');
  expect((await stack.api('POST', `/file-requests/${id}/cancel`)).status).toBe(409);
  expect(await reminderMails()).toHaveLength(3);
  await record('reminded-cancelled', workflowId);
}, 60_000);

test('a reminder whose answer is lost is not mailed again by the retry: one mail per reminder (issue 18)', async () => {
  const s = await company('fr8');
  const reminderCalls = async () => ((await (await fetch(`${stack.simulator.origin}/_sim/calls`)).json()) as Record<string, number>)['POST /file-requests/:guid/reminders'] ?? 0;
  const callsBefore = await reminderCalls();
  // CaseWare mails the first reminder, then drops the connection: the activity never learns it did.
  expect((await setScript([{ method: 'POST', path: '^/file-requests/[^/]+/reminders$', times: 1, loseAnswer: true }])).status).toBe(204);
  try {
    const started = await stack.api('POST', '/file-requests', { clientNumber: s.clientNumber, subject: 'Grootboek', dueDate: inSeconds(5), contactIds: [s.a], grantAnswerRole: true });
    expect(started.status).toBe(202);
    const { id } = started.body;
    const held = await remote(id);
    await waitFor('three reminders', async () => (await fileRequest(id)).remindersSent === 3, { timeoutMs: 20_000 });
    // Three reminders: three mails, three reminders in CaseWare, and three calls (the lost one was not repeated).
    const reminderMails = (await fileRequestSim()).mails.filter((m) => m.request === held.CWGuid && m.kind === 'file-request-reminder');
    expect(reminderMails.map((m) => m.to)).toEqual([s.email('a'), s.email('a'), s.email('a')]);
    expect((await remote(id)).Reminders).toBe(3);
    expect((await reminderCalls()) - callsBefore).toBe(3);
    expect((await stack.api('POST', `/file-requests/${id}/cancel`)).status).toBe(202);
    await untilStatus(id, 'cancelled');
  } finally {
    await setScript([]);
  }
}, 60_000);

test('the answering role given for a request is taken back when it closes, unless an open request still needs it (issue 18)', async () => {
  const s = await company('fr9');
  const ask = async (subject: string) => {
    const started = await stack.api('POST', '/file-requests', { clientNumber: s.clientNumber, subject, contactIds: [s.a], grantAnswerRole: true });
    expect(started.status).toBe(202);
    await remote(started.body.id);
    return started.body as { id: number; workflowId: string };
  };
  const ended = (request: { workflowId: string }) => stack.temporal.client.workflow.getHandle(request.workflowId).result();
  const grants = async () => (await stack.database.db('caseware_answer_grants').where({ contact_id: s.a })).length;
  const staff = ['Contact - Entity Access', 'Contact - Entity Staff'];

  // One request: the role comes with it, and goes when it is cancelled.
  const one = await ask('Balans');
  expect(await cwRoles('fr9', s.email('a'))).toEqual(staff);
  expect((await stack.api('POST', `/file-requests/${one.id}/cancel`)).status).toBe(202);
  await ended(one);
  expect(await cwRoles('fr9', s.email('a'))).toEqual(['Contact - Entity Access']);
  expect(await grants()).toBe(0);

  // Two requests: the one answered first leaves the role to the other; the role goes with the last.
  const [first, second] = [await ask('Winst'), await ask('Verlies')];
  expect(await cwRoles('fr9', s.email('a'))).toEqual(staff);
  await answer(first.id, s.email('a'), ['winst.pdf']);
  await ended(first);
  expect((await fileRequest(first.id)).status).toBe('answered');
  expect(await cwRoles('fr9', s.email('a'))).toEqual(staff);
  expect(await grants()).toBe(1);
  expect((await stack.api('POST', `/file-requests/${second.id}/cancel`)).status).toBe(202);
  await ended(second);
  expect(await cwRoles('fr9', s.email('a'))).toEqual(['Contact - Entity Access']);
  expect(await grants()).toBe(0);
}, 60_000);

test('a recipient offboarded, then one whose CaseWare link is switched off, leave the request; the last one going flags it', async () => {
  const s = await company('fr3');
  const started = await stack.api('POST', '/file-requests', { clientNumber: s.clientNumber, subject: 'Huurcontract', contactIds: [s.a, s.b], grantAnswerRole: true });
  expect(started.status).toBe(202);
  const { id, workflowId } = started.body;
  await remote(id);

  const offboarding = await stack.api('POST', '/offboardings', { kind: 'revoke-contact-access', contactId: s.a, portals: ['caseware'], execute: true });
  expect(offboarding.status).toBe(202);
  await waitFor('a to leave the request', async () => (await fileRequest(id)).recipients.find((r: { contactId: number }) => r.contactId === s.a)?.status === 'removed');
  const afterOffboarding = await fileRequest(id);
  expect(afterOffboarding.status).toBe('open');
  expect(afterOffboarding.recipients.find((r: { contactId: number }) => r.contactId === s.a).removedReason).toContain('no longer linked');
  expect((await remote(id)).Recipients).toEqual([await cwUserGuid(s.email('b'))]);
  // The answering role given for the request is taken back with the access.
  expect(await cwRoles('fr3', s.email('a'))).not.toContain('Contact - Entity Staff');

  const links = await stack.api('PUT', `/contacts/${s.b}/links`, { caseware: false });
  expect(links.status).toBe(200);
  const flagged = await untilStatus(id, 'no-recipients');
  expect(flagged.failure).toContain('every recipient lost access');
  expect(flagged.recipients.every((r: { status: string }) => r.status === 'removed')).toBe(true);
  expect((await remote(id)).Status).toBe('Cancelled');
  await expectStage(workflowId, 'no-recipients');
  const listed = await stack.api('GET', '/file-requests?status=no-recipients');
  expect(listed.body.fileRequests.map((r: { id: number }) => r.id)).toContain(id);
  await record('no-recipients', workflowId);
}, 60_000);

test('creating again with the same reference (a retry after a lost answer) finds the first request', async () => {
  const s = await company('fr5');
  const caseware = new CaseWareClient({ baseUrl: stack.simulator.baseUrl, clientId: stack.simulator.clientId, clientSecret: stack.simulator.clientSecret, requestTimeoutMs: 2_000 });
  const entity = (await stack.simState()).entities.find((e) => e.EntityNo === s.clientNumber);
  const user = (await cwUserGuid(s.email('a'))) as string;
  const staff = await caseware.findRoleByName('Contact - Entity Staff');
  await caseware.shareEntity(entity?.CWGuid as string, [user], staff?.CWGuid as string);
  const body = { EntityId: entity?.CWGuid as string, Subject: 'x', Description: '', Recipients: [user], ExternalRef: 'retry-test-1' };
  const first = await caseware.createFileRequest(body);
  const second = await caseware.createFileRequest(body);
  expect(second.CWGuid).toBe(first.CWGuid);
  expect((await fileRequestSim()).fileRequests.filter((r) => r.ExternalRef === 'retry-test-1')).toHaveLength(1);
  // A contact without the answering role cannot be a recipient in CaseWare Cloud either.
  const viewer = (await cwUserGuid(s.email('b'))) as string;
  await expect(caseware.createFileRequest({ ...body, Recipients: [viewer], ExternalRef: 'retry-test-2' })).rejects.toMatchObject({ code: 'invalid', retryable: false });
});

test('the record names the token that asked for a request and the one that cancelled it', async () => {
  const s = await company('fr6');
  const started = await as('olga', 'POST', '/file-requests', { clientNumber: s.clientNumber, subject: 'Jaaropgave', contactIds: [s.a], grantAnswerRole: true });
  expect(started.status).toBe(202);
  expect(started.body.requestedBy).toBe('olga');
  const { id } = started.body;
  await remote(id);
  expect((await as('piet', 'POST', `/file-requests/${id}/cancel`)).status).toBe(202);
  const cancelled = await untilStatus(id, 'cancelled');
  expect(cancelled).toMatchObject({ requestedBy: 'olga', cancelledBy: 'piet' });
  expect((await remote(id)).Status).toBe('Cancelled');
  const listed = await stack.api('GET', '/file-requests?clientNumber=fr6');
  expect(listed.body.fileRequests).toEqual([expect.objectContaining({ id, requestedBy: 'olga', cancelledBy: 'piet' })]);
}, 60_000);

test('a worker stopped in the middle: a new worker sends the reminders that came due meanwhile and completes the request, created once', async () => {
  const s = await company('fr4');
  const started = await stack.api('POST', '/file-requests', { clientNumber: s.clientNumber, subject: 'Kasboek', dueDate: inSeconds(2), contactIds: [s.a], grantAnswerRole: true });
  expect(started.status).toBe(202);
  const { id, workflowId } = started.body;
  const held = await remote(id);

  stack.services.worker.shutdown();
  await waitFor('the worker to stop', async () => stack.services.worker.getState() === 'STOPPED');
  // The due date passes with no worker at all.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect((await fileRequest(id)).status).toBe('open');

  const replacement = await stack.replacementWorker();
  await replacement.runUntil(async () => {
    await untilStatus(id, 'overdue');
    await waitFor('a reminder after the restart', async () => (await fileRequest(id)).remindersSent >= 1);
    await answer(id, s.email('a'), ['kasboek.xlsx']);
    await untilStatus(id, 'answered');
    await stack.temporal.client.workflow.getHandle(workflowId).result();
  });
  // One request in CaseWare Cloud for it, whatever the restart did.
  expect((await fileRequestSim()).fileRequests.filter((r) => r.ExternalRef === workflowId).map((r) => r.CWGuid)).toEqual([held.CWGuid]);
}, 60_000);

test('a cancel that arrives before the request is created in CaseWare Cloud: nothing is created there and nobody is mailed', async () => {
  // The worker is stopped (by the test above, or here), so that the workflow's first task meets
  // the cancel: the request is started and cancelled while no worker runs, then a worker starts.
  if (stack.services.worker.getState() !== 'STOPPED') {
    stack.services.worker.shutdown();
    await waitFor('the worker to stop', async () => stack.services.worker.getState() === 'STOPPED');
  }
  const s = await (await stack.replacementWorker()).runUntil(() => company('fr7'));
  const mailsTo = async (email: string) => (await fileRequestSim()).mails.filter((m) => m.to === email);
  expect(await mailsTo(s.email('a'))).toEqual([]);

  const started = await as('olga', 'POST', '/file-requests', { clientNumber: s.clientNumber, subject: 'Aangifte', contactIds: [s.a], grantAnswerRole: true });
  expect(started.status).toBe(202);
  const { id, workflowId } = started.body;
  expect((await as('piet', 'POST', `/file-requests/${id}/cancel`)).status).toBe(202);
  expect((await fileRequest(id)).status).toBe('open');

  const replacement = await stack.replacementWorker();
  await replacement.runUntil(async () => {
    await untilStatus(id, 'cancelled');
    await stack.temporal.client.workflow.getHandle(workflowId).result();
  });
  expect(await fileRequest(id)).toMatchObject({ status: 'cancelled', requestedBy: 'olga', cancelledBy: 'piet', remoteId: null });
  await expectStage(workflowId, 'cancelled');
  // Nothing reached CaseWare Cloud: no request, no mail, no answering role shared for it.
  expect((await fileRequestSim()).fileRequests.filter((r) => r.ExternalRef === workflowId)).toEqual([]);
  expect(await mailsTo(s.email('a'))).toEqual([]);
  expect(await cwRoles('fr7', s.email('a'))).toEqual(['Contact - Entity Access']);
  const history = await stack.temporal.client.workflow.getHandle(workflowId).fetchHistory();
  const activities = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter((name) => name !== undefined);
  expect(activities).toEqual(['cancelFileRequestInPortal']);
  await record('cancelled-before-create', workflowId);
}, 60_000);
