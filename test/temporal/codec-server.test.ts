import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/server';
import { createApiToken, revokeApiToken } from '../../src/api/tokens';
import { EncryptionCodec, encryptionKeyFromBase64 } from '../../src/temporal/encryption-codec';
import { createTestDatabase, type TestDatabase } from '../support/db';

const apiToken = 'codec-test-token-0123456789';
const uiOrigin = 'http://127.0.0.1:8080';
const codec = new EncryptionCodec(encryptionKeyFromBase64('2026-01', randomBytes(32).toString('base64')));

const asJson = (payload: Payload) => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});
const fromJson = (json: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(json.metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
  data: Buffer.from(json.data, 'base64'),
});

describe('the codec server', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let encrypted: Payload;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await buildApi({ db: database.db, apiToken, codec: { codec, allowedOrigins: [uiOrigin] } });
    [encrypted] = (await codec.encode([defaultPayloadConverter.toPayload({ clientNumber: '1001' })])) as [Payload];
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const decode = (headers: Record<string, string>, payloads = [asJson(encrypted)]) =>
    app.inject({ method: 'POST', url: '/codec/decode', headers: { 'x-namespace': 'default', ...headers }, payload: { payloads } });

  it('decodes for a caller with the API token', async () => {
    const response = await decode({ authorization: `Bearer ${apiToken}` });
    expect(response.statusCode).toBe(200);
    const [payload] = response.json<{ payloads: { metadata: Record<string, string>; data: string }[] }>().payloads;
    expect(defaultPayloadConverter.fromPayload(fromJson(payload!))).toEqual({ clientNumber: '1001' });
  });

  it('refuses a caller without it, or with another token', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-token-at-all' }] as Record<string, string>[]) {
      const response = await decode(headers);
      expect(response.statusCode).toBe(401);
      expect(response.body).not.toContain('1001');
      expect(response.json().error.code).toBe('unauthorized');
    }
  });

  it('decodes for a named token of any role, a viewer too (issue 18); a revoked or wrong token gets 401', async () => {
    const viewer = await createApiToken(database.db, { name: 'codec-viewer', role: 'viewer' });
    const operator = await createApiToken(database.db, { name: 'codec-operator', role: 'operator' });
    for (const secret of [viewer.secret, operator.secret]) {
      const response = await decode({ authorization: `Bearer ${secret}` });
      expect(response.statusCode).toBe(200);
      const [payload] = response.json<{ payloads: { metadata: Record<string, string>; data: string }[] }>().payloads;
      expect(defaultPayloadConverter.fromPayload(fromJson(payload!))).toEqual({ clientNumber: '1001' });
    }
    await revokeApiToken(database.db, 'codec-viewer');
    for (const secret of [viewer.secret, `${operator.secret}x`, 'pst_not-a-token']) {
      const response = await decode({ authorization: `Bearer ${secret}` });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('unauthorized');
      expect(response.body).not.toContain('1001');
    }
  });

  it('encodes for the operator role only: a viewer token gets 403', async () => {
    const viewer = await createApiToken(database.db, { name: 'codec-viewer-2', role: 'viewer' });
    const operator = await createApiToken(database.db, { name: 'codec-operator-2', role: 'operator' });
    const encode = (secret: string) =>
      app.inject({ method: 'POST', url: '/codec/encode', headers: { authorization: `Bearer ${secret}` }, payload: { payloads: [asJson(defaultPayloadConverter.toPayload('x'))] } });
    const refused = await encode(viewer.secret);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toBe('POST /codec/encode needs the operator role; token "codec-viewer-2" has the viewer role');
    expect((await encode(operator.secret)).statusCode).toBe(200);
  });

  it("signs a browser in with a named token: the session has the token's role, and ends when the token is revoked", async () => {
    const viewer = await createApiToken(database.db, { name: 'codec-browser', role: 'viewer' });
    const signIn = await app.inject({
      method: 'POST',
      url: '/codec/session',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${encodeURIComponent(viewer.secret)}`,
    });
    expect(signIn.statusCode).toBe(200);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    expect(cookie).not.toContain(viewer.secret);
    expect((await decode({ origin: uiOrigin, cookie })).statusCode).toBe(200);
    const encode = await app.inject({ method: 'POST', url: '/codec/encode', headers: { cookie }, payload: { payloads: [asJson(defaultPayloadConverter.toPayload('x'))] } });
    expect(encode.statusCode).toBe(403);
    await revokeApiToken(database.db, 'codec-browser');
    expect((await decode({ origin: uiOrigin, cookie })).statusCode).toBe(401);
  });

  it('encodes, so that the UI can send a signal in the encrypted form', async () => {
    const plain = asJson(defaultPayloadConverter.toPayload('from the UI'));
    const response = await app.inject({
      method: 'POST',
      url: '/codec/encode',
      headers: { authorization: `Bearer ${apiToken}` },
      payload: { payloads: [plain] },
    });
    expect(response.statusCode).toBe(200);
    const [payload] = response.json().payloads;
    expect(Buffer.from(payload.metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    const [decoded] = await codec.decode([fromJson(payload)]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toBe('from the UI');
  });

  it('answers 400, naming the key, for a payload that does not decrypt', async () => {
    const garbled = { ...asJson(encrypted), data: randomBytes(60).toString('base64') };
    const response = await decode({ authorization: `Bearer ${apiToken}` }, [garbled]);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toMatch(/key 2026-01 does not decrypt/);
  });

  it("allows the Temporal UI's origin, with credentials, and no other", async () => {
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: { origin: uiOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(uiOrigin);
    expect(preflight.headers['access-control-allow-credentials']).toBe('true');
    expect(preflight.headers['access-control-allow-headers']).toMatch(/x-namespace/);
    const answer = await decode({ origin: uiOrigin, authorization: `Bearer ${apiToken}` });
    expect(answer.headers['access-control-allow-origin']).toBe(uiOrigin);

    const elsewhere = await app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: 'https://evil.example' } });
    expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('lets an operator sign a browser in with the token, for the UI to send a session cookie', async () => {
    const form = await app.inject({ method: 'GET', url: '/codec/session' });
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('name="token"');

    const wrong = await app.inject({
      method: 'POST',
      url: '/codec/session',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=guess',
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const signIn = await app.inject({
      method: 'POST',
      url: '/codec/session',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      payload: `token=${encodeURIComponent(apiToken)}`,
    });
    expect(signIn.statusCode).toBe(200);
    const setCookie = String(signIn.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/Path=\/codec/);
    expect(setCookie).not.toContain(apiToken);
    const cookie = setCookie.split(';')[0]!;

    expect((await decode({ origin: uiOrigin, cookie })).statusCode).toBe(200);
    const forged = cookie.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'));
    expect((await decode({ origin: uiOrigin, cookie: forged })).statusCode).toBe(401);
    // The session opens the codec only, not the registry.
    expect((await app.inject({ method: 'GET', url: '/sync/errors', headers: { cookie } })).statusCode).toBe(401);
  });

  it('is described in the OpenAPI document, behind the token', async () => {
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/codec/encode', '/codec/decode']));
    expect(document.paths['/codec/session']).toBeUndefined();
  });
});
