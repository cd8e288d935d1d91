import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { recordPortalFailure, recordPortalHealthy } from '../../src/sync/health';
import { reportSyncErrors, type SyncErrorInput } from '../../src/sync/ledger';
import { startApi, type ApiHarness, type SyncErrorsJson } from './harness';

// The system administrator's error list over a real database: errors are written by the ledger
// functions the sync activities use, and read through the API.

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

async function list(query = ''): Promise<SyncErrorsJson> {
  const response = await api.call('GET', `/sync/errors${query}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<SyncErrorsJson>();
}

const missingEmail = (contactId: number, clientNumber: string): SyncErrorInput => ({
  recordType: 'contact',
  recordId: contactId,
  code: 'missing-email',
  message: `contact ${contactId} at client ${clientNumber} has no email address. Give the contact an email address of its own.`,
});

const noClientUser = (clientId: number, clientNumber: string): SyncErrorInput => ({
  recordType: 'client',
  recordId: clientId,
  code: 'no-client-user',
  message: `client ${clientNumber} has no client user in Client Online; switch on the Client Online link of one of its contacts.`,
});

/** Moves a client's errors an hour into the past, as if the sync had met them then. */
async function ageBy1Hour(clientNumber: string) {
  await api.db('sync_errors').where({ client_number: clientNumber }).update({
    first_seen_at: api.db.raw("first_seen_at - interval '1 hour'"),
    last_seen_at: api.db.raw("last_seen_at - interval '1 hour'"),
  });
}

describe('filters', () => {
  beforeAll(async () => {
    await reportSyncErrors(api.db, 'caseware', '6301', [missingEmail(11, '6301'), missingEmail(12, '6301')]);
    await reportSyncErrors(api.db, 'client_online', '6301', [missingEmail(11, '6301'), noClientUser(10, '6301')]);
    await reportSyncErrors(api.db, 'caseware', '6302', [missingEmail(21, '6302')]);
  });

  test('by portal, in the API spelling', async () => {
    const clientOnline = await list('?clientNumber=6301&portal=clientOnline');
    expect(clientOnline.total).toBe(2);
    expect(clientOnline.errors.map((error) => [error.portal, error.code]).sort()).toEqual([
      ['clientOnline', 'missing-email'],
      ['clientOnline', 'no-client-user'],
    ]);
    const caseware = await list('?clientNumber=6301&portal=caseware');
    expect(caseware.errors.map((error) => [error.portal, error.recordId]).sort()).toEqual([
      ['caseware', 11],
      ['caseware', 12],
    ]);
  });

  test('by code, across clients and portals', async () => {
    const { errors, total } = await list('?code=missing-email');
    expect(total).toBe(4);
    expect(errors.map((error) => `${error.portal}:${error.clientNumber}:${error.recordId}`).sort()).toEqual([
      'caseware:6301:11',
      'caseware:6301:12',
      'caseware:6302:21',
      'clientOnline:6301:11',
    ]);
    expect((await list('?code=no-client-user')).errors.map((error) => error.recordId)).toEqual([10]);
    expect(await list('?code=email-in-use')).toEqual({ errors: [], total: 0, portals: [] });
  });

  test('by client, and every filter at once', async () => {
    expect((await list('?clientNumber=6302')).errors.map((error) => error.recordId)).toEqual([21]);
    const narrow = await list('?clientNumber=6301&portal=caseware&code=missing-email&includeResolved=true&limit=1');
    expect(narrow.total).toBe(2);
    expect(narrow.errors).toHaveLength(1);
    expect(narrow.errors[0]).toMatchObject({ clientNumber: '6301', portal: 'caseware', code: 'missing-email' });
  });

  test('each error names its record, client, portal, code, message and when; the newest lastSeenAt first', async () => {
    await ageBy1Hour('6302');
    const { errors } = await list('?code=missing-email');
    expect(errors.at(-1)).toEqual({
      id: expect.any(Number),
      portal: 'caseware',
      recordType: 'contact',
      recordId: 21,
      clientNumber: '6302',
      code: 'missing-email',
      message: 'contact 21 at client 6302 has no email address. Give the contact an email address of its own.',
      firstSeenAt: expect.any(String),
      lastSeenAt: expect.any(String),
      attempts: 1,
      resolvedAt: null,
    });
    const seen = errors.map((error) => Date.parse(error.lastSeenAt));
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
  });
});

describe('a recurring error', () => {
  test('counts an attempt per sync that meets it; firstSeenAt stays while lastSeenAt moves', async () => {
    await reportSyncErrors(api.db, 'caseware', '6401', [missingEmail(41, '6401')]);
    await ageBy1Hour('6401');
    const [first] = (await list('?clientNumber=6401')).errors;
    expect(first).toMatchObject({ attempts: 1 });

    await reportSyncErrors(api.db, 'caseware', '6401', [missingEmail(41, '6401')]);
    await reportSyncErrors(api.db, 'caseware', '6401', [missingEmail(41, '6401')]);
    const { errors } = await list('?clientNumber=6401');
    expect(errors).toHaveLength(1);
    const [again] = errors;
    expect(again).toMatchObject({ id: first!.id, attempts: 3, firstSeenAt: first!.firstSeenAt, resolvedAt: null });
    expect(Date.parse(again!.lastSeenAt) - Date.parse(first!.lastSeenAt)).toBeGreaterThan(30 * 60_000);
  });

  test('resolves itself when a sync no longer meets it: hidden by default, listed with includeResolved', async () => {
    await reportSyncErrors(api.db, 'client_online', '6402', [missingEmail(51, '6402'), noClientUser(50, '6402')]);
    await reportSyncErrors(api.db, 'client_online', '6402', [missingEmail(51, '6402'), noClientUser(50, '6402')]);
    // The contact got an email; the client still has no user who can log in.
    await reportSyncErrors(api.db, 'client_online', '6402', [noClientUser(50, '6402')]);

    const open = await list('?clientNumber=6402');
    expect(open.errors.map((error) => [error.code, error.attempts, error.resolvedAt])).toEqual([['no-client-user', 3, null]]);
    expect(open.total).toBe(1);

    const history = await list('?clientNumber=6402&includeResolved=true');
    expect(history.total).toBe(2);
    const resolved = history.errors.find((error) => error.code === 'missing-email');
    expect(resolved).toMatchObject({ recordId: 51, attempts: 2, resolvedAt: expect.any(String) });
    expect(Date.parse(resolved!.resolvedAt!)).toBeGreaterThanOrEqual(Date.parse(resolved!.lastSeenAt));
    expect((await list('?clientNumber=6402&includeResolved=false')).total).toBe(1);
  });
});

describe('limit', () => {
  beforeAll(async () => {
    const many = Array.from({ length: 105 }, (_, index) => missingEmail(1000 + index, '6501'));
    await reportSyncErrors(api.db, 'caseware', '6501', many);
    // One more recent than the rest, so the order is known.
    await reportSyncErrors(api.db, 'client_online', '6501', [noClientUser(999, '6501')]);
  });

  test('lists 100 by default and says how many match', async () => {
    const { errors, total } = await list('?clientNumber=6501');
    expect(total).toBe(106);
    expect(errors).toHaveLength(100);
    expect(errors[0]).toMatchObject({ portal: 'clientOnline', code: 'no-client-user' });
  });

  test('takes up to 1000', async () => {
    expect((await list('?clientNumber=6501&limit=3')).errors.map((error) => error.code)).toEqual([
      'no-client-user',
      'missing-email',
      'missing-email',
    ]);
    const all = await list('?clientNumber=6501&limit=1000');
    expect(all.errors).toHaveLength(106);
    expect(all.total).toBe(106);
  });
});

describe('bad query values answer 400 invalid-request, naming the parameter', () => {
  test.each([
    ['?portal=client_online', 'query.portal'],
    ['?portal=sharepoint', 'query.portal'],
    ['?portal=caseware&portal=clientOnline', 'query.portal'],
    ['?code=missing%20email', 'query.code'],
    [`?code=${'x'.repeat(101)}`, 'query.code'],
    ['?clientNumber=%2A', 'query.clientNumber'],
    ['?includeResolved=1', 'query.includeResolved'],
    ['?limit=0', 'query.limit'],
    ['?limit=1001', 'query.limit'],
    ['?limit=2.5', 'query.limit'],
    ['?limit=many', 'query.limit'],
    ['?limit=', 'query.limit'],
    // A misspelt filter must not answer the unfiltered list.
    ['?clientnumber=6301', 'query.clientnumber'],
  ])('%s', async (query, path) => {
    const response = await api.call('GET', `/sync/errors${query}`);
    expect(response.statusCode).toBe(400);
    const { error } = response.json<{ error: { code: string; message: string; issues: { path: string; message: string }[] } }>();
    expect(error.code).toBe('invalid-request');
    expect(error.issues).toEqual([{ path, message: expect.any(String) }]);
  });

  test('the portal issue gives the API spelling', async () => {
    const response = await api.call('GET', '/sync/errors?portal=client_online');
    expect(response.json<{ error: { message: string } }>().error.message).toContain('clientOnline');
  });

  test('the limit issue gives the range', async () => {
    const response = await api.call('GET', '/sync/errors?limit=5000');
    expect(response.json<{ error: { message: string } }>().error.message).toContain('from 1 to 1000');
  });
});

describe('a portal that cannot be used at all', () => {
  test('is listed once in portals, however many syncs failed, with no error per record; healed, it is gone', async () => {
    const before = await list();
    expect(before.portals).toEqual([]);

    // What three clients' syncs record when CaseWare refuses the service's credentials.
    const refused = { code: 'unauthorized', message: 'CaseWare Cloud refused POST /auth/token (401 unauthorized): check the configured CaseWare Cloud client id and secret' };
    for (let sync = 0; sync < 3; sync++) await recordPortalFailure(api.db, 'caseware', refused);

    const sick = await list();
    expect(sick.portals).toEqual([{ portal: 'caseware', since: expect.any(String), lastFailure: refused, failures: 3 }]);
    expect(sick.total).toBe(before.total);
    // It holds back every client, so only the portal filter narrows it.
    expect((await list('?clientNumber=6301&code=missing-email')).portals).toHaveLength(1);
    expect((await list('?portal=caseware')).portals).toHaveLength(1);
    expect((await list('?portal=clientOnline')).portals).toEqual([]);

    await recordPortalFailure(api.db, 'client_online', { code: 'unauthorized', message: 'Client Online refused PUT /api/v1/clients/6301 (401 unauthorized): check the configured Client Online API key' });
    expect((await list()).portals.map((portal) => [portal.portal, portal.failures])).toEqual([
      ['caseware', 3],
      ['clientOnline', 1],
    ]);

    await recordPortalHealthy(api.db, 'caseware');
    await recordPortalHealthy(api.db, 'client_online');
    expect((await list()).portals).toEqual([]);
  });
});

describe('/openapi.json', () => {
  interface Parameter {
    name: string;
    in: string;
    schema: Record<string, unknown>;
  }

  test('describes the filters, the limit and the new fields', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, { get: { parameters: Parameter[]; responses: Record<string, { content: Record<string, { schema: unknown }> }> } }>;
      components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> };
    }>();
    const route = document.paths['/sync/errors']!.get;
    const parameters = Object.fromEntries(route.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema]));
    expect(Object.keys(parameters).sort()).toEqual(['clientNumber', 'code', 'includeResolved', 'limit', 'portal']);
    expect(parameters.portal).toMatchObject({ enum: ['caseware', 'clientOnline'] });
    expect(parameters.limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000, default: 100 });

    const { schemas } = document.components;
    expect(JSON.stringify(route.responses['200']!.content['application/json']!.schema)).toContain('SyncErrorList');
    expect(Object.keys(schemas.SyncErrorList!.properties).sort()).toEqual(['errors', 'portals', 'total']);
    expect(schemas.ListedSyncError!.required).toEqual(expect.arrayContaining(['attempts', 'firstSeenAt', 'lastSeenAt', 'resolvedAt', 'recordType', 'recordId', 'clientNumber', 'portal', 'code', 'message']));
    expect(Object.keys(schemas.UnhealthyPortal!.properties).sort()).toEqual(['failures', 'lastFailure', 'portal', 'since']);
  });
});
