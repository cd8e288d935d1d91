import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiToken,
  createCompany,
  newestOutboxId,
  outboxEventsAfter,
  registryCounts,
  startApi,
  type ApiHarness,
  type ClientJson,
  type ClientWithContactsJson,
  type ContactJson,
  type ErrorJson,
} from './harness';

/** The parts of the OpenAPI document these tests read. */
interface OpenApiDocument {
  paths: Record<string, Record<string, { security?: unknown[]; requestBody?: { content: Record<string, { schema: { required?: string[]; additionalProperties?: unknown } }> } }>>;
  components: { securitySchemes: Record<string, unknown> };
}

let api: ApiHarness;
const logLines: string[] = [];
beforeAll(async () => {
  api = await startApi({ logLines });
});
afterAll(async () => {
  await api.close();
});

describe('public routes', () => {
  test('GET /health answers without a token', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  test('GET /openapi.json lists every route and the bearer scheme, without a token', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<OpenApiDocument>();
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        '/audit',
        '/clients',
        '/clients/{number}',
        '/clients/{number}/contacts',
        '/clients/{number}/followers',
        '/clients/{number}/links',
        '/contacts/{id}',
        '/contacts/{id}/correspondence-emails',
        '/contacts/{id}/followers',
        '/contacts/{id}/links',
        '/contacts/{id}/master',
        '/file-requests',
        '/file-requests/recipients',
        '/file-requests/{id}',
        '/file-requests/{id}/cancel',
        '/health',
        '/me',
        '/offboardings',
        '/offboardings/{id}',
        '/offboardings/{id}/approve',
        '/offboardings/{id}/cancel',
        '/reconcile',
        '/reconcile/runs',
        '/reconcile/runs/{id}',
        '/reconcile/schedule',
        '/sync/clients/{number}',
        '/sync/clients/{number}/kept-users',
        '/sync/clients/{number}/resync',
        '/sync/errors',
        '/sync/health',
        '/sync/portals/{portal}/approve-mails',
        '/sync/portals/{portal}/hold',
        '/sync/resync',
        '/tokens',
        '/tokens/{name}',
      ].sort(),
    );
    expect(Object.keys(document.paths['/clients/{number}'] ?? {}).sort()).toEqual(['get', 'patch']);
    expect(Object.keys(document.paths['/contacts/{id}'] ?? {}).sort()).toEqual(['delete', 'get', 'patch']);
    expect(Object.keys(document.paths['/contacts/{id}/master'] ?? {}).sort()).toEqual(['delete', 'get', 'put']);
    expect(Object.keys(document.paths['/sync/portals/{portal}/hold'] ?? {}).sort()).toEqual(['delete', 'put']);
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    // The request body is generated from the zod schema: required fields and the strictness show.
    const createBody = document.paths['/clients']?.post?.requestBody?.content['application/json']?.schema;
    expect(createBody?.required).toEqual(expect.arrayContaining(['clientNumber', 'kind', 'name']));
    expect(createBody?.additionalProperties).toBe(false);
    expect(document.paths['/health']?.get?.security).toEqual([]);
  });

  test('the browsable docs are served without a token', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('bearer token', () => {
  test.each([
    ['no header', undefined],
    ['a wrong token', `Bearer ${apiToken}x`],
    ['a prefix of the token', `Bearer ${apiToken.slice(0, -1)}`],
    ['another scheme', `Basic ${apiToken}`],
    ['the bare token', apiToken],
  ])('%s gets 401 and writes nothing', async (_case, authorization) => {
    const before = await registryCounts(api.db);
    const response = await api.app.inject({
      method: 'POST',
      url: '/clients',
      headers: authorization === undefined ? {} : { authorization },
      payload: { clientNumber: 'T401', kind: 'company', name: 'Nope BV' },
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test('reads need the token too', async () => {
    await createCompany(api, 'T402');
    for (const url of ['/clients/T402', '/sync/errors', '/sync/clients/T402', '/contacts/1']) {
      const response = await api.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(401);
    }
  });
});

describe('POST /clients', () => {
  test('registers a company client and appends one client.created event', async () => {
    const since = await newestOutboxId(api.db);
    const response = await api.call('POST', '/clients', {
      clientNumber: '1001',
      kind: 'company',
      name: 'Bakkerij De Korf BV',
      city: 'Utrecht',
      email: ' Info@DeKorf.NL ',
    });
    expect(response.statusCode).toBe(201);
    const client = response.json<ClientJson>();
    expect(client).toMatchObject({
      clientNumber: '1001',
      kind: 'company',
      status: 'client',
      name: 'Bakkerij De Korf BV',
      city: 'Utrecht',
      email: 'info@dekorf.nl',
      postcode: null,
      correspondenceEmailPreference: 'business',
      links: { caseware: false, clientOnline: false },
    });
    expect(typeof client.id).toBe('number');
    expect(new Date(client.createdAt).toISOString()).toBe(client.createdAt);
    expect(client).not.toHaveProperty('client_number');

    const row = await api.db('clients').where({ client_number: '1001' }).first();
    expect(row).toMatchObject({ id: client.id, name: 'Bakkerij De Korf BV', email: 'info@dekorf.nl', link_caseware: false });

    expect(await outboxEventsAfter(api.db, since)).toEqual([
      { id: expect.any(Number), client_number: '1001', kind: 'client.created', record_type: 'client', record_id: client.id },
    ]);
  });

  test('registers a person client with private data and links switched on', async () => {
    const response = await api.call('POST', '/clients', {
      clientNumber: 'P-2001',
      kind: 'person',
      name: 'P. de Vries',
      firstName: 'Piet',
      lastName: 'Vries',
      infix: 'de',
      bsn: '123456782',
      privateEmail: 'piet@example.nl',
      correspondenceEmailPreference: 'private',
      links: { clientOnline: true },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      kind: 'person',
      firstName: 'Piet',
      infix: 'de',
      bsn: '123456782',
      privateEmail: 'piet@example.nl',
      correspondenceEmailPreference: 'private',
      links: { caseware: false, clientOnline: true },
    });
  });

  test('a duplicate client number answers 409 and writes nothing', async () => {
    await createCompany(api, '1002');
    const before = await registryCounts(api.db);
    const response = await api.call('POST', '/clients', { clientNumber: '1002', kind: 'person', name: 'Someone Else' });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      error: { code: 'conflict', message: 'client 1002 already exists in the registry' },
    });
    expect(await registryCounts(api.db)).toEqual(before);
    expect(await api.db('clients').where({ client_number: '1002' }).pluck('kind')).toEqual(['company']);
  });

  test.each([
    ['an invalid email', { clientNumber: 'B1', kind: 'company', name: 'X', email: 'not-an-email' }, 'body.email', /email/i],
    ['a missing name', { clientNumber: 'B2', kind: 'company' }, 'body.name', /string/i],
    ['an unknown kind', { clientNumber: 'B3', kind: 'foundation', name: 'X' }, 'body.kind', /company/],
    ['a malformed client number', { clientNumber: 'no spaces!', kind: 'company', name: 'X' }, 'body.clientNumber', /client number/],
    ['a malformed BSN', { clientNumber: 'B5', kind: 'person', name: 'X', bsn: '12345' }, 'body.bsn', /BSN/],
    ['an unknown field', { clientNumber: 'B6', kind: 'company', name: 'X', vatNumber: 'NL1' }, 'body.vatNumber', /unknown field/],
    ['a non-boolean link', { clientNumber: 'B7', kind: 'company', name: 'X', links: { caseware: 'yes' } }, 'body.links.caseware', /boolean/],
  ])('%s answers 400 naming the field and writes nothing', async (_case, body, path, reason) => {
    const before = await registryCounts(api.db);
    const response = await api.call('POST', '/clients', body);
    expect(response.statusCode).toBe(400);
    const { error } = response.json<ErrorJson>();
    expect(error.code).toBe('invalid-request');
    expect(error.message).toContain(path);
    const issue = error.issues?.find((candidate) => candidate.path === path);
    expect(issue, JSON.stringify(error.issues)).toBeDefined();
    expect(issue?.message).toMatch(reason);
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test('a body that is not JSON answers 400 without echoing it', async () => {
    const before = await registryCounts(api.db);
    const response = await api.app.inject({
      method: 'POST',
      url: '/clients',
      headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
      payload: '{"clientNumber": "B8", "email": "jan@example.nl",',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 'invalid-request', message: 'the request body is not valid JSON' } });
    expect(response.body).not.toContain('jan@example.nl');
    expect(await registryCounts(api.db)).toEqual(before);
  });
});

describe('GET /clients/:number', () => {
  test('answers the client with its current contacts', async () => {
    await createCompany(api, '1003', { website: 'https://example.nl' });
    const first = await api.call('POST', '/clients/1003/contacts', { firstName: 'Anna' });
    const second = await api.call('POST', '/clients/1003/contacts', { firstName: 'Bram' });
    await api.call('DELETE', `/contacts/${first.json<ContactJson>().id}`);

    const response = await api.call('GET', '/clients/1003');
    expect(response.statusCode).toBe(200);
    const body = response.json<ClientWithContactsJson>();
    expect(body).toMatchObject({ clientNumber: '1003', website: 'https://example.nl' });
    expect(body.contacts.map((contact) => contact.id)).toEqual([second.json<ContactJson>().id]);
    expect(body.contacts[0]).toMatchObject({ firstName: 'Bram', clientNumber: '1003', links: { caseware: false, clientOnline: false } });
  });

  test('an unknown client answers 404', async () => {
    const response = await api.call('GET', '/clients/9999');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: 'not-found', message: 'client 9999 does not exist in the registry' } });
  });

  test('a malformed client number answers 400 naming the parameter', async () => {
    const response = await api.call('GET', '/clients/much-too-long-number');
    expect(response.statusCode).toBe(400);
    expect(response.json().error.issues).toEqual([{ path: 'params.number', message: expect.stringMatching(/client number/) }]);
  });
});

describe('PATCH /clients/:number', () => {
  test('changes the given fields, bumps updated_at and appends one client.updated event', async () => {
    const id = await createCompany(api, '1004', { city: 'Zwolle', phone: '038-1234567' });
    const before = await api.db('clients').where({ id }).first<{ updated_at: Date }>();
    const since = await newestOutboxId(api.db);

    const response = await api.call('PATCH', '/clients/1004', { city: 'Deventer', phone: null, status: 'former' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ clientNumber: '1004', city: 'Deventer', phone: null, status: 'former', name: 'Company 1004' });

    const after = await api.db('clients').where({ id }).first<{ updated_at: Date }>();
    expect(after).toMatchObject({ city: 'Deventer', phone: null, status: 'former', name: 'Company 1004' });
    expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
    expect(await outboxEventsAfter(api.db, since)).toEqual([
      { id: expect.any(Number), client_number: '1004', kind: 'client.updated', record_type: 'client', record_id: id },
    ]);
  });

  test.each([
    ['the kind', 'K1', { kind: 'person' }, 'body.kind'],
    ['the client number', 'K2', { clientNumber: '2004' }, 'body.clientNumber'],
    ['to an empty name', 'K3', { name: '' }, 'body.name'],
    ['nothing', 'K4', {}, 'body'],
  ])('changing %s answers 400 and changes nothing', async (_case, clientNumber, body, path) => {
    const id = await createCompany(api, clientNumber);
    const rowBefore = await api.db('clients').where({ id }).first();
    const before = await registryCounts(api.db);

    const response = await api.call('PATCH', `/clients/${clientNumber}`, body);
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorJson>().error.issues?.map((issue) => issue.path)).toContain(path);
    expect(await api.db('clients').where({ id }).first()).toEqual(rowBefore);
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test('an unknown client answers 404 and appends no event', async () => {
    const before = await registryCounts(api.db);
    const response = await api.call('PATCH', '/clients/9998', { city: 'Ede' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('not-found');
    expect(await registryCounts(api.db)).toEqual(before);
  });
});

describe('PUT /clients/:number/links', () => {
  test('switches the given portal and leaves the other alone, with one client.links-changed event', async () => {
    const id = await createCompany(api, '1005', { links: { clientOnline: true } });
    const since = await newestOutboxId(api.db);

    const response = await api.call('PUT', '/clients/1005/links', { caseware: true });
    expect(response.statusCode).toBe(200);
    expect(response.json().links).toEqual({ caseware: true, clientOnline: true });
    expect(await api.db('clients').where({ id }).first()).toMatchObject({ link_caseware: true, link_client_online: true });

    const off = await api.call('PUT', '/clients/1005/links', { clientOnline: false });
    expect(off.json().links).toEqual({ caseware: true, clientOnline: false });

    expect((await outboxEventsAfter(api.db, since)).map((event) => [event.kind, event.record_id])).toEqual([
      ['client.links-changed', id],
      ['client.links-changed', id],
    ]);
  });

  test('an empty or malformed body answers 400 and changes nothing', async () => {
    await createCompany(api, '1006');
    const before = await registryCounts(api.db);
    const empty = await api.call('PUT', '/clients/1006/links', {});
    expect(empty.statusCode).toBe(400);
    const unknown = await api.call('PUT', '/clients/1006/links', { portal: 'caseware' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.issues).toContainEqual({ path: 'body.portal', message: expect.any(String) });
    expect(await registryCounts(api.db)).toEqual(before);
    expect((await api.call('GET', '/clients/1006')).json().links).toEqual({ caseware: false, clientOnline: false });
  });

  test('an unknown client answers 404', async () => {
    const response = await api.call('PUT', '/clients/9997/links', { caseware: true });
    expect(response.statusCode).toBe(404);
  });
});

describe('one transaction per write', () => {
  test('when the outbox event cannot be written, the client is not stored either', async () => {
    await api.db.raw(`alter table outbox_events add constraint test_refuse_client_created check (kind <> 'client.created') not valid`);
    try {
      const before = await registryCounts(api.db);
      const response = await api.call('POST', '/clients', { clientNumber: 'TX1', kind: 'company', name: 'Atomic BV' });
      expect(response.statusCode).toBe(500);
      expect(response.json().error.code).toBe('internal');
      expect(await registryCounts(api.db)).toEqual(before);
      expect(await api.db('clients').where({ client_number: 'TX1' }).first()).toBeUndefined();
    } finally {
      await api.db.raw('alter table outbox_events drop constraint test_refuse_client_created');
    }
  });

  test('when the outbox event cannot be written, the update is rolled back', async () => {
    const id = await createCompany(api, 'TX2', { city: 'Goes' });
    await api.db.raw(`alter table outbox_events add constraint test_refuse_client_updated check (kind <> 'client.updated') not valid`);
    try {
      const response = await api.call('PATCH', '/clients/TX2', { city: 'Middelburg' });
      expect(response.statusCode).toBe(500);
      expect(await api.db('clients').where({ id }).first()).toMatchObject({ city: 'Goes' });
    } finally {
      await api.db.raw('alter table outbox_events drop constraint test_refuse_client_updated');
    }
  });
});

describe('logging', () => {
  test('logs requests but never their bodies, not even when a write fails in the database', async () => {
    // A failing check constraint makes Postgres quote the whole row in its error detail.
    await api.db.raw(`alter table clients add constraint test_refuse_probe check (name <> 'Log Probe BV')`);
    try {
      logLines.length = 0;
      const personal = { email: 'probe.person@example.nl', bsn: '111222333', lastName: 'Probeersma' };
      const ok = await api.call('POST', '/clients', { clientNumber: 'LOG1', kind: 'person', name: 'Log Person', ...personal });
      expect(ok.statusCode).toBe(201);
      const failed = await api.call('POST', '/clients', { clientNumber: 'LOG2', kind: 'person', name: 'Log Probe BV', ...personal });
      expect(failed.statusCode).toBe(500);
      expect(failed.body).not.toContain('111222333');

      const log = logLines.join('');
      expect(log).toContain('/clients');
      expect(log).toContain('request failed');
      expect(log).toContain('test_refuse_probe');
      for (const value of Object.values(personal)) expect(log).not.toContain(value);
      expect(log).not.toContain(apiToken);
    } finally {
      await api.db.raw('alter table clients drop constraint test_refuse_probe');
    }
  });
});
