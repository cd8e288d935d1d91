import { Writable } from 'node:stream';
import { expect, test } from 'vitest';
import { buildApi } from '../src/api/server';
import type { Db } from '../src/db';
import { createLogger, redacted } from '../src/logging';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger('info', stream), lines };
}

test('personal data and secrets are redacted at any depth, ids and counts stay', () => {
  const { log, lines } = capture();
  log.info(
    {
      clientNumber: '1001',
      contact: { id: 12, email: 'anna@example.test', private: { bsn: '123456782', residentialStreet: 'Kerkstraat 1' } },
      users: [{ ref: 'p-5', firstName: 'Anna', lastName: 'Dijk', privateMobile: '06-1' }],
      request: { headers: { authorization: 'Bearer secret-token' } },
      counts: { contactsUpdated: 2 },
    },
    'sync done',
  );
  const text = JSON.stringify(lines);
  for (const value of ['anna@example.test', '123456782', 'Kerkstraat 1', 'Anna', 'Dijk', '06-1', 'secret-token']) {
    expect(text).not.toContain(value);
  }
  expect(lines[0]).toMatchObject({
    msg: 'sync done',
    clientNumber: '1001',
    contact: { id: 12, email: redacted, private: { bsn: redacted, residentialStreet: redacted } },
    users: [{ ref: 'p-5', firstName: redacted }],
    counts: { contactsUpdated: 2 },
  });
});

test('an error keeps its message and stack; a cycle does not hang the logger', () => {
  const { log, lines } = capture();
  const cyclic: Record<string, unknown> = { id: 1 };
  cyclic.self = cyclic;
  log.error({ err: new Error('client 1001: CaseWare Cloud failed'), cyclic }, 'failed');
  expect(lines[0]).toMatchObject({ err: { message: 'client 1001: CaseWare Cloud failed' }, cyclic: { id: 1, self: '[circular]' } });
  expect((lines[0]?.err as { stack?: string }).stack).toContain('Error: client 1001');
});

test("an error keeps type, message, stack, code and causes, not the driver's detail that quotes the row", () => {
  const { log, lines } = capture();
  const driverError = Object.assign(new Error('duplicate key value violates unique constraint "portal_identities_login"'), {
    code: '23505',
    detail: 'Key (portal, login_key)=(caseware, anna@example.test) already exists.',
    where: 'row (Anna, Dijk)',
  });
  const failure = Object.assign(new Error('client 1001: the ledger refused', { cause: driverError }), { details: [{ firstName: 'Anna' }] });
  log.error({ err: failure }, 'failed');
  const text = JSON.stringify(lines);
  for (const value of ['anna@example.test', 'Anna', 'Dijk']) expect(text).not.toContain(value);
  expect(lines[0]?.err).toMatchObject({
    type: 'Error',
    message: 'client 1001: the ledger refused',
    cause: { message: 'duplicate key value violates unique constraint "portal_identities_login"', code: '23505' },
  });
});

test("the API's lines go through the service's logger: no query string, no body, no token", async () => {
  const { log, lines } = capture();
  const unreachable = { raw: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) } as unknown as Db;
  const token = 'api-token-0123456789abcdef';
  const api = await buildApi({ db: unreachable, apiToken: token, log: log.child({ component: 'api' }) });
  try {
    expect((await api.inject({ method: 'GET', url: '/health?email=anna@example.test' })).statusCode).toBe(503);
    await api.inject({ method: 'POST', url: '/clients?name=Anna', headers: { authorization: `Bearer ${token}` }, payload: { name: 'Anna Dijk' } });
  } finally {
    await api.close();
  }
  const text = JSON.stringify(lines);
  for (const value of ['anna@example.test', 'Anna', token]) expect(text).not.toContain(value);
  expect(lines).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ component: 'api', msg: 'incoming request', req: expect.objectContaining({ method: 'POST', url: '/clients' }) }),
      expect.objectContaining({ component: 'api', msg: 'health check: database unreachable', err: expect.objectContaining({ message: expect.stringContaining('ECONNREFUSED') }) }),
      expect.objectContaining({ component: 'api', msg: 'request completed', req: expect.objectContaining({ method: 'GET', url: '/health' }), res: { statusCode: 503 } }),
    ]),
  );
  // A read logs its incoming line at debug; its completed line at info only because it failed.
  expect(lines).not.toContainEqual(expect.objectContaining({ msg: 'incoming request', req: expect.objectContaining({ method: 'GET' }) }));
});
