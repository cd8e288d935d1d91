import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registryCounts, startApi, type ApiHarness } from './harness';

// The offboarding routes without Temporal: dry runs, refusals, and that nothing is written.

let api: ApiHarness;
let contactAtA: number;
const offboardingCount = async () => Number((await api.db('offboardings').count({ n: '*' }))[0]?.n);

beforeAll(async () => {
  api = await startApi();
  const both = { caseware: true, clientOnline: true };
  expect((await api.call('POST', '/clients', { clientNumber: '2001', kind: 'person', name: 'P', email: 'p@home.test', links: both })).statusCode).toBe(201);
  expect((await api.call('POST', '/clients', { clientNumber: '1001', kind: 'company', name: 'A', links: both })).statusCode).toBe(201);
  expect((await api.call('POST', '/clients', { clientNumber: '1002', kind: 'company', name: 'B', links: both })).statusCode).toBe(201);
  const contact = await api.call('POST', '/clients/1001/contacts', { email: 'p@a.test', links: both, master: { clientNumber: '2001' } });
  expect(contact.statusCode).toBe(201);
  contactAtA = contact.json<{ id: number }>().id;
});
afterAll(async () => {
  await api?.close();
});

describe('POST /offboardings', () => {
  test('a dry run answers the ordered plan and changes nothing', async () => {
    const before = await registryCounts(api.db);
    const response = await api.call('POST', '/offboardings', { kind: 'person-leaves', clientNumber: '2001', reason: 'moved abroad' });
    expect(response.statusCode).toBe(200);
    const { plan } = response.json<{ plan: { steps: { action: string; summary: string }[]; removes: unknown } }>();
    expect(plan.steps.map((s) => s.action)).toEqual(['contact-links-off', 'client-former', 'end-master-link']);
    expect(plan.steps[0]?.summary).toBe(`switch the CaseWare Cloud and Client Online link of contact ${contactAtA} at client 1001 off`);
    expect(plan.removes).toEqual({ contactAccess: 1, logins: 1, accessEnded: { caseware: 1, clientOnline: 2 } });
    expect(await registryCounts(api.db)).toEqual(before);
    expect(await offboardingCount()).toBe(0);
  });

  test.each([
    [{ kind: 'revoke-contact-access', contactId: 99999 }, 404, 'contact 99999'],
    [{ kind: 'person-deceased', clientNumber: '9999' }, 404, 'client 9999'],
    [{ kind: 'person-leaves', clientNumber: '1001' }, 422, 'client 1001 is a company'],
    [{ kind: 'client-leaves', clientNumber: '2001' }, 422, 'client 2001 is a person client'],
    [{ kind: 'person-leaves', clientNumber: '2001', companies: ['1002'] }, 422, 'no contact at client 1002'],
  ])('%j is refused with %i', async (body, status, message) => {
    const before = await registryCounts(api.db);
    const response = await api.call('POST', '/offboardings', { ...body, execute: true });
    expect(response.statusCode).toBe(status);
    expect(response.json<{ error: { message: string } }>().error.message).toContain(message);
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test.each([
    [{ kind: 'retire', clientNumber: '2001' }],
    [{ kind: 'revoke-contact-access' }],
    [{ kind: 'revoke-contact-access', contactId: 1, portals: ['sharepoint'] }],
    [{ kind: 'person-leaves', clientNumber: '2001', companies: [] }],
    [{ kind: 'client-leaves', clientNumber: '1001', execute: 'yes' }],
    [{ kind: 'client-leaves', clientNumber: '1001', extra: 1 }],
  ])('a malformed body %j gets 400 naming the field', async (body) => {
    const response = await api.call('POST', '/offboardings', body);
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('invalid-request');
  });

  test('an API without Temporal can plan but not carry out, and says so', async () => {
    const response = await api.call('POST', '/offboardings', { kind: 'client-leaves', clientNumber: '1002', execute: true });
    expect(response.statusCode).toBe(503);
    expect(await offboardingCount()).toBe(0);
  });
});

test('GET /offboardings/:id of an unknown offboarding is 404; a bad id 400', async () => {
  expect((await api.call('GET', '/offboardings/4242')).statusCode).toBe(404);
  expect((await api.call('GET', '/offboardings/abc')).statusCode).toBe(400);
  expect((await api.call('GET', '/offboardings')).json()).toEqual({ offboardings: [] });
});
