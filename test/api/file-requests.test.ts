import { afterAll, beforeAll, expect, test } from 'vitest';
import { startApi, type ApiHarness } from './harness';

// The file-request routes without Temporal (the flows with it: test/sync/file-requests.test.ts).

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
  expect((await api.call('POST', '/clients', { clientNumber: '7001', kind: 'company', name: 'Company 7001', links: { caseware: true } })).statusCode).toBe(201);
});
afterAll(async () => {
  await api?.close();
});

const count = async () => Number((await api.db('file_requests').count({ n: '*' }))[0]?.n);

test('a bad body is refused with the fields named, before anything else; nothing is written', async () => {
  const missing = await api.call('POST', '/file-requests', { clientNumber: '7001', subject: '   ' });
  expect(missing.statusCode).toBe(400);
  expect(missing.json().error.issues.map((i: { path: string }) => i.path)).toEqual(['body.subject']);
  const badContacts = await api.call('POST', '/file-requests', { clientNumber: '7001', subject: 'x', contactIds: [] });
  expect(badContacts.statusCode).toBe(400);
  expect(badContacts.json().error.issues.map((i: { path: string }) => i.path)).toEqual(['body.contactIds']);
  const badFlag = await api.call('POST', '/file-requests', { clientNumber: '7001', subject: 'x', grantAnswerRole: 'yes' });
  expect(badFlag.statusCode).toBe(400);
  expect(await count()).toBe(0);
});

test('without a Temporal connection a request is refused with 503 and nothing is written', async () => {
  const response = await api.call('POST', '/file-requests', { clientNumber: '7001', subject: 'Jaarstukken' });
  expect(response.statusCode).toBe(503);
  expect(response.json().error.code).toBe('unavailable');
  expect(await count()).toBe(0);
});

test('lists, one request, filters and the token', async () => {
  expect((await api.call('GET', '/file-requests')).json()).toEqual({ fileRequests: [] });
  expect((await api.call('GET', '/file-requests?status=no-recipients&clientNumber=7001')).statusCode).toBe(200);
  expect((await api.call('GET', '/file-requests?status=done')).statusCode).toBe(400);
  expect((await api.call('GET', '/file-requests?colour=red')).statusCode).toBe(400);
  const missing = await api.call('GET', '/file-requests/42');
  expect(missing.statusCode).toBe(404);
  expect(missing.json().error.message).toBe('no file request 42');
  expect((await api.call('POST', '/file-requests/42/cancel')).statusCode).toBe(404);
  const anonymous = await api.app.inject({ method: 'GET', url: '/file-requests' });
  expect(anonymous.statusCode).toBe(401);
  const openapi = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/file-requests', '/file-requests/{id}', '/file-requests/{id}/cancel']));
});
