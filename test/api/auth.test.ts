import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { accessOf, rolesOf, routeAccess, routeKey } from '../../src/api/auth';
import { buildApi, routesOf } from '../../src/api/server';
import { createApiToken, revokeApiToken, roles, type Role } from '../../src/api/tokens';
import { EncryptionCodec, encryptionKeyFromBase64 } from '../../src/temporal/encryption-codec';
import { apiToken, registryCounts, startApi, type ApiHarness } from './harness';

// Who may do what (issue 12): every route against every role, the 401 that says nothing, the 403
// that names the role, revoked tokens, and that every route of the API has an entry in the table.

let api: ApiHarness;
const logLines: string[] = [];
const secrets = {} as Record<Role, string>;
/** Routes of an API with every optional part (codec server, metrics token) switched on. */
let fullApp: FastifyInstance;

beforeAll(async () => {
  api = await startApi({ logLines });
  for (const role of roles) secrets[role] = (await createApiToken(api.db, { name: `test-${role}`, role })).secret;
  const codec = new EncryptionCodec(encryptionKeyFromBase64('k1', randomBytes(32).toString('base64')));
  fullApp = await buildApi({ db: api.db, apiToken, codec: { codec, allowedOrigins: [] }, metrics: { token: 'metrics-token-0123456789' } });
  await fullApp.ready();
});
afterAll(async () => {
  await fullApp?.close();
  await api?.close();
});

const call = (method: string, url: string, authorization?: string, payload?: object) =>
  api.app.inject({
    method: method as 'GET',
    url,
    headers: authorization === undefined ? {} : { authorization },
    ...(payload === undefined ? {} : { payload }),
  });
const bearer = (secret: string) => `Bearer ${secret}`;

/** A request to a route pattern: its parameters filled in with values that exist nowhere. */
const concrete = (url: string) => url.replace(':number', '9999').replace(':id', '424242').replace(':file', 'preact.mjs');

/**
 * What each route should need, written out once more by the rule of issue 12 rather than read from
 * the table: the tokens are the admin's, reading them too (issue 18); other reads are the viewer's;
 * the registry's writes (clients, contacts, links, masters) the registry role's; the rest
 * (offboarding, resync, reconcile) the operator's.
 */
function expectedRoles(method: string, url: string): readonly Role[] {
  if (url.startsWith('/tokens')) return ['admin'];
  // Who changed what: the operators' and the admin's, not every reader's.
  if (url === '/audit') return ['operator', 'admin'];
  return [expectedRole(method, url)];
}

function expectedRole(method: string, url: string): Role {
  if (method === 'GET' || method === 'HEAD') return 'viewer';
  if (url.startsWith('/clients') || url.startsWith('/contacts')) return 'registry';
  return 'operator';
}

const guarded = () => routesOf(api.app).filter(({ method, url }) => method !== 'HEAD' && typeof accessOf(method, url) === 'object');

