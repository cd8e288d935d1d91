import { afterAll, beforeAll, expect, test } from 'vitest';
const maxCompaniesPerOffboarding = 100;
import { registryCounts, startApi, type ApiHarness } from './harness';

// The lists a request body may carry are bounded in their schemas (issue 22, item 11): a list of
// thousands is refused with a 400 that names the limit, before anything is looked up or written.

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
  const both = { caseware: true, clientOnline: true };
  expect((await api.call('POST', '/clients', { clientNumber: '2001', kind: 'person', name: 'P', email: 'p@home.test', links: both })).statusCode).toBe(201);
  expect((await api.call('POST', '/clients', { clientNumber: '1001', kind: 'company', name: 'A', links: both })).statusCode).toBe(201);
  expect((await api.call('POST', '/clients/1001/contacts', { email: 'p@a.test', links: both, master: { clientNumber: '2001' } })).statusCode).toBe(201);
});
afterAll(async () => {
  await api?.close();
});

const written = async () => ({
  ...(await registryCounts(api.db)),
  offboardings: Number((await api.db('offboardings').count({ n: '*' }))[0]?.n),
  fileRequests: Number((await api.db('file_requests').count({ n: '*' }))[0]?.n),
});
const companies = (n: number) => Array.from({ length: n }, (_, i) => String(100000 + i));
type ErrorJson = { error: { code: string; message: string; issues: { path: string; message: string }[] } };

test.each([maxCompaniesPerOffboarding + 1, 20_000])('person-leaves with %i companies is refused with 400 naming the limit; nothing is written', async (n) => {
  const before = await written();
  for (const execute of [false, true]) {
    const response = await api.call('POST', '/offboardings', { kind: 'person-leaves', clientNumber: '2001', companies: companies(n), execute });
    expect(response.statusCode).toBe(400);
    const { error } = response.json<ErrorJson>();
    expect(error.code).toBe('invalid-request');
    expect(error.issues).toEqual([{ path: 'body.companies', message: `companies names at most ${maxCompaniesPerOffboarding} client numbers` }]);
    expect(error.message).toContain(`at most ${maxCompaniesPerOffboarding}`);
  }
  expect(await written()).toEqual(before);
});

test('the limit itself passes the schema: the companies are looked up (and refused there, for clients that do not exist)', async () => {
  const response = await api.call('POST', '/offboardings', { kind: 'person-leaves', clientNumber: '2001', companies: companies(maxCompaniesPerOffboarding) });
  expect(response.statusCode).toBe(404);
  expect(response.json<ErrorJson>().error.message).toContain('client 100000');
  const planned = await api.call('POST', '/offboardings', { kind: 'person-leaves', clientNumber: '2001', companies: ['1001'] });
  expect(planned.statusCode).toBe(200);
});

test('the other lists of a request body: portals (two at most) and a file request\'s contactIds (100 at most)', async () => {
  const before = await written();
  const portals = await api.call('POST', '/offboardings', { kind: 'revoke-contact-access', contactId: 1, portals: Array.from({ length: 1000 }, () => 'caseware') });
  expect(portals.statusCode).toBe(400);
  expect(portals.json<ErrorJson>().error.issues).toEqual([{ path: 'body.portals', message: 'portals names at most the 2 portals, caseware and clientOnline' }]);
  const contactIds = await api.call('POST', '/file-requests', { clientNumber: '1001', subject: 'Jaarstukken', contactIds: Array.from({ length: 20_000 }, (_, i) => i + 1) });
  expect(contactIds.statusCode).toBe(400);
  expect(contactIds.json<ErrorJson>().error.issues.map((i) => i.path)).toEqual(['body.contactIds']);
  expect(await written()).toEqual(before);
});

test('the OpenAPI document states the limits, so generated clients and the fuzzers know them', async () => {
  const openapi = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const text = JSON.stringify(openapi.components.schemas.OffboardingRequest);
  expect(text).toContain(`"maxItems":${maxCompaniesPerOffboarding}`);
  expect(text).toContain('"maxItems":2');
});
