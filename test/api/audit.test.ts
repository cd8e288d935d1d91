import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { startTestStack, type TestStack } from '../support/stack';

// Issue 18, items 3 and 4: every change a token makes lands in the audit, over the whole stack
// (real PostgreSQL, Temporal with a worker, both portal simulators, the API over HTTP): registry
// writes, an offboarding, a hold, the reconcile and its schedule, a token made, and a refusal. With
// the token's name, the route, the record ids and the field names; never a value.

let stack: TestStack;
const secrets = { crm: '', olga: '', adam: '', vera: '' };

// Values sent in bodies; none of them may reach the audit table.
const company = { clientNumber: '1001', kind: 'company', name: 'Bakkerij De Korenschoof B.V.', email: 'info@korenschoof.test', city: 'Amersfoort', links: { caseware: true } };
const anna = { firstName: 'Anna', lastName: 'Bergsma', email: 'anna@korenschoof.test', bsn: '111222333', links: { caseware: true, clientOnline: true } };
const values = [company.name, 'Korenschoof', company.email, company.city, anna.firstName, anna.lastName, anna.email, anna.bsn, '0612345678', '@', 'left the firm in May', 'portal maintenance window'];

let clientId: number;
let contactId: number;
let offboardingId: number;
let runId: number;
let midway: Date;