describe('the role table', () => {
  test('has an entry for every route the API registers, the optional ones included', () => {
    const routes = routesOf(fullApp);
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter(({ method, url }) => accessOf(method, url) === undefined).map(({ method, url }) => routeKey(method, url))).toEqual([]);
  });

  test('gives each route the role the rule says; public only the pages and documents that were public before', () => {
    for (const { method, url } of routesOf(fullApp)) {
      const access = accessOf(method, url);
      if (typeof access !== 'object') continue;
      if (url === '/console/config') expect(rolesOf(access)).toEqual(['viewer']);
      else expect([routeKey(method, url), rolesOf(access)]).toEqual([routeKey(method, url), expectedRoles(method, url)]);
    }
    const open = Object.entries(routeAccess).filter(([, access]) => access === 'public').map(([key]) => key);
    for (const key of open) expect(key).toMatch(/^GET \/(health|openapi\.json|docs|console(\/|$)(?!config))/);
    const checkedByRoute = Object.entries(routeAccess).filter(([, access]) => access === 'checked-by-route').map(([key]) => key);
    for (const key of checkedByRoute) expect(key).toMatch(/^(GET \/metrics|(OPTIONS|POST|GET) \/codec\/)/);
  });

  test('has no entry for a route that does not exist (but for the file requests still to come)', () => {
    const registered = new Set(routesOf(fullApp).map(({ method, url }) => routeKey(method, url)));
    expect(Object.keys(routeAccess).filter((key) => !registered.has(key) && !key.includes(' /file-requests'))).toEqual([]);
  });

  test('file requests: reads are the viewer\'s, asking and cancelling the operator\'s', () => {
    expect(accessOf('GET', '/file-requests')).toEqual({ role: 'viewer' });
    expect(accessOf('GET', '/file-requests/:id')).toEqual({ role: 'viewer' });
    expect(accessOf('POST', '/file-requests')).toEqual({ role: 'operator' });
    expect(accessOf('POST', '/file-requests/:id/cancel')).toEqual({ role: 'operator' });
  });

  test('a route without an entry is refused to every token, the built-in one too, and is 401 without one', async () => {
    const database = api.db;
    const app = await buildApi({ db: database, apiToken });
    app.get('/not-in-the-table', () => ({ open: true }));
    app.post('/health', () => ({ open: true }));
    try {
      for (const secret of [apiToken, ...Object.values(secrets)]) {
        for (const [method, url] of [['GET', '/not-in-the-table'], ['POST', '/health']] as const) {
          const response = await app.inject({ method, url, headers: { authorization: bearer(secret) } });
          expect(response.statusCode).toBe(403);
          expect(response.json().error).toEqual({ code: 'forbidden', message: expect.stringContaining(`no role may use ${method} ${url}`) });
        }
      }
      expect((await app.inject({ method: 'GET', url: '/not-in-the-table' })).statusCode).toBe(401);
      // The public route next to it stays public.
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('every route against every role', () => {
  test('a token with the role (or the built-in token) gets past the check; one without it gets 403 naming the role', async () => {
    const before = await registryCounts(api.db);
    const checked: string[] = [];
    for (const { method, url } of guarded()) {
      const access = accessOf(method, url);
      if (typeof access !== 'object') continue;
      const target = concrete(url);
      // An empty body: a write that gets past the check is refused by its validation (400) or finds
      // nothing (404); the check itself comes first, before the body is read.
      const body = method === 'GET' || method === 'DELETE' ? undefined : {};
      for (const [name, secret] of [...roles.map((role) => [role, secrets[role]] as const), ['built-in', apiToken] as const]) {
        const response = await call(method, target, bearer(secret), body);
        const needed = rolesOf(access);
        const allowed = name === 'built-in' || needed.includes(name) || needed.includes('viewer');
        checked.push(`${method} ${url} as ${name}: ${response.statusCode}`);
        if (allowed) {
          // 503 is fine: this API runs without Temporal.
          expect([401, 403, 500], `${method} ${url} as ${name}: ${response.body}`).not.toContain(response.statusCode);
        } else {
          expect(response.statusCode, `${method} ${url} as ${name}`).toBe(403);
          expect(response.json()).toEqual({
            error: { code: 'forbidden', message: `${method} ${url} needs the ${needed.join(' or ')} role; token "test-${name}" has the ${name} role` },
          });
        }
      }
    }
    expect(guarded().length).toBeGreaterThanOrEqual(31);
    expect(checked).toHaveLength(guarded().length * (roles.length + 1));
    // Nothing was written: the refused calls were stopped, the allowed ones found nothing to change.
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test('a registry token writes the registry; a viewer reads it but may not write it', async () => {
    const created = await call('POST', '/clients', bearer(secrets.registry), { clientNumber: 'R100', kind: 'company', name: 'Roles BV' });
    expect(created.statusCode).toBe(201);
    expect((await call('GET', '/clients/R100', bearer(secrets.viewer))).statusCode).toBe(200);
    const refused = await call('PATCH', '/clients/R100', bearer(secrets.viewer), { name: 'Other BV' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toBe('PATCH /clients/:number needs the registry role; token "test-viewer" has the viewer role');
    expect((await call('PATCH', '/clients/R100', bearer(secrets.operator), { name: 'Other BV' })).statusCode).toBe(403);
    expect((await call('GET', '/clients/R100', bearer(secrets.viewer))).json().name).toBe('Roles BV');
    expect((await call('POST', '/offboardings', bearer(secrets.operator), { kind: 'client-leaves', clientNumber: 'R100' })).statusCode).toBe(200);
    expect((await call('POST', '/offboardings', bearer(secrets.registry), { kind: 'client-leaves', clientNumber: 'R100' })).statusCode).toBe(403);
  });

  test('HEAD goes by the GET entry', async () => {
    expect((await call('HEAD', '/sync/health', bearer(secrets.viewer))).statusCode).toBe(200);
    expect((await call('HEAD', '/sync/health')).statusCode).toBe(401);
  });
});

describe('401: a missing, wrong or revoked token, all alike', () => {
  test('every way of getting it wrong gets the same answer, and nothing is written', async () => {
    const { secret } = await createApiToken(api.db, { name: 'soon-revoked', role: 'registry' });
    expect((await call('GET', '/sync/health', bearer(secret))).statusCode).toBe(200);
    await revokeApiToken(api.db, 'soon-revoked');

    const before = await registryCounts(api.db);
    const answers = [];
    for (const authorization of [
      undefined,
      '',
      'Bearer',
      bearer('pst_not-a-token-anyone-made'),
      bearer(`${secrets.registry}x`),
      bearer(secrets.registry.slice(0, -1)),
      `Basic ${secrets.registry}`,
      secrets.registry,
      bearer(secret),
    ]) {
      const response = await call('POST', '/clients', authorization, { clientNumber: 'T401', kind: 'company', name: 'Nope BV' });
      answers.push({ status: response.statusCode, body: response.body, challenge: response.headers['www-authenticate'] });
    }
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(answers[0]?.status).toBe(401);
    expect(answers[0]?.challenge).toBe('Bearer');
    expect(JSON.parse(answers[0]?.body ?? '')).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test('a revoked token stops working at once, on the next request', async () => {
    const { secret } = await createApiToken(api.db, { name: 'revoked-now', role: 'viewer' });
    expect((await call('GET', '/offboardings', bearer(secret))).statusCode).toBe(200);
    await revokeApiToken(api.db, 'revoked-now');
    expect((await call('GET', '/offboardings', bearer(secret))).statusCode).toBe(401);
  });

  test('an unknown route answers 404 with or without a token, as before', async () => {
    expect((await call('GET', '/no-such-route')).statusCode).toBe(404);
    expect((await call('GET', '/no-such-route', bearer(secrets.viewer))).statusCode).toBe(404);
  });

  test('the public pages stay public', async () => {
    for (const url of ['/health', '/openapi.json', '/docs/', '/console/']) expect((await call('GET', url)).statusCode, url).toBe(200);
    expect((await call('GET', '/console/config')).statusCode).toBe(401);
    expect((await call('GET', '/console/config', bearer(secrets.viewer))).statusCode).toBe(200);
  });
});

describe('secrets', () => {
  test('the table holds hashes only; a token notes when it was last used', async () => {
    const rows = await api.db('api_tokens').select('*');
    const dump = JSON.stringify(rows);
    for (const secret of Object.values(secrets)) {
      expect(dump).not.toContain(secret);
      expect(rows.map((row) => row.token_hash)).toContain(createHash('sha256').update(secret).digest('hex'));
    }
    const viewer = rows.find((row) => row.name === 'test-viewer' && row.revoked_at === null);
    expect(viewer?.last_used_at).toBeInstanceOf(Date);
  });

  test('never reach the log, whatever the answer', async () => {
    await call('GET', '/sync/errors', bearer(secrets.viewer));
    await call('POST', '/sync/resync', bearer(secrets.viewer));
    await call('POST', '/clients', bearer(`${secrets.registry}x`), { clientNumber: 'L1', kind: 'company', name: 'Log BV' });
    expect(logLines.length).toBeGreaterThan(0);
    // Each request's lines name the token that made it.
    const completed = logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'request completed');
    expect(completed).toContainEqual(expect.objectContaining({ token: 'test-viewer', res: { statusCode: 200 } }));
    expect(completed).toContainEqual(expect.objectContaining({ token: 'test-viewer', res: { statusCode: 403 } }));
    for (const secret of [...Object.values(secrets), apiToken]) {
      expect(logLines.filter((line) => line.includes(secret))).toEqual([]);
    }
  });

  test('the OpenAPI document explains the roles, 401 and 403', async () => {
    const document = (await call('GET', '/openapi.json')).json();
    const scheme = document.components.securitySchemes.bearerAuth;
    expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const words of ['viewer', 'registry', 'operator', '401', '403', 'four eyes']) expect(scheme.description).toContain(words);
  });
});
