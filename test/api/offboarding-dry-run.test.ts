import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { createOffboarding } from '../../src/registry/offboardings';
import { authorization, startApi, type ApiHarness } from './harness';

// Issue 21, item 5: a dry run says whether the plan, carried out now by the token that asks, would
// wait for a second operator's approval, and why (its own accesses ended, or with the token's recent
// offboardings that needed none), and names the offboardings under way that hold its records. The
// API alone: a dry run never calls Temporal, so its client here is a lazy one that never connects.

const threshold = 5;
const day = 24 * 3_600_000;
const both = { caseware: true, clientOnline: true };

let api: ApiHarness;
let withoutTemporal: ApiHarness;
const temporal = new Client();
let annaSecret = '';

/** A company with `contacts` contacts linked to both portals: leaving ends 2 accesses per contact. */
async function company(harness: ApiHarness, clientNumber: string, contacts: number): Promise<number[]> {
  expect((await harness.call('POST', '/clients', { clientNumber, kind: 'company', name: `Company ${clientNumber}`, links: both })).statusCode).toBe(201);
  const ids: number[] = [];
  for (let i = 0; i < contacts; i += 1) {
    const response = await harness.call('POST', `/clients/${clientNumber}/contacts`, { email: `c${i}@${clientNumber}.test`, links: both });
    expect(response.statusCode).toBe(201);
    ids.push(response.json<{ id: number }>().id);
  }
  return ids;
}

async function dryRun(body: Record<string, unknown>, secret?: string): Promise<any> {
  const response = await api.app.inject({
    method: 'POST',
    url: '/offboardings',
    headers: { authorization: secret === undefined ? authorization : `Bearer ${secret}` },
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

beforeAll(async () => {
  api = await startApi({ offboarding: { temporal, taskQueue: 'never-used', approvalThreshold: threshold, approvalWindowMs: day } });
  withoutTemporal = await startApi();
  annaSecret = (await createApiToken(api.db, { name: 'anna', role: 'operator' })).secret;
}, 60_000);
afterAll(async () => {
  await api?.close();
  await withoutTemporal?.close();
  await temporal.connection.close();
});

describe('a dry run says whether carrying it out would wait for approval', () => {
  test('a plan that ends more accesses than the threshold: it would, and says why', async () => {
    await company(api, '3001', 4);
    const answer = await dryRun({ kind: 'client-leaves', clientNumber: '3001' });
    expect(answer.plan.removes.accessEnded).toEqual({ caseware: 4, clientOnline: 4 });
    expect(answer).toMatchObject({
      dryRun: true,
      approvalRequired: true,
      approvalReason: 'it ends 8 accesses (CaseWare Cloud 4, Client Online 4), more than the approval threshold (5)',
      approvalBudget: { threshold: 5, accessesEnded: 8, windowHours: 24, earlierAccessesEnded: 0, earlierOffboardings: [] },
      alreadyUnderWay: [],
    });
    expect(Number((await api.db('offboardings').count({ n: '*' }))[0]?.n)).toBe(0);
  });

  test('a plan within the threshold: it would not', async () => {
    await company(api, '3002', 2);
    const answer = await dryRun({ kind: 'client-leaves', clientNumber: '3002' });
    expect(answer).toMatchObject({
      approvalRequired: false,
      approvalReason: null,
      approvalBudget: { threshold: 5, accessesEnded: 4, earlierAccessesEnded: 0, earlierOffboardings: [] },
    });
  });

  test("with the same token's recent offboardings that needed no approval: it would, naming them; another token's budget is its own", async () => {
    await company(api, '3003', 2);
    await company(api, '3004', 1);
    const earlier = await createOffboarding(api.db, {
      request: { kind: 'client-leaves', clientNumber: '3003' },
      requestedBy: 'anna',
      approvalThreshold: threshold,
      approvalWindowMs: day,
    });
    expect(earlier).toMatchObject({ status: 'running', approvalRequired: false });

    const anna = await dryRun({ kind: 'client-leaves', clientNumber: '3004' }, annaSecret);
    expect(anna).toMatchObject({
      approvalRequired: true,
      approvalReason:
        `it ends 2 accesses (CaseWare Cloud 1, Client Online 1); with the 4 ended by offboarding ${earlier.id}, which token "anna" asked for ` +
        'without approval in the last 24 hours, that is 6, more than the approval threshold (5)',
      approvalBudget: { accessesEnded: 2, earlierAccessesEnded: 4, earlierOffboardings: [earlier.id] },
    });
    // The built-in token ("api") asks the same: nothing of its own counts.
    expect(await dryRun({ kind: 'client-leaves', clientNumber: '3004' })).toMatchObject({ approvalRequired: false, approvalBudget: { earlierAccessesEnded: 0 } });
  });

  test('an API without Temporal plans without an approval outlook: it cannot carry anything out', async () => {
    await company(withoutTemporal, '3005', 1);
    const response = await withoutTemporal.call('POST', '/offboardings', { kind: 'client-leaves', clientNumber: '3005' });
    expect(response.statusCode).toBe(200);
    const answer = response.json<Record<string, unknown>>();
    expect(Object.keys(answer).sort()).toEqual(['alreadyUnderWay', 'dryRun', 'plan']);
  });
});

describe('a dry run names the offboardings already under way for its records', () => {
  test('one waiting for approval and one running, each for the record asked about', async () => {
    const contacts = await company(api, '3006', 2);
    const waiting = await createOffboarding(api.db, { request: { kind: 'client-leaves', clientNumber: '3006' }, requestedBy: 'olga', approvalThreshold: 0 });
    expect(waiting.status).toBe('awaiting-approval');
    expect((await dryRun({ kind: 'client-leaves', clientNumber: '3006' })).alreadyUnderWay).toEqual([{ id: waiting.id, status: 'awaiting-approval' }]);
    // A contact of that client is held too.
    expect((await dryRun({ kind: 'revoke-contact-access', contactId: contacts[0] })).alreadyUnderWay).toEqual([{ id: waiting.id, status: 'awaiting-approval' }]);

    // Client 3003's offboarding (anna's, above) runs.
    const running = (await api.db('offboardings').where({ requested_by: 'anna' }).first<{ id: number }>('id')).id;
    expect((await dryRun({ kind: 'client-leaves', clientNumber: '3003' })).alreadyUnderWay).toEqual([{ id: running, status: 'running' }]);
    // Carrying it out is refused while they are under way, as the dry run said.
    const refused = await api.call('POST', '/offboardings', { kind: 'client-leaves', clientNumber: '3006', execute: true });
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ error: { message: string } }>().error.message).toContain(`offboarding ${waiting.id}`);

    expect((await dryRun({ kind: 'client-leaves', clientNumber: '3002' })).alreadyUnderWay).toEqual([]);
  });
});

test('the OpenAPI document describes the dry run answer', async () => {
  const document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const dryRunAnswer = document.paths['/offboardings'].post.responses['200'].content['application/json'].schema;
  expect(Object.keys(dryRunAnswer.properties).sort()).toEqual(['alreadyUnderWay', 'approvalBudget', 'approvalReason', 'approvalRequired', 'dryRun', 'plan']);
  expect(dryRunAnswer.required.sort()).toEqual(['alreadyUnderWay', 'dryRun', 'plan']);
  expect(Object.keys(dryRunAnswer.properties.approvalBudget.properties).sort()).toEqual([
    'accessesEnded',
    'earlierAccessesEnded',
    'earlierOffboardings',
    'threshold',
    'windowHours',
  ]);
  expect(dryRunAnswer.properties.alreadyUnderWay.items.properties.status.enum).toEqual(['awaiting-approval', 'running']);
});