async function call(secret: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${stack.services.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/** GET /audit as the operator; every page, or the one asked for. */
async function audit(query = ''): Promise<any[]> {
  const answer = await call(secrets.olga, 'GET', `/audit${query}`);
  expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  return answer.json.events;
}

const sorted = (names: string[]) => [...names].sort();

beforeAll(async () => {
  stack = await startTestStack();
  for (const [name, role] of [['crm', 'registry'], ['olga', 'operator'], ['adam', 'admin'], ['vera', 'viewer']] as const) {
    secrets[name] = (await createApiToken(stack.database.db, { name, role })).secret;
  }

  const client = await call(secrets.crm, 'POST', '/clients', company);
  expect(client.status).toBe(201);
  clientId = client.json.id;
  const contact = await call(secrets.crm, 'POST', '/clients/1001/contacts', anna);
  expect(contact.status).toBe(201);
  contactId = contact.json.id;
  expect((await call(secrets.crm, 'PATCH', `/contacts/${contactId}`, { email: 'anna.bergsma@korenschoof.test', mobile: '0612345678' })).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 20));
  midway = new Date();
  await new Promise((resolve) => setTimeout(resolve, 20));

  const hold = await call(secrets.olga, 'PUT', '/sync/portals/caseware/hold', { note: 'portal maintenance window' });
  expect(hold.status).toBe(200);
  expect((await call(secrets.olga, 'DELETE', '/sync/portals/caseware/hold')).status).toBe(200);
  const offboarding = await call(secrets.olga, 'POST', '/offboardings', { kind: 'revoke-contact-access', contactId, execute: true, reason: 'left the firm in May' });
  expect(offboarding.status, JSON.stringify(offboarding.json)).toBe(202);
  offboardingId = offboarding.json.id;
  const run = await call(secrets.olga, 'POST', '/reconcile', { dryRun: true });
  expect(run.status).toBe(202);
  runId = run.json.id;
  expect((await call(secrets.adam, 'POST', '/tokens', { name: 'bram', role: 'viewer' })).status).toBe(201);
  // Refused for want of the role: recorded too.
  expect((await call(secrets.vera, 'POST', '/offboardings', { kind: 'client-leaves', clientNumber: '1001', execute: true })).status).toBe(403);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('the audit records every change a token made', () => {
  test('registry writes: the token, the route, the record ids and the field names sent', async () => {
    const events = (await audit('?token=crm')).reverse();
    expect(events.map((event) => `${event.method} ${event.route} ${event.status}`)).toEqual([
      'POST /clients 201',
      'POST /clients/:number/contacts 201',
      'PATCH /contacts/:id 200',
    ]);
    const [created, added, changed] = events;
    expect(created).toMatchObject({ token: 'crm', recordIds: { clientNumber: '1001', id: String(clientId) }, requestId: expect.any(String) });
    expect(sorted(created.fields)).toEqual(['city', 'clientNumber', 'email', 'kind', 'links.caseware', 'name']);
    expect(added.recordIds).toEqual({ clientNumber: '1001', id: String(contactId) });
    expect(sorted(added.fields)).toEqual(['bsn', 'email', 'firstName', 'lastName', 'links.caseware', 'links.clientOnline']);
    expect(changed.recordIds).toEqual({ id: String(contactId) });
    expect(sorted(changed.fields)).toEqual(['email', 'mobile']);
  });

  test('an offboarding, a hold and its release, the reconcile, a token made, and a refusal', async () => {
    const events = await audit('?limit=500');
    const find = (token: string, method: string, route: string) => events.find((event) => event.token === token && event.method === method && event.route === route);
    expect(find('olga', 'POST', '/offboardings')).toMatchObject({ status: 202, recordIds: { contactId: String(contactId), id: String(offboardingId) } });
    expect(sorted(find('olga', 'POST', '/offboardings').fields)).toEqual(['contactId', 'execute', 'kind', 'reason']);
    expect(find('olga', 'PUT', '/sync/portals/:portal/hold')).toMatchObject({ status: 200, recordIds: { portal: 'caseware' }, fields: ['note'] });
    expect(find('olga', 'DELETE', '/sync/portals/:portal/hold')).toMatchObject({ status: 200, recordIds: { portal: 'caseware' }, fields: [] });
    expect(find('olga', 'POST', '/reconcile')).toMatchObject({ status: 202, recordIds: { id: String(runId) }, fields: ['dryRun'] });
    expect(find('adam', 'POST', '/tokens')).toMatchObject({ status: 201, recordIds: { token: 'bram' } });
    expect(sorted(find('adam', 'POST', '/tokens').fields)).toEqual(['name', 'role']);
    // The refusal: who tried what; its body was never read.
    expect(find('vera', 'POST', '/offboardings')).toMatchObject({ status: 403, recordIds: {}, fields: [] });
    // Reads are not recorded.
    expect(events.filter((event) => event.method === 'GET')).toEqual([]);
  });

  test('not a single value: no name, address, email, BSN, reason or note anywhere in the table', async () => {
    const table = JSON.stringify(await stack.database.db('audit_events').select('*'));
    expect(table.length).toBeGreaterThan(500);
    for (const value of values) expect(table, value).not.toContain(value);
  });

  test('the reconcile run and the schedule say which token asked', async () => {
    expect((await call(secrets.vera, 'GET', `/reconcile/runs/${runId}`)).json).toMatchObject({ id: runId, trigger: 'api', requestedBy: 'olga' });
    const paused = await call(secrets.olga, 'PUT', '/reconcile/schedule', { paused: true, note: 'portal maintenance window' });
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({ paused: true, lastChangedBy: { token: 'olga', at: expect.any(String) } });
    expect((await call(secrets.vera, 'GET', '/reconcile/schedule')).json).toMatchObject({ paused: true, lastChangedBy: { token: 'olga' } });
    expect((await call(stack.apiToken, 'PUT', '/reconcile/schedule', { paused: false })).json).toMatchObject({ paused: false, lastChangedBy: { token: 'api' } });
    const changes = await audit('?route=/reconcile/schedule');
    expect(changes.map((event) => [event.token, event.method, event.fields])).toEqual([
      ['api', 'PUT', ['paused']],
      ['olga', 'PUT', ['paused', 'note']],
    ]);
  });
});

describe('GET /audit', () => {
  test('filters: token, route and those under it, method, client number, record id, since and until', async () => {
    const routes = (events: any[]) => events.map((event) => `${event.method} ${event.route}`);
    expect(routes(await audit('?route=/clients'))).toEqual(['POST /clients/:number/contacts', 'POST /clients']);
    expect(routes(await audit('?route=/contacts/:id'))).toEqual(['PATCH /contacts/:id']);
    expect(routes(await audit('?token=olga&method=DELETE'))).toEqual(['DELETE /sync/portals/:portal/hold']);
    expect(routes(await audit('?clientNumber=1001'))).toEqual(['POST /clients/:number/contacts', 'POST /clients']);
    // Ids of different kinds of record may be equal (client, contact and run 1): the route says which.
    expect(routes(await audit(`?recordId=${contactId}`))).toEqual(expect.arrayContaining(['POST /offboardings', 'PATCH /contacts/:id', 'POST /clients/:number/contacts']));
    expect(routes(await audit(`?recordId=${contactId}&route=/contacts`))).toEqual(['PATCH /contacts/:id']);
    expect(routes(await audit(`?recordId=${offboardingId}&route=/offboardings`))).toEqual(['POST /offboardings']);
    expect(routes(await audit('?recordId=bram'))).toEqual(['POST /tokens']);
    expect((await audit(`?until=${midway.toISOString()}`)).every((event) => event.token === 'crm')).toBe(true);
    expect((await audit(`?since=${encodeURIComponent(midway.toISOString())}&token=crm`))).toEqual([]);
    expect(await audit('?token=nobody')).toEqual([]);
  });

  test('pages: limit, and `next` as `before` for the page after, without overlap', async () => {
    const all = await audit('?limit=500');
    const first = await call(secrets.olga, 'GET', '/audit?limit=3');
    expect(first.json.events).toHaveLength(3);
    expect(first.json.next).toBe(first.json.events[2].id);
    const second = await call(secrets.olga, 'GET', `/audit?limit=500&before=${first.json.next}`);
    expect(second.json.next).toBeNull();
    expect([...first.json.events, ...second.json.events].map((event: { id: number }) => event.id)).toEqual(all.map((event) => event.id));
  });

  test("the operator's and the admin's: a viewer and the registry get 403", async () => {
    expect((await call(secrets.adam, 'GET', '/audit')).status).toBe(200);
    expect((await call(stack.apiToken, 'GET', '/audit')).status).toBe(200);
    for (const secret of [secrets.vera, secrets.crm]) {
      const refused = await call(secret, 'GET', '/audit');
      expect(refused.status).toBe(403);
      expect(refused.json.error.message).toMatch(/^GET \/audit needs the operator or admin role; token "(vera|crm)"/);
    }
  });

  test('bad filters answer 400', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'since=yesterday', 'before=0', 'method=GET', 'route=clients', 'token=Has%20Space', 'colour=blue', `since=${new Date().toISOString()}&until=${midway.toISOString()}`]) {
      const refused = await call(secrets.olga, 'GET', `/audit?${query}`);
      expect(refused.status, query).toBe(400);
      expect(refused.json.error.code).toBe('invalid-request');
    }
  });
});
