import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { apiToken, startApi, type ApiHarness } from './harness';

// Issue 18, item 3: the tokens through the API, over real HTTP. Only a token with the admin role
// (and the built-in token, which has every role) may make, list and revoke them; a secret is in the
// answer that made it and nowhere else; a revoked token is refused from its next request on.

let api: ApiHarness;
let baseUrl: string;
const secrets: Record<'admin' | 'operator' | 'viewer' | 'registry', string> = { admin: '', operator: '', viewer: '', registry: '' };

beforeAll(async () => {
  api = await startApi();
  for (const role of ['admin', 'operator', 'viewer', 'registry'] as const) secrets[role] = (await createApiToken(api.db, { name: `the-${role}`, role })).secret;
  baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await api?.close();
});

async function call(secret: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, json: text ? JSON.parse(text) : undefined };
}

const tokenRows = () => api.db('api_tokens').orderBy('id').select('name', 'role', 'revoked_at');

describe('/tokens', () => {
  test('an admin makes a token: 201 with the secret, this once; the token works with its role at once', async () => {
    const made = await call(secrets.admin, 'POST', '/tokens', { name: 'anna', role: 'operator' });
    expect(made.status, made.text).toBe(201);
    expect(made.json).toEqual({ name: 'anna', role: 'operator', createdAt: expect.any(String), lastUsedAt: null, revokedAt: null, secret: expect.stringMatching(/^pst_[A-Za-z0-9_-]{43}$/) });
    const secret: string = made.json.secret;

    expect((await call(secret, 'GET', '/sync/health')).status).toBe(200);
    expect((await call(secret, 'POST', '/clients', { clientNumber: 'T1', kind: 'company', name: 'Tokens BV' })).status).toBe(403);

    // Never again: not in the list, not as its hash, not in the table.
    const listed = await call(secrets.admin, 'GET', '/tokens');
    expect(listed.status).toBe(200);
    expect(listed.json).toContainEqual({ name: 'anna', role: 'operator', createdAt: made.json.createdAt, lastUsedAt: expect.any(String), revokedAt: null });
    const hash = createHash('sha256').update(secret).digest('hex');
    for (const text of [listed.text, (await call(secrets.admin, 'GET', '/tokens?includeRevoked=true')).text]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hash);
      expect(text).not.toMatch(/secret|hash/i);
    }
    expect(JSON.stringify(await api.db('api_tokens').select('*'))).not.toContain(secret);
  });

  test('the built-in token has the admin role too', async () => {
    const made = await call(apiToken, 'POST', '/tokens', { name: 'crm', role: 'registry' });
    expect(made.status, made.text).toBe(201);
    expect((await call(apiToken, 'GET', '/tokens')).json.map((token: { name: string }) => token.name)).toEqual(['anna', 'crm', 'the-admin', 'the-operator', 'the-registry', 'the-viewer']);
    expect((await call(apiToken, 'DELETE', '/tokens/crm')).status).toBe(200);
  });

  test('an admin may make another admin; the list shows roles, never secrets', async () => {
    const made = await call(secrets.admin, 'POST', '/tokens', { name: 'second-admin', role: 'admin' });
    expect(made.status, made.text).toBe(201);
    expect((await call(made.json.secret, 'GET', '/tokens')).status).toBe(200);
  });

  test('every other role gets 403 naming the admin role, and nothing changes', async () => {
    const before = await tokenRows();
    for (const role of ['operator', 'viewer', 'registry'] as const) {
      for (const [method, path, body] of [
        ['POST', '/tokens', { name: `by-${role}`, role: 'admin' }],
        ['GET', '/tokens', undefined],
        ['DELETE', '/tokens/anna', undefined],
      ] as const) {
        const refused = await call(secrets[role], method, path, body);
        expect(refused.status, `${method} ${path} as ${role}`).toBe(403);
        expect(refused.json.error.message).toBe(`${method} ${path === '/tokens/anna' ? '/tokens/:name' : path} needs the admin role; token "the-${role}" has the ${role} role`);
      }
    }
    expect((await call('pst_nobody', 'GET', '/tokens')).status).toBe(401);
    expect(await tokenRows()).toEqual(before);
  });

  test('bad input answers 400 and changes nothing; a name in use 409; no such token 404', async () => {
    const before = await tokenRows();
    for (const body of [
      {},
      { name: 'anna' },
      { name: 'Has Space', role: 'viewer' },
      { name: 'api', role: 'viewer' },
      { name: 'eve', role: 'superuser' },
      { name: 'eve', role: 'viewer', secret: 'pst_chosen-by-me' },
      { name: 'x'.repeat(64), role: 'viewer' },
    ]) {
      const refused = await call(secrets.admin, 'POST', '/tokens', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.json.error.code).toBe('invalid-request');
    }
    const taken = await call(secrets.admin, 'POST', '/tokens', { name: 'anna', role: 'viewer' });
    expect(taken.status).toBe(409);
    expect(taken.json.error.message).toContain('a token named "anna" exists already');
    expect((await call(secrets.admin, 'GET', '/tokens?includeRevoked=yes')).status).toBe(400);
    expect((await call(secrets.admin, 'GET', '/tokens?revoked=true')).status).toBe(400);
    expect((await call(secrets.admin, 'DELETE', '/tokens/API')).status).toBe(400);
    expect((await call(secrets.admin, 'DELETE', '/tokens/api')).status).toBe(400);
    const missing = await call(secrets.admin, 'DELETE', '/tokens/nobody');
    expect(missing.status).toBe(404);
    expect(missing.json.error.message).toContain('there is no token named "nobody"');
    expect(await tokenRows()).toEqual(before);
  });

  test('a revoked token gets 401 from its next request on; its name may be used again', async () => {
    const made = await call(secrets.admin, 'POST', '/tokens', { name: 'temp', role: 'viewer' });
    expect((await call(made.json.secret, 'GET', '/sync/health')).status).toBe(200);
    const revoked = await call(secrets.admin, 'DELETE', '/tokens/temp');
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.json).toMatchObject({ name: 'temp', role: 'viewer', revokedAt: expect.any(String) });
    expect((await call(made.json.secret, 'GET', '/sync/health')).status).toBe(401);
    expect((await call(secrets.admin, 'DELETE', '/tokens/temp')).status).toBe(404);

    expect((await call(secrets.admin, 'GET', '/tokens')).json.map((token: { name: string }) => token.name)).not.toContain('temp');
    const all = (await call(secrets.admin, 'GET', '/tokens?includeRevoked=true')).json;
    expect(all).toContainEqual(expect.objectContaining({ name: 'temp', revokedAt: revoked.json.revokedAt }));
    expect((await call(secrets.admin, 'POST', '/tokens', { name: 'temp', role: 'operator' })).status).toBe(201);
  });

  test('an admin token may revoke itself; then it is refused too', async () => {
    const made = await call(secrets.admin, 'POST', '/tokens', { name: 'leaving-admin', role: 'admin' });
    expect((await call(made.json.secret, 'DELETE', '/tokens/leaving-admin')).status).toBe(200);
    expect((await call(made.json.secret, 'GET', '/tokens')).status).toBe(401);
  });
});

