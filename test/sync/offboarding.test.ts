import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { buildApi } from '../../src/api/server';
import { createApiToken } from '../../src/api/tokens';
import { createOffboarding, failUnstartedOffboarding, getOffboarding } from '../../src/registry/offboardings';
import type { offboardingWorkflow } from '../../workflows/offboarding';
import { approveOffboardingUpdate, offboardingClientsSearchAttribute, offboardingProgressQuery } from '../../workflows/offboarding-definitions';
import { assertLoginPrivacy, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Offboarding over real servers, on seed article 004's situation: persons P and Q, each a person
// client and a linked contact (following his person client) at companies A and B, every switch on
// for both portals. Each test builds its own copy under its own client numbers.

let stack: TestStack;
const personClients = new Map<string, number>();

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(async () => {
  assertLoginPrivacy(await stack.coState(), personClients);
});

interface Situation {
  P: string;
  Q: string;
  A: string;
  B: string;
  ids: Record<'P' | 'Q', number>;
  /** Contact ids: pA is P's contact at A, and so on. */
  pA: number;
  qA: number;
  pB: number;
  qB: number;
}

const both = { caseware: true, clientOnline: true };

async function situation(prefix: string): Promise<Situation> {
  const numbers = { P: `${prefix}P`, Q: `${prefix}Q`, A: `${prefix}A`, B: `${prefix}B` };
  const ids = {} as Record<'P' | 'Q', number>;
  for (const person of ['P', 'Q'] as const) {
    const response = await stack.api('POST', '/clients', {
      clientNumber: numbers[person],
      kind: 'person',
      name: `Person ${person}`,
      firstName: person,
      lastName: 'Tester',
      email: `${person.toLowerCase()}@${prefix}.home.test`.toLowerCase(),
      links: both,
    });
    expect(response.status).toBe(201);
    ids[person] = response.body.id;
    personClients.set(numbers[person], response.body.id);
  }
  for (const company of ['A', 'B'] as const) {
    const response = await stack.api('POST', '/clients', { clientNumber: numbers[company], kind: 'company', name: `Company ${company}`, links: both });
    expect(response.status).toBe(201);
  }
  const contact = async (company: 'A' | 'B', person: 'P' | 'Q') => {
    const response = await stack.api('POST', `/clients/${numbers[company]}/contacts`, {
      email: `${person}${company}@${prefix}.work.test`.toLowerCase(),
      links: both,
      master: { clientNumber: numbers[person] },
    });
    expect(response.status).toBe(201);
    return response.body.id as number;
  };
  const result = { ...numbers, ids, pA: await contact('A', 'P'), qA: await contact('A', 'Q'), pB: await contact('B', 'P'), qB: await contact('B', 'Q') };
  for (const n of Object.values(numbers)) await stack.settled(n);
  return result;
}

const coLogin = async (ref: string) => (await stack.coState()).logins.find((l) => l.ref === ref);
const cwUser = async (email: string) => (await stack.simState()).users.find((u) => u.Email === email);
async function cwHasAccess(email: string, clientNumber: string) {
  const state = await stack.simState();
  const user = state.users.find((u) => u.Email === email);
  const entity = state.entities.find((e) => e.EntityNo === clientNumber);
  return Boolean(user && entity && user.Type !== 'I' && state.roleAssignments.some((a) => a.userId === user.CWGuid && a.entityId === entity.CWGuid));
}
const mailCount = async () => (await stack.coState()).mails.length + (await stack.simState()).mails.length;

async function offboard(body: Record<string, unknown>) {
  const dryRun = await stack.api('POST', '/offboardings', body);
  expect(dryRun.status, JSON.stringify(dryRun.body)).toBe(200);
  const started = await stack.api('POST', '/offboardings', { ...body, execute: true });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  // The plan carried out is the plan shown in the dry run.
  expect(started.body.plan).toEqual(dryRun.body.plan);
  return started.body as { id: number; workflowId: string; status: string; plan: { steps: unknown[] } };
}

async function finished(id: number, status = 'completed') {
  return waitFor(
    `offboarding ${id} to be ${status}`,
    async () => {
      const response = await stack.api('GET', `/offboardings/${id}`);
      return response.body.status === status ? response.body : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

/** A request made with another token than the stack's built-in one. */
async function apiAs(token: string, method: string, route: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.services.apiUrl}${route}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** RECORD_HISTORIES=1 keeps the run's history (the newest run, or `runId`) for test/workflows/replay.test.ts. */
async function record(name: string, workflowId: string, runId?: string) {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await stack.temporal.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const dir = path.join(__dirname, '..', 'fixtures', 'histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `offboarding-${name}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
}

function expectEveryStepRecorded(offboarding: { steps: { status: string; startedAt: string | null; appliedAt: string | null; completedAt: string | null }[] }) {
  for (const step of offboarding.steps) {
    expect(step.status).toBe('done');
    expect(step.startedAt).not.toBeNull();
    expect(step.appliedAt).not.toBeNull();
    expect(step.completedAt).not.toBeNull();
  }
}

describe('each kind on the P/Q/A/B situation: the access that remains, and no mail', () => {
  test('revoke-contact-access: Q loses company B, keeps A and his own client', async () => {
    const s = await situation('r');
    const mails = await mailCount();
    const started = await offboard({ kind: 'revoke-contact-access', contactId: s.qB, reason: 'left the board of B' });
    expect(started.workflowId).toBe(`offboard-${started.id}`);
    const done = await finished(started.id);
    expectEveryStepRecorded(done);
    expect(done.reason).toBe('left the board of B');
    expect(done.requestedBy).toBe('api');

    expect((await coLogin(`p-${s.ids.Q}`))?.clients.sort()).toEqual([s.A, s.Q].sort());
    expect((await coLogin(`p-${s.ids.P}`))?.clients.sort()).toEqual([s.A, s.B, s.P].sort());
    expect(await cwHasAccess(`qb@r.work.test`, s.B)).toBe(false);
    expect(await cwHasAccess(`qa@r.work.test`, s.A)).toBe(true);
    expect(await mailCount()).toBe(mails);
  });

  test('person-leaves: Q leaves A and B and stops as a client; P keeps everything', async () => {
    const s = await situation('l');
    const mails = await mailCount();
    const started = await offboard({ kind: 'person-leaves', clientNumber: s.Q });
    expect(started.plan.steps).toHaveLength(5);
    const done = await finished(started.id);
    expectEveryStepRecorded(done);

    expect(await coLogin(`p-${s.ids.Q}`)).toBeUndefined();
    expect((await coLogin(`p-${s.ids.P}`))?.clients.sort()).toEqual([s.A, s.B, s.P].sort());
    expect(await cwHasAccess('qa@l.work.test', s.A)).toBe(false);
    expect(await cwHasAccess('qb@l.work.test', s.B)).toBe(false);
    expect(await cwHasAccess('pa@l.work.test', s.A)).toBe(true);
    expect((await stack.api('GET', `/clients/${s.Q}`)).body.status).toBe('former');
    expect((await stack.api('GET', `/contacts/${s.qA}/master`)).status).toBe(404);
    expect(await mailCount()).toBe(mails);
    await record('person-leaves', started.workflowId);
  });

  test('person-deceased: every access of P ends; nothing of Q changes', async () => {
    const s = await situation('d');
    const qBefore = await coLogin(`p-${s.ids.Q}`);
    const mails = await mailCount();
    const done = await finished((await offboard({ kind: 'person-deceased', clientNumber: s.P })).id);
    expectEveryStepRecorded(done);

    expect(await coLogin(`p-${s.ids.P}`)).toBeUndefined();
    expect(await coLogin(`p-${s.ids.Q}`)).toEqual(qBefore);
    expect((await cwUser('pa@d.work.test'))?.Type).toBe('I');
    expect((await cwUser('pb@d.work.test'))?.Type).toBe('I');
    expect(await cwHasAccess('qa@d.work.test', s.A)).toBe(true);
    expect(await cwHasAccess('qb@d.work.test', s.B)).toBe(true);
    expect(await mailCount()).toBe(mails);
  });

  test('client-leaves: A goes; P and Q keep their own clients and B', async () => {
    const s = await situation('c');
    const mails = await mailCount();
    const done = await finished((await offboard({ kind: 'client-leaves', clientNumber: s.A })).id);
    expectEveryStepRecorded(done);

    const co = await stack.coState();
    expect(co.clients.some((c) => c.clientNumber === s.A)).toBe(false);
    expect((await coLogin(`p-${s.ids.P}`))?.clients.sort()).toEqual([s.B, s.P].sort());
    expect((await coLogin(`p-${s.ids.Q}`))?.clients.sort()).toEqual([s.B, s.Q].sort());
    expect(await cwHasAccess('pa@c.work.test', s.A)).toBe(false);
    expect(await cwHasAccess('pb@c.work.test', s.B)).toBe(true);
    expect(await mailCount()).toBe(mails);
  });
});

test('master edits while an offboarding runs re-open no access and make no login', async () => {
  const s = await situation('m');
  const mails = await mailCount();
  const started = await offboard({ kind: 'person-leaves', clientNumber: s.Q });
  // The person's private data changes under way: propagation to his followers runs alongside.
  for (const lastName of ['Edit-1', 'Edit-2', 'Edit-3']) {
    expect((await stack.api('PATCH', `/clients/${s.Q}`, { lastName })).status).toBe(200);
  }
  const done = await finished(started.id);
  expectEveryStepRecorded(done);
  for (const n of [s.A, s.B, s.Q]) await stack.settled(n);
  expect(await coLogin(`p-${s.ids.Q}`)).toBeUndefined();
  expect(await cwHasAccess('qa@m.work.test', s.A)).toBe(false);
  expect(await cwHasAccess('qb@m.work.test', s.B)).toBe(false);
  expect(await mailCount()).toBe(mails);
});

test('the naive order (master link ended first, force=true) makes Client Online mail a second login; the workflow order does not', async () => {
  const s = await situation('n');
  const coMails = async () => (await stack.coState()).mails.length;
  const before = await coMails();
  const ended = await stack.api('DELETE', `/contacts/${s.qB}/master?force=true`);
  expect(ended.status).toBe(200);
  await stack.settled(s.B);
  expect(await coMails()).toBe(before + 1);
  expect((await stack.coState()).mails.at(-1)?.ref).toBe(`c-${s.qB}`);

  // The same end state through the workflow: no mail at all (the person-leaves test above, for A).
  const done = await finished((await offboard({ kind: 'revoke-contact-access', contactId: s.qA })).id);
  expectEveryStepRecorded(done);
  expect(await coMails()).toBe(before + 1);
});

test('revoke-contact-access for CaseWare only: the Client Online link stays on', async () => {
  expect((await stack.api('POST', '/clients', { clientNumber: 'p1', kind: 'company', name: 'Half', links: both })).status).toBe(201);
  const contact = (await stack.api('POST', '/clients/p1/contacts', { email: 'piet@p1.test', links: both })).body.id as number;
  await stack.settled('p1');
  const done = await finished((await offboard({ kind: 'revoke-contact-access', contactId: contact, portals: ['caseware'] })).id);
  expectEveryStepRecorded(done);
  expect((await stack.api('GET', `/contacts/${contact}`)).body.links).toEqual({ caseware: false, clientOnline: true });
});

describe('while an offboarding holds its records', () => {
  test('a large plan waits for approval and changes nothing until approved; others may not touch its records', async () => {
    const big = 'g1';
    expect((await stack.api('POST', '/clients', { clientNumber: big, kind: 'company', name: 'Big', links: both })).status).toBe(201);
    const contacts: number[] = [];
    for (let i = 0; i < 11; i += 1) {
      const response = await stack.api('POST', `/clients/${big}/contacts`, { email: `c${i}@big.test`, links: both });
      contacts.push(response.body.id);
    }
    await stack.settled(big);
    const events = async () => Number((await stack.database.db('outbox_events').where({ client_number: big }).count({ n: '*' }))[0]?.n);
    const eventsBefore = await events();

    const started = await offboard({ kind: 'client-leaves', clientNumber: big });
    expect(started.status).toBe('awaiting-approval');
    const waiting = await waitFor('the workflow to wait for approval', async () => {
      const description = await stack.temporal.client.workflow.getHandle(started.workflowId).describe();
      return description.searchAttributes.OffboardingStage?.[0] === 'awaiting-approval' ? description : undefined;
    });
    expect(waiting.status.name).toBe('RUNNING');
    // The Temporal UI finds it by the portals it ends access at, and by its client.
    expect(waiting.searchAttributes.OffboardingPortals).toEqual(['caseware', 'clientOnline']);
    expect(waiting.searchAttributes.OffboardingClients).toEqual([big]);

    // Nobody else may switch a planned contact's link or offboard it again; other fields stay editable.
    const refused = await stack.api('PUT', `/contacts/${contacts[0]}/links`, { caseware: false });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(`offboarding ${started.id}`);
    expect((await stack.api('PATCH', `/contacts/${contacts[0]}`, { phone: '030-1' })).status).toBe(200);
    const second = await stack.api('POST', '/offboardings', { kind: 'revoke-contact-access', contactId: contacts[1], execute: true });
    expect(second.status).toBe(409);

    // Nothing changed but that phone number: the links and status are as they were.
    expect(await events()).toBe(eventsBefore + 1);
    expect((await stack.api('GET', `/clients/${big}`)).body.status).toBe('client');

    // Four eyes: the built-in token asked, so it may not approve; a second, operator token does.
    const own = await stack.api('POST', `/offboardings/${started.id}/approve`);
    expect(own.status).toBe(403);
    expect(own.body.error.message).toContain('four eyes');
    const { secret } = await createApiToken(stack.database.db, { name: 'approver', role: 'operator' });
    const approved = await apiAs(secret, 'POST', `/offboardings/${started.id}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.approvedBy).toBe('approver');
    const done = await finished(started.id);
    expectEveryStepRecorded(done);
    expect(done.steps).toHaveLength(12);
    expect((await stack.api('POST', `/offboardings/${started.id}/approve`)).status).toBe(409);
    await record('approved', started.workflowId);
    // Finished: its records are free again.
    expect((await stack.api('PUT', `/contacts/${contacts[0]}/links`, { caseware: true })).status).toBe(200);
  });

  test('a follower tried for a deceased person while his offboarding waits for approval: no access of his remains anywhere', async () => {
    const s = await situation('h');
    // P follows at three more companies, so that his plan ends 11 accesses, more than the threshold (10): it waits.
    const companies = ['hC', 'hD', 'hE', 'hF'];
    for (const company of companies) {
      expect((await stack.api('POST', '/clients', { clientNumber: company, kind: 'company', name: `Company ${company}`, links: both })).status).toBe(201);
    }
    const followers = [s.pA, s.pB];
    for (const company of ['hC', 'hD', 'hE']) {
      const response = await stack.api('POST', `/clients/${company}/contacts`, { email: `p@${company}.work.test`.toLowerCase(), links: both, master: { clientNumber: s.P } });
      expect(response.status).toBe(201);
      followers.push(response.body.id);
    }
    // Company F has a contact of its own, who follows nobody.
    const atF = await stack.api('POST', '/clients/hF/contacts', { email: 'x@hf.work.test', links: both });
    expect(atF.status).toBe(201);
    for (const n of companies) await stack.settled(n);
    const mails = await mailCount();

    const started = await offboard({ kind: 'person-deceased', clientNumber: s.P });
    expect(started.status).toBe('awaiting-approval');
    // Meanwhile the registry is asked for a new follower of P at F, and to link F's contact to P.
    const added = await stack.api('POST', '/clients/hF/contacts', { email: 'late@hf.work.test', links: both, master: { clientNumber: s.P } });
    const linked = await stack.api('PUT', `/contacts/${atF.body.id}/master`, { clientNumber: s.P });

    const { secret } = await createApiToken(stack.database.db, { name: 'approver-h', role: 'operator' });
    expect((await apiAs(secret, 'POST', `/offboardings/${started.id}/approve`)).status).toBe(200);
    expectEveryStepRecorded(await finished(started.id));
    for (const n of [s.P, s.A, s.B, ...companies]) await stack.settled(n);

    // Nobody follows P any more, and no access of P remains at either portal.
    expect((await stack.api('GET', `/clients/${s.P}/followers`)).body.followers).toEqual([]);
    expect(await coLogin(`p-${s.ids.P}`)).toBeUndefined();
    const cw = await stack.simState();
    const hfEntity = cw.entities.find((e) => e.EntityNo === 'hF');
    for (const email of ['pa@h.work.test', 'pb@h.work.test', 'p@hc.work.test', 'p@hd.work.test', 'p@he.work.test', 'late@hf.work.test']) {
      const user = cw.users.find((u) => u.Email === email);
      expect(user === undefined || user.Type === 'I', email).toBe(true);
    }
    // F keeps its own contact, with a login of his own.
    expect(hfEntity).toBeDefined();
    expect(await cwHasAccess('x@hf.work.test', 'hF')).toBe(true);
    expect((await coLogin(`c-${atF.body.id}`))?.clients).toEqual(['hF']);
    // Both attempts were refused, naming the offboarding; nobody got a mail.
    expect(added.status).toBe(409);
    expect(added.body.error.message).toContain(`offboarding ${started.id}`);
    expect(linked.status).toBe(409);
    expect(await mailCount()).toBe(mails);
  });

  test('cancel stops before the next step; the steps done stay done', async () => {
    const big = 'g2';
    expect((await stack.api('POST', '/clients', { clientNumber: big, kind: 'company', name: 'Big', links: both })).status).toBe(201);
    for (let i = 0; i < 11; i += 1) await stack.api('POST', `/clients/${big}/contacts`, { email: `c${i}@big2.test`, links: both });
    await stack.settled(big);
    const started = await offboard({ kind: 'client-leaves', clientNumber: big });
    expect(started.status).toBe('awaiting-approval');
    const cancelled = await stack.api('POST', `/offboardings/${started.id}/cancel`);
    expect(cancelled.status).toBe(200);
    const done = await finished(started.id, 'cancelled');
    expect(done.cancelledBy).toBe('api');
    expect(done.steps.every((s: { status: string }) => s.status === 'not-run')).toBe(true);
    expect((await stack.api('GET', `/clients/${big}`)).body.status).toBe('client');
    await record('cancelled', started.workflowId);
  });
});

test('a step CaseWare refuses holds the offboarding, which says so; it completes once a later sync gets the change through', async () => {
  expect((await stack.api('POST', '/clients', { clientNumber: 'x1', kind: 'company', name: 'Refusing', links: both })).status).toBe(201);
  const contact = (await stack.api('POST', '/clients/x1/contacts', { email: 'ria@x1.test', links: both })).body.id as number;
  await stack.settled('x1');
  const script = (rules: unknown[]) =>
    fetch(`${stack.simulator.origin}/_sim/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
  // CaseWare refuses taking the share away.
  expect((await script([{ method: 'PATCH', path: 'role-assignments', status: 422 }])).status).toBe(204);
  const started = await offboard({ kind: 'revoke-contact-access', contactId: contact });
  const refused = await waitFor('the step to show the refusal', async () => {
    const response = await stack.api('GET', `/offboardings/${started.id}`);
    return response.body.steps[0].refusal ? response.body : undefined;
  });
  expect(refused.status).toBe('running');
  expect(refused.steps[0]).toMatchObject({ status: 'waiting-for-portals', completedAt: null });
  expect(refused.steps[0].refusal).toContain(`CaseWare Cloud refused it (caseware-invalid): contact ${contact} at client x1`);
  const handle = stack.temporal.client.workflow.getHandle(started.workflowId);
  await waitFor('the workflow to say the step was refused', async () => {
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    return metadata.currentDetails?.includes(`step 1 of 1: refused by CaseWare Cloud (caseware-invalid, contact ${contact})`);
  });
  expect(await cwHasAccess('ria@x1.test', 'x1')).toBe(true);
  expect((await stack.api('GET', `/offboardings/${started.id}`)).body.status).toBe('running');

  // CaseWare accepts again; an ordinary edit of the client makes a later sync, which gets it through.
  expect((await script([])).status).toBe(204);
  expect((await stack.api('PATCH', '/clients/x1', { phone: '030-2' })).status).toBe(200);
  const done = await finished(started.id);
  expectEveryStepRecorded(done);
  expect(done.steps[0].refusal).toBeNull();
  expect(await cwHasAccess('ria@x1.test', 'x1')).toBe(false);
  expect((await cwUser('ria@x1.test'))?.Type).toBe('I');
  await record('refused-step', started.workflowId);
});

describe('starting an offboarding whose answer is lost', () => {
  /** The stack's Temporal client, but its workflow.start() throws: after starting the workflow (the answer lost), or instead. */
  function lossy(answer: 'lost' | 'refused'): Client {
    const real = stack.temporal.client;
    const workflow = new Proxy(real.workflow, {
      get(target, property) {
        if (property === 'start') {
          return async (...args: Parameters<typeof target.start>) => {
            if (answer === 'lost') await target.start(...args);
            throw new Error('14 UNAVAILABLE: the connection dropped before the answer');
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    return new Proxy(real, { get: (target, property) => (property === 'workflow' ? workflow : Reflect.get(target, property)) });
  }

  async function startThrough(temporal: Client, body: Record<string, unknown>) {
    const api = await buildApi({ db: stack.database.db, apiToken: stack.apiToken, logger: false, offboarding: { temporal, taskQueue: stack.taskQueue, approvalThreshold: 10 } });
    try {
      const response = await api.inject({ method: 'POST', url: '/offboardings', headers: { authorization: `Bearer ${stack.apiToken}` }, payload: body });
      return { status: response.statusCode, body: response.json<{ id: number; status: string }>() };
    } finally {
      await api.close();
    }
  }

  async function companyWithContact(clientNumber: string): Promise<number> {
    expect((await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Company ${clientNumber}`, links: both })).status).toBe(201);
    const contact = (await stack.api('POST', `/clients/${clientNumber}/contacts`, { email: `c@${clientNumber}.test`, links: both })).body.id as number;
    await stack.settled(clientNumber);
    return contact;
  }

  test('start() threw although Temporal started the workflow: 202, and the offboarding completes', async () => {
    const contact = await companyWithContact('y1');
    const started = await startThrough(lossy('lost'), { kind: 'revoke-contact-access', contactId: contact, execute: true });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.status).toBe('running');
    expectEveryStepRecorded(await finished(started.body.id));
    expect(await cwHasAccess('c@y1.test', 'y1')).toBe(false);
  });

  test('start() threw and no workflow started: 503, and the record says failed, nothing changed', async () => {
    const contact = await companyWithContact('y2');
    const refused = await startThrough(lossy('refused'), { kind: 'revoke-contact-access', contactId: contact, execute: true });
    expect(refused.status).toBe(503);
    const [record] = (await stack.api('GET', '/offboardings?status=failed')).body.offboardings.filter((o: { request: { contactId?: number } }) => o.request.contactId === contact);
    expect(record).toMatchObject({ status: 'failed', failure: 'the workflow service (Temporal) could not be reached; nothing was changed' });
  });

  test('a workflow that starts after its offboarding was marked failed ends without changing anything', async () => {
    const contact = await companyWithContact('y3');
    const { db } = stack.database;
    const stored = await createOffboarding(db, { request: { kind: 'revoke-contact-access', contactId: contact }, requestedBy: 'api', approvalThreshold: 10 });
    expect(await failUnstartedOffboarding(db, stored.id, 'the workflow service (Temporal) could not be reached; nothing was changed')).toBe(true);
    const result = await stack.temporal.client.workflow.execute<typeof offboardingWorkflow>('offboardingWorkflow', {
      workflowId: stored.workflowId,
      taskQueue: stack.taskQueue,
      args: [{ offboardingId: stored.id, approvalRequired: false }],
    });
    expect(result.stage).toBe('failed');
    const after = await getOffboarding(db, stored.id);
    expect(after).toMatchObject({ status: 'failed', failure: 'the workflow service (Temporal) could not be reached; nothing was changed' });
    expect(after.steps.map((step) => step.status)).toEqual(['not-run']);
    expect((await stack.api('GET', `/contacts/${contact}`)).body.links).toEqual(both);
    expect(await cwHasAccess('c@y3.test', 'y3')).toBe(true);
    await record('finished-before-start', stored.workflowId);
  });
});

describe('a portal down for long: the workflow continues as new while it waits', () => {
  const clientOnlineFaults = (errorRate?: number) =>
    fetch(`${stack.clientOnline.origin}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(errorRate === undefined ? {} : { errorRate }) });
  afterEach(async () => {
    await clientOnlineFaults();
  });

  /** Client Online down, a person leaving (5 steps), the workflow started with a tiny round cap; until it has continued as new. */
  async function leavingWhileDown(prefix: string) {
    const s = await situation(prefix);
    const mails = await mailCount();
    expect((await clientOnlineFaults(1)).status).toBeLessThan(300);
    const { db } = stack.database;
    const stored = await createOffboarding(db, { request: { kind: 'person-leaves', clientNumber: s.Q }, requestedBy: 'api', approvalThreshold: 10 });
    const handle = await stack.temporal.client.workflow.start<typeof offboardingWorkflow>('offboardingWorkflow', {
      workflowId: stored.workflowId,
      taskQueue: stack.taskQueue,
      args: [{ offboardingId: stored.id, approvalRequired: false, portalWaitMs: 200, roundsPerRun: 2 }],
      typedSearchAttributes: new TypedSearchAttributes([{ key: offboardingClientsSearchAttribute, value: stored.plan.clientNumbers }]),
    });
    const latest = stack.temporal.client.workflow.getHandle(stored.workflowId);
    const continued = await waitFor('the workflow to continue as new twice', async () => {
      const description = await latest.describe();
      const runs = stack.temporal.client.workflow.list({ query: `WorkflowId = '${stored.workflowId}'` });
      let count = 0;
      for await (const _run of runs) count += 1;
      return count >= 3 ? description : undefined;
    });
    expect(continued.runId).not.toBe(handle.firstExecutionRunId);
    // The new run keeps what the Temporal UI finds it by.
    expect(continued.searchAttributes.OffboardingClients).toEqual(stored.plan.clientNumbers);
    return { s, mails, stored, handle, latest };
  }

  test('it completes the plan correctly when the portal is back, each step once, no mail', async () => {
    const { s, mails, stored, handle, latest } = await leavingWhileDown('w');
    // Still on the first step: its change was made once, and the portal has not applied it yet.
    expect((await stack.api('GET', `/offboardings/${stored.id}`)).body.steps.map((step: { status: string }) => step.status)).toEqual([
      'waiting-for-portals', 'pending', 'pending', 'pending', 'pending',
    ]);
    expect(await latest.query(offboardingProgressQuery)).toMatchObject({ stage: 'running', step: 1 });
    // An approve is refused in the new run as in the first: it is not awaiting approval.
    await expect(latest.executeUpdate(approveOffboardingUpdate, { args: [{ approvedBy: 'bob' }] })).rejects.toMatchObject({
      cause: { message: expect.stringContaining('is not awaiting approval (it is running)') },
    });

    expect((await clientOnlineFaults()).status).toBeLessThan(300);
    const done = await finished(stored.id);
    expectEveryStepRecorded(done);
    expect(await latest.result()).toMatchObject({ stage: 'completed', step: 5, steps: 5 });
    for (const n of [s.A, s.B, s.Q]) await stack.settled(n);
    expect(await coLogin(`p-${s.ids.Q}`)).toBeUndefined();
    expect((await coLogin(`p-${s.ids.P}`))?.clients.sort()).toEqual([s.A, s.B, s.P].sort());
    expect(await cwHasAccess('qa@w.work.test', s.A)).toBe(false);
    for (const id of [s.qA, s.qB]) {
      const events = await stack.database.db('outbox_events').where({ record_type: 'contact', record_id: id, kind: 'contact.links-changed' });
      expect(events).toHaveLength(1);
    }
    expect(await mailCount()).toBe(mails);
    await record('continued-as-new', stored.workflowId, handle.firstExecutionRunId);
  });

  test('a cancel reaches the run it meets: the offboarding stops before its next step', async () => {
    const { stored, latest } = await leavingWhileDown('v');
    const cancelled = await stack.api('POST', `/offboardings/${stored.id}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    const done = await finished(stored.id, 'cancelled');
    expect(done.cancelledBy).toBe('api');
    expect(done.steps.map((step: { status: string }) => step.status)).toEqual(['waiting-for-portals', 'not-run', 'not-run', 'not-run', 'not-run']);
    expect(await latest.result()).toMatchObject({ stage: 'cancelled', step: 1 });
  });
});

test('a worker stopped mid-plan: a new worker finishes the same plan, each step once, no mail', async () => {
  const s = await situation('k');
  const mails = await mailCount();
  // Client Online stops answering: the first step's change waits for it.
  await fetch(`${stack.clientOnline.origin}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
  const started = await offboard({ kind: 'person-leaves', clientNumber: s.Q });
  await waitFor('step 1 to wait for the portals', async () => {
    const response = await stack.api('GET', `/offboardings/${started.id}`);
    return response.body.steps[0].status === 'waiting-for-portals';
  });
  // The Temporal Web UI shows what it waits for (the workflow's current details).
  const handle = stack.temporal.client.workflow.getHandle(started.workflowId);
  await waitFor('the workflow to say it waits for Client Online', async () => {
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    return metadata.currentDetails?.includes('step 1 of 5: waiting for Client Online to apply the change');
  });

  // The worker goes; the API and the outbox dispatcher stay (they are other processes in production).
  stack.services.worker.shutdown();
  await waitFor('the worker to stop', async () => stack.services.worker.getState() === 'STOPPED');
  const replacement = await stack.replacementWorker();
  await replacement.runUntil(async () => {
    await fetch(`${stack.clientOnline.origin}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await finished(started.id);
  });
  const steps = await stack.database.db('offboarding_steps').where({ offboarding_id: started.id }).orderBy('step');
  expect(steps.map((step: { status: string }) => step.status)).toEqual(['done', 'done', 'done', 'done', 'done']);
  // Each contact's link was switched off once: one links-changed event per contact.
  for (const id of [s.qA, s.qB]) {
    const events = await stack.database.db('outbox_events').where({ record_type: 'contact', record_id: id, kind: 'contact.links-changed' });
    expect(events).toHaveLength(1);
  }
  expect(await mailCount()).toBe(mails);
});
