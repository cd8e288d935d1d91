import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createReconcileRun, markReconcileRunFailed } from '../../src/registry/reconcile-runs';
import { registryCounts, startApi, type ApiHarness, type ErrorJson } from './harness';

// The failing cases the fuzz tests (fuzz.test.ts) and Schemathesis found, kept as plain examples.

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
  expect((await api.call('POST', '/clients', { clientNumber: '1001', kind: 'company', name: 'Alfa B.V.' })).statusCode).toBe(201);
  expect((await api.call('POST', '/clients', { clientNumber: '2001', kind: 'person', name: 'P. Persoon' })).statusCode).toBe(201);
});
afterAll(async () => {
  await api?.close();
});

function refusal(response: { statusCode: number; json<T>(): T }, status: number): ErrorJson['error'] {
  expect(response.statusCode).toBe(status);
  return response.json<ErrorJson>().error;
}

describe('URLs refused before routing answer in the API error shape, without quoting the path', () => {
  test('a malformed percent-encoding is 400 (was Fastify\'s own body, naming the path)', async () => {
    const error = refusal(await api.call('DELETE', '/contacts/%'), 400);
    expect(error).toEqual({ code: 'invalid-request', message: 'the URL is not valid: a path segment has a malformed percent-encoding' });
  });

  test('a path parameter past the router\'s length limit is 414 (likewise)', async () => {
    const error = refusal(await api.call('PATCH', `/clients/${'%00'.repeat(120)}`, { city: 'Kampen' }), 414);
    expect(error).toEqual({ code: 'invalid-request', message: 'a path parameter is too long' });
  });
});

describe('text PostgreSQL cannot store as sent is refused, not a 500', () => {
  test.each([
    ['POST', '/clients', { clientNumber: '5001', kind: 'company', name: 'a\u0000b' }, 'body.name'],
    ['PATCH', '/clients/1001', { firstName: '\u0000' }, 'body.firstName'],
    ['PATCH', '/clients/1001', { city: 'Zwolle\uD800' }, 'body.city'],
    ['POST', '/clients/1001/contacts', { lastName: 'x\uDFFFy' }, 'body.lastName'],
    ['POST', '/offboardings', { kind: 'client-leaves', clientNumber: '1001', reason: 'gone\u0000' }, 'body.reason'],
  ])('%s %s %j: 400 at %s, nothing written', async (method, url, body, path) => {
    const before = await registryCounts(api.db);
    const error = refusal(await api.call(method as 'POST', url, body), 400);
    expect(error.issues).toEqual([{ path, message: 'text may not hold NUL characters or unpaired UTF-16 surrogates' }]);
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test('a surrogate pair (an emoji) is ordinary text', async () => {
    const response = await api.call('PATCH', '/clients/1001', { city: 'Zwolle 🚲' });
    expect(response.statusCode).toBe(200);
    expect(response.json<{ city: string }>().city).toBe('Zwolle 🚲');
  });
});

describe('reconcile run ids and limits say what they must be', () => {
  test.each(['abc', '%00', '1e3', ' 7', '0', '9'.repeat(16)])('GET /reconcile/runs/%s is 400 naming a whole number (was "received NaN")', async (id) => {
    const error = refusal(await api.call('GET', `/reconcile/runs/${encodeURIComponent(id)}`), 400);
    expect(error.message).toBe('invalid request: params.id: a reconcile run id is a positive whole number');
  });

  test.each(['x', '%00', '0', '501', '1.5'])('GET /reconcile/runs?limit=%s is 400 naming the range', async (limit) => {
    const error = refusal(await api.call('GET', `/reconcile/runs?limit=${limit}`), 400);
    expect(error.message).toBe('invalid request: query.limit: the limit is a whole number from 1 to 500');
  });

  test('a good limit and an unknown run still answer as before', async () => {
    expect((await api.call('GET', '/reconcile/runs?limit=5')).json()).toEqual([]);
    expect(refusal(await api.call('GET', '/reconcile/runs/42'), 404).code).toBe('not-found');
  });
});

test('a reconcile run whose workflow could not be started reads back as a failed run (its report failed the response schema: 500)', async () => {
  const run = await createReconcileRun(api.db, { workflowId: 'reconcile-never-started', dryRun: true });
  await markReconcileRunFailed(api.db, run.id, 'the workflow service (Temporal) could not be reached');
  const list = await api.call('GET', '/reconcile/runs');
  expect(list.statusCode, list.body).toBe(200);
  const one = await api.call('GET', `/reconcile/runs/${run.id}`);
  expect(one.statusCode, one.body).toBe(200);
  expect(one.json()).toMatchObject({
    id: run.id,
    status: 'failed',
    report: { runId: run.id, dryRun: true, status: 'failed', portals: [], failure: 'the workflow service (Temporal) could not be reached' },
  });
});