describe('GET /me (issue 21)', () => {
  test('each token answers its own name and role; the built-in token is "api" with every role; nothing is audited', async () => {
    for (const role of ['admin', 'operator', 'viewer', 'registry'] as const) {
      const me = await call(secrets[role], 'GET', '/me');
      expect(me.status, me.text).toBe(200);
      expect(me.json).toEqual({ name: `the-${role}`, roles: [role], builtIn: false });
    }
    const builtIn = await call(apiToken, 'GET', '/me');
    expect(builtIn.json).toEqual({ name: 'api', roles: ['viewer', 'registry', 'operator', 'admin'], builtIn: true });
    expect(await api.db('audit_events').where({ route: '/me' }).select('id')).toEqual([]);
  });

  test('no token, a wrong or a revoked token: 401', async () => {
    expect((await fetch(`${baseUrl}/me`)).status).toBe(401);
    expect((await call('pst_not-a-token-anyone-made', 'GET', '/me')).status).toBe(401);
    await call(secrets.admin, 'POST', '/tokens', { name: 'gone-soon', role: 'viewer' }).then(async (made) => {
      await call(secrets.admin, 'DELETE', '/tokens/gone-soon');
      expect((await call(made.json.secret, 'GET', '/me')).status).toBe(401);
    });
  });
});
