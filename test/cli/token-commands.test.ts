import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApi } from '../../src/api/server';
import { connectDatabase, type Db } from '../../src/db';
import { cli, cleanEnv, createEmptyDatabase } from './support';

// `portal-sync tokens` as an administrator runs it (the bin, in a child process) on a real
// PostgreSQL, and the API in this process on the same database taking the tokens it made.

let database: { url: string; drop(): Promise<void> };
let env: NodeJS.ProcessEnv;
let db: Db;
let app: FastifyInstance;
let apiUrl: string;

beforeAll(async () => {
  database = await createEmptyDatabase();
  env = cleanEnv({ DATABASE_URL: database.url });
  db = connectDatabase(database.url);
  app = await buildApi({ db, apiToken: 'built-in-token-0123456789' });
  apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await db?.destroy();
  await database?.drop();
});

const asToken = (secret: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${secret}` }, ...(payload ? { payload } : {}) });

describe('portal-sync tokens', () => {
  test('refuses a database without its migrations', async () => {
    const run = await cli(['tokens', 'list'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/the database lacks \d+ of its migrations: run `portal-sync migrate` first/);
    expect((await cli(['migrate'], env)).code).toBe(0);
  });

  test('create prints the secret once; the API takes it with its role; list shows everything but the secret', async () => {
    const created = await cli(['tokens', 'create', '--name', 'crm', '--role', 'registry'], env);
    expect(created.code, created.stderr).toBe(0);
    const secret = /^ {2}(pst_[A-Za-z0-9_-]{43})$/m.exec(created.stdout)?.[1];
    expect(secret, created.stdout).toBeDefined();
    expect(created.stdout).toContain('Token "crm" made, with the registry role.');

    const json = await cli(['tokens', 'create', '--name', 'alice', '--role', 'operator', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const alice = JSON.parse(json.stdout);
    expect(alice).toEqual({ name: 'alice', role: 'operator', createdAt: expect.any(String), secret: expect.stringMatching(/^pst_/) });

    expect((await asToken(secret ?? '', 'POST', '/clients', { clientNumber: 'T1', kind: 'company', name: 'Tokens BV' })).statusCode).toBe(201);
    expect((await asToken(alice.secret, 'POST', '/clients', { clientNumber: 'T2', kind: 'company', name: 'Tokens BV' })).statusCode).toBe(403);
    expect((await asToken(alice.secret, 'GET', '/clients/T1')).statusCode).toBe(200);

    const listed = await cli(['tokens', 'list'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^name +role +created +last used$/m);
    expect(listed.stdout).toMatch(/^alice +operator +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m);
    expect(listed.stdout).toMatch(/^crm +registry +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d{4}-/m);
    const listedJson = await cli(['tokens', 'list', '--json'], env);
    expect(JSON.parse(listedJson.stdout).map((token: { name: string }) => token.name)).toEqual(['alice', 'crm']);
    for (const run of [listed, listedJson]) {
      expect(run.stdout).not.toContain(secret);
      expect(run.stdout).not.toContain(alice.secret);
    }
    const stored = JSON.stringify(await db('api_tokens').select('*'));
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(alice.secret);
  });

  test('revoke stops the token at once; the name may then be used again', async () => {
    const created = JSON.parse((await cli(['tokens', 'create', '--name', 'temp', '--role', 'viewer', '--json'], env)).stdout);
    expect((await asToken(created.secret, 'GET', '/sync/health')).statusCode).toBe(200);
    const revoked = await cli(['tokens', 'revoke', 'temp'], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('Token "temp" (viewer) revoked');
    expect((await asToken(created.secret, 'GET', '/sync/health')).statusCode).toBe(401);

    const again = await cli(['tokens', 'revoke', 'temp'], env);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('there is no token named "temp"');
    expect((await cli(['tokens', 'list'], env)).stdout).not.toMatch(/^temp /m);
    expect((await cli(['tokens', 'list', '--include-revoked'], env)).stdout).toMatch(/^temp +viewer +.+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m);
    const renewed = await cli(['tokens', 'create', '--name', 'temp', '--role', 'operator'], env);
    expect(renewed.code, renewed.stderr).toBe(0);

    // The audit has them, as `(database)`: whoever holds DATABASE_URL.
    const audited = await db('audit_events').where({ token_name: '(database)' }).whereRaw(`record_ids->>'token' = 'temp'`).orderBy('id').select('method', 'route', 'status', 'fields');
    expect(audited).toEqual([
      { method: 'POST', route: '/tokens', status: 201, fields: ['name', 'role'] },
      { method: 'DELETE', route: '/tokens/:name', status: 200, fields: [] },
      { method: 'POST', route: '/tokens', status: 201, fields: ['name', 'role'] },
    ]);
  });

  test('refuses a name in use, a bad name, the built-in name and an unknown role (exit 2)', async () => {
    const taken = await cli(['tokens', 'create', '--name', 'crm', '--role', 'viewer'], env);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('a token named "crm" exists already');
    for (const args of [
      ['--name', 'Has Space', '--role', 'viewer'],
      ['--name', 'api', '--role', 'viewer'],
      ['--name', 'ok', '--role', 'superuser'],
      ['--name', 'ok'],
    ]) {
      const run = await cli(['tokens', 'create', ...args], env);
      expect(run.code, args.join(' ')).toBe(2);
    }
    expect((await cli(['tokens', 'list', '--json'], env)).stdout).not.toContain('"ok"');
  });
});

describe('portal-sync tokens through the API (--api-url, --token): an admin token', () => {
  test('an admin token made on the database makes, lists and revokes tokens through the API', async () => {
    const boss = JSON.parse((await cli(['tokens', 'create', '--name', 'boss', '--role', 'admin', '--json'], env)).stdout);
    // No DATABASE_URL: the API alone.
    const viaApi = cleanEnv({ API_TOKEN: boss.secret });
    const made = await cli(['tokens', 'create', '--name', 'eve', '--role', 'viewer', '--api-url', apiUrl, '--json'], viaApi);
    expect(made.code, made.stderr).toBe(0);
    const eve = JSON.parse(made.stdout);
    expect(eve).toEqual({ name: 'eve', role: 'viewer', createdAt: expect.any(String), secret: expect.stringMatching(/^pst_/) });
    expect((await asToken(eve.secret, 'GET', '/sync/health')).statusCode).toBe(200);

    const listed = await cli(['tokens', 'list', '--api-url', apiUrl, '--token', boss.secret], cleanEnv({}));
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^eve +viewer +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d{4}-/m);
    expect(listed.stdout).toMatch(/^boss +admin +/m);
    expect(listed.stdout).not.toContain(eve.secret);

    const revoked = await cli(['tokens', 'revoke', 'eve', '--api-url', apiUrl], viaApi);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('Token "eve" (viewer) revoked');
    expect((await asToken(eve.secret, 'GET', '/sync/health')).statusCode).toBe(401);
    const again = await cli(['tokens', 'revoke', 'eve', '--api-url', apiUrl], viaApi);
    expect(again.code).toBe(4);
    const all = JSON.parse((await cli(['tokens', 'list', '--include-revoked', '--json', '--api-url', apiUrl], viaApi)).stdout);
    expect(all).toContainEqual({ name: 'eve', role: 'viewer', createdAt: eve.createdAt, lastUsedAt: expect.any(String), revokedAt: expect.any(String) });
  });

  test('a token without the admin role is refused (exit 2), naming the role it needs', async () => {
    const run = await cli(['tokens', 'create', '--name', 'mallory', '--role', 'admin', '--api-url', apiUrl], cleanEnv({ API_TOKEN: (await operatorSecret()) }));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('POST /tokens needs the admin role; token "alice" has the operator role');
    expect((await cli(['tokens', 'list', '--json'], env)).stdout).not.toContain('mallory');
  });
});

/** Alice's (operator) secret: a new one, since the first was printed once only. */
async function operatorSecret(): Promise<string> {
  await cli(['tokens', 'revoke', 'alice'], env);
  return JSON.parse((await cli(['tokens', 'create', '--name', 'alice', '--role', 'operator', '--json'], env)).stdout).secret;
}
