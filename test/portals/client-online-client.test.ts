import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  ClientOnlineClient,
  ClientOnlineError,
  type CoClientPush,
  type CoUserPush,
} from '../../src/portals/client-online/client';
import { retryAfterFrom } from '../../src/portals/client-online/errors';
import {
  startClientOnlineSimulator,
  type ClientOnlineSimulator,
  type SimulatorState,
} from '../../src/simulators/client-online/simulator';
import { callHook, rejection, setSim, simHook, simState, startStandIn } from '../support/simulator-http';

let sim: ClientOnlineSimulator;

const hook = (path: 'reset' | 'faults', body?: object) => setSim(sim.origin, path, body);
const state = () => simState<SimulatorState>(sim.origin);
/** The API calls the simulator has seen since the last reset, per method and route. */
const calls = async (): Promise<Record<string, number>> => (await simHook(sim.origin, 'GET', 'calls')) as Record<string, number>;

type ScriptRule = { method: string; path: string; times?: number; status?: number; headers?: Record<string, string> };
/** Scripts the simulator's answers (see src/simulators/script.ts). */
async function script(rules: ScriptRule[]): Promise<void> {
  expect((await callHook(sim.origin, 'POST', 'script', { rules })).status).toBe(204);
}
/** The error a promise rejects with; fails the test when it resolves. */
const failure = (promise: Promise<unknown>) => rejection(ClientOnlineError, promise);

beforeAll(async () => {
  sim = await startClientOnlineSimulator();
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await hook('reset');
});

function clientFor(
  target: ClientOnlineSimulator,
  extra: { requestTimeoutMs?: number; pageSize?: number; apiKey?: string; maxRateLimitWaitMs?: number } = {},
) {
  return new ClientOnlineClient({ baseUrl: target.baseUrl, apiKey: target.apiKey, ...extra });
}

const user = (ref: string, email: string, extra: Partial<CoUserPush> = {}): CoUserPush => ({
  ref,
  firstName: 'Jan',
  infix: 'van',
  lastName: 'Dijk',
  initials: 'J.',
  email,
  mobile: '0612345678',
  ...extra,
});

const company = (users: CoUserPush[], extra: Partial<CoClientPush> = {}): CoClientPush => ({
  name: 'Bakkerij B.V.',
  kind: 'company',
  address: 'Main street 1',
  postcode: '1234 AB',
  city: 'Utrecht',
  country: 'NL',
  phone: null,
  email: 'info@bakkerij.example',
  users,
  ...extra,
});

describe('clients', () => {
  test('push, get, list and delete a client', async () => {
    const client = clientFor(sim);
    expect(await client.getClient('1001')).toBeUndefined();
    const pushed = await client.pushClient('1001', company([user('c-1', 'jan@example.nl')]));
    expect(pushed).toEqual({
      clientNumber: '1001',
      name: 'Bakkerij B.V.',
      kind: 'company',
      address: 'Main street 1',
      postcode: '1234 AB',
      city: 'Utrecht',
      country: 'NL',
      phone: null,
      email: 'info@bakkerij.example',
      bsn: null,
      users: [{ ref: 'c-1', loginId: expect.any(String), firstName: 'Jan', infix: 'van', lastName: 'Dijk', initials: 'J.', email: 'jan@example.nl', mobile: '0612345678' }],
    });
    expect(await client.getClient('1001')).toEqual(pushed);

    const repushed = await client.pushClient('1001', company([user('c-1', 'jan@example.nl', { infix: null })], { city: 'Amersfoort' }));
    expect(repushed).toMatchObject({ city: 'Amersfoort', users: [{ loginId: pushed.users[0]!.loginId, infix: null }] });
    expect((await state()).mails).toEqual([{ to: 'jan@example.nl', kind: 'credentials', ref: 'c-1', at: expect.any(String) }]);

    const person = await client.pushClient('2001', { name: 'J. van Dijk', kind: 'person', bsn: '123456782', users: [user('c-1', 'jan@example.nl')] });
    expect(person).toMatchObject({ kind: 'person', bsn: '123456782', address: null, users: [{ ref: 'c-1' }] });
    expect((await client.listClients()).map((listed) => listed.clientNumber)).toEqual(['1001', '2001']);

    expect(await client.deleteClient('1001')).toBe(true);
    expect(await client.deleteClient('1001')).toBe(false);
    expect(await client.getClient('1001')).toBeUndefined();
    expect((await state()).logins.map((login) => [login.ref, login.clients])).toEqual([['c-1', ['2001']]]);
  });

  test('listClients pages through every page', async () => {
    const client = clientFor(sim, { pageSize: 2 });
    expect(await client.listClients()).toEqual([]);
    for (const number of ['1', '2', '3', '4', '5']) await client.pushClient(number, company([user(`c-${number}`, `c${number}@example.nl`)]));
    const listed = await client.listClients();
    expect(listed.map((item) => item.clientNumber)).toEqual(['1', '2', '3', '4', '5']);
    expect(listed[4]!.users[0]).toMatchObject({ ref: 'c-5', email: 'c5@example.nl' });
  });

  test('client numbers are one path segment', async () => {
    const client = clientFor(sim);
    const error = await failure(client.getClient('10/01'));
    expect(error).toMatchObject({ code: 'invalid', status: 400 });
    expect(error.message).toContain('GET /api/v1/clients/10%2F01');
  });
});

describe('rate limit', () => {
  test('a 429 waits for Retry-After and repeats only the refused request: the call succeeds, one mail', async () => {
    const client = clientFor(sim);
    await client.pushClient('1001', company([user('c-1', 'jan@example.nl')]));
    await script([{ method: 'PUT', path: '^/api/v1/clients/1002$', times: 1, status: 429, headers: { 'retry-after': '1' } }]);
    const started = performance.now();
    expect(await client.getClient('1002')).toBeUndefined();
    const pushed = await client.pushClient('1002', company([user('c-1', 'jan@example.nl'), user('c-2', 'piet@example.nl')]));
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(pushed.users.map((pushedUser) => pushedUser.ref)).toEqual(['c-1', 'c-2']);
    expect(await calls()).toEqual({ 'PUT /api/v1/clients/:clientNumber': 3, 'GET /api/v1/clients/:clientNumber': 1 });
    expect((await state()).mails.map((mail) => mail.ref)).toEqual(['c-1', 'c-2']);
  });

  test('the bound is on all waits of one call together, the pages of a list included; "again now" still waits', async () => {
    const client = clientFor(sim, { pageSize: 1, maxRateLimitWaitMs: 250 });
    for (const number of ['1', '2', '3']) await client.pushClient(number, company([user(`c-${number}`, `c${number}@example.nl`)]));
    // Retry-After 0 is waited as 100 ms: two such waits fit in 250 ms, a third does not.
    const limited = { status: 429, headers: { 'retry-after': '0' } };
    await script([
      { method: 'GET', path: '^/api/v1/clients$', times: 1 },
      { method: 'GET', path: '^/api/v1/clients$', times: 1, ...limited },
      { method: 'GET', path: '^/api/v1/clients$', times: 1 },
      { method: 'GET', path: '^/api/v1/clients$', times: 2, ...limited },
    ]);
    const started = performance.now();
    const error = await failure(client.listClients());
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(error).toMatchObject({ code: 'rate-limited', status: 429 });
    // Page 1; page 2 refused, then answered; page 3 refused twice, and the bound is reached.
    expect((await calls())['GET /api/v1/clients']).toBe(5);
    expect(await client.listClients()).toHaveLength(3);
  });

  test('an abort during the wait rejects at once, and the refused push is not sent again', async () => {
    const client = clientFor(sim);
    await script([{ method: 'PUT', path: '^/api/v1/clients/', status: 429, headers: { 'retry-after': '30' } }]);
    const controller = new AbortController();
    let settled = false;
    const pending = failure(client.pushClient('1001', company([user('c-1', 'jan@example.nl')]), { signal: controller.signal }));
    void pending.finally(() => (settled = true));
    await vi.waitFor(async () => expect((await calls())['PUT /api/v1/clients/:clientNumber']).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false); // waiting
    const abortedAt = performance.now();
    controller.abort();
    const error = await pending;
    expect(performance.now() - abortedAt).toBeLessThan(500);
    // What an aborted request throws: retryable, and not the rate limit's error.
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await calls())['PUT /api/v1/clients/:clientNumber']).toBe(1);
    expect(await state()).toEqual({ clients: [], logins: [], mails: [] });
  });
});

describe('counting calls per view', () => {
  test('a counter view counts GETs as reads and the rest as writes, a repeat after a 429 again', async () => {
    const client = clientFor(sim, { pageSize: 1 });
    const counter = { reads: 0, writes: 0 };
    const counted = client.withCallCounter(counter);
    await counted.pushClient('1001', company([user('c-1', 'jan@example.nl')]));
    await counted.pushClient('1002', company([user('c-1', 'jan@example.nl')]));
    expect(counter).toEqual({ reads: 0, writes: 2 });
    await counted.getClient('1001');
    await counted.getClient('9999');
    // Two clients at one a page: the total ends the paging after two pages.
    expect(await counted.listClients()).toHaveLength(2);
    expect(counter).toEqual({ reads: 4, writes: 2 });
    await script([{ method: 'DELETE', path: '^/api/v1/clients/', times: 1, status: 429, headers: { 'retry-after': '0' } }]);
    expect(await counted.deleteClient('1002')).toBe(true);
    expect(await counted.deleteClient('1002', { signal: new AbortController().signal })).toBe(false);
    expect(counter).toEqual({ reads: 4, writes: 5 });
    // The client itself, and another view, count nothing into this counter.
    await client.listClients();
    await client.withCallCounter({ reads: 0, writes: 0 }).getClient('1001');
    expect(counter).toEqual({ reads: 4, writes: 5 });
    expect(await calls()).toEqual({
      'PUT /api/v1/clients/:clientNumber': 2,
      'GET /api/v1/clients/:clientNumber': 3,
      'GET /api/v1/clients': 3,
      'DELETE /api/v1/clients/:clientNumber': 3,
    });
  });
});

describe('errors', () => {
  test('a taken username is username-taken, not retryable, and the message names no email', async () => {
    const client = clientFor(sim);
    await client.pushClient('1001', company([user('c-1', 'jan@example.nl')]));
    const error = await failure(client.pushClient('1002', company([user('c-2', 'JAN@example.nl')])));
    expect(error).toMatchObject({ code: 'username-taken', status: 409, retryable: false });
    expect(error.message).toBe(
      'Client Online refused PUT /api/v1/clients/1002 (409 username-taken): another Client Online login already has ' +
        'this email as username',
    );
    expect(error.message).not.toMatch(/@|jan/i);
    expect((await state()).clients.map((stored) => stored.clientNumber)).toEqual(['1001']);
  });

  test('a user without email is invalid, not retryable', async () => {
    const client = clientFor(sim);
    const error = await failure(client.pushClient('1001', company([user('c-1', '')])));
    expect(error).toMatchObject({ code: 'invalid', status: 400, retryable: false });
    // The service's own text is never passed on: it may quote the data it refused.
    expect(error.message).toBe(
      'Client Online refused PUT /api/v1/clients/1001 (400 invalid): the data breaks a Client Online rule (required field, length or format)',
    );
  });

  test('a wrong API key is unauthorized, a failure of the portal, retried until fixed', async () => {
    const error = await failure(clientFor(sim, { apiKey: 'wrong' }).listClients());
    expect(error).toMatchObject({ code: 'unauthorized', status: 401, retryable: true, scope: 'portal' });
    expect(error.message).toBe(
      'Client Online refused GET /api/v1/clients (401 unauthorized): check the configured Client Online API key',
    );
  });

  test('a 429 whose Retry-After is past the wait bound is rate-limited and retryable, with retryAfterMs from Retry-After', async () => {
    const client = clientFor(sim, { maxRateLimitWaitMs: 500 });
    await hook('faults', { seed: 3, rateLimitRate: 1 });
    const started = performance.now();
    const error = await failure(client.pushClient('1001', company([user('c-1', 'jan@example.nl')])));
    expect(performance.now() - started).toBeLessThan(500);
    expect((await calls())['PUT /api/v1/clients/:clientNumber']).toBe(1);
    expect(error).toMatchObject({ code: 'rate-limited', status: 429, retryable: true });
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(error.retryAfterMs! % 1000).toBe(0);
    expect(error.message).not.toMatch(/@|jan/i);
    expect(retryAfterFrom(new Headers())).toBe(1000);
    expect(retryAfterFrom(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterFrom(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 7_000)).toBe(3000);
  });

  test('an empty bucket is waited out for its Retry-After; past the bound it is rate-limited', async () => {
    const limited = await startClientOnlineSimulator({ rateLimit: { burst: 1, replenishPerSecond: 2 } });
    try {
      const client = clientFor(limited);
      await client.getClient('1');
      const started = performance.now();
      expect(await client.getClient('1')).toBeUndefined();
      expect(performance.now() - started).toBeGreaterThanOrEqual(990);
      expect((await simHook(limited.origin, 'GET', 'calls'))['GET /api/v1/clients/:clientNumber']).toBe(3);
      const error = await failure(clientFor(limited, { maxRateLimitWaitMs: 900 }).getClient('1'));
      expect(error).toMatchObject({ code: 'rate-limited', retryable: true, retryAfterMs: 1000 });
    } finally {
      await limited.close();
    }
  });

  test('5xx is server and retryable; the push changed nothing', async () => {
    const client = clientFor(sim);
    await hook('faults', { errorRate: 1 });
    const error = await failure(client.pushClient('1001', company([user('c-1', 'jan@example.nl')])));
    expect(error).toMatchObject({ code: 'server', retryable: true });
    expect([500, 503]).toContain(error.status);
    expect(error.message).not.toMatch(/@|jan/i);
    expect((await state()).mails).toEqual([]);
  });

  test('a hung request times out, retryable', async () => {
    const client = clientFor(sim, { requestTimeoutMs: 200 });
    await hook('faults', { hangRate: 1 });
    const started = performance.now();
    const error = await failure(client.pushClient('1001', company([user('c-1', 'jan@example.nl')])));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(error.status).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.message).toBe(
      'Client Online did not answer PUT /api/v1/clients/1001 in time (timeout): Client Online did not answer in time; retried later',
    );
  });

  test('a dropped connection is network, retryable', async () => {
    const client = clientFor(sim);
    await hook('faults', { dropRate: 1 });
    const error = await failure(client.deleteClient('1001'));
    expect(error).toMatchObject({ code: 'network', retryable: true });
    expect(error.message).toMatch(/^Client Online connection failed on DELETE \/api\/v1\/clients\/1001 \(network/);
  });

  test('a refused connection is network, retryable', async () => {
    const gone = await startClientOnlineSimulator();
    const client = clientFor(gone);
    await gone.close();
    const error = await failure(client.listClients());
    expect(error).toMatchObject({ code: 'network', retryable: true });
    expect(error.message).not.toContain('127.0.0.1');
  });

  test('a slow push in flight when another push makes its ref known meanwhile answers conflict, which is retryable', async () => {
    const slow = await startClientOnlineSimulator({ processingDelayMs: 100 });
    try {
      const client = clientFor(slow);
      const outcomes = await Promise.allSettled([
        client.pushClient('2001', { name: 'J. van Dijk', kind: 'person', users: [user('p-1', 'jan@example.nl')] }),
        client.pushClient('1001', company([user('p-1', 'jan@example.nl')])),
      ]);
      // One wins (which one is up to the network), the other meets the login it just created.
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
      const lost = outcomes.findIndex((outcome) => outcome.status === 'rejected');
      const error = (outcomes[lost] as PromiseRejectedResult).reason as ClientOnlineError;
      expect(error).toMatchObject({ code: 'conflict', status: 409, retryable: true });
      expect(error.message).toBe(
        'Client Online refused PUT /api/v1/clients/' + (lost === 0 ? '2001' : '1001') +
          ' (409 conflict): a login of this push was created meanwhile by a concurrent push; retried',
      );
      // Pushed again (the retry), the ref is known: the same login, no second mail.
      const again = lost === 0
        ? await client.pushClient('2001', { name: 'J. van Dijk', kind: 'person', users: [user('p-1', 'jan@example.nl')] })
        : await client.pushClient('1001', company([user('p-1', 'jan@example.nl')]));
      expect(again.users[0]!.ref).toBe('p-1');
      const { logins, mails } = await simState<SimulatorState>(slow.origin);
      expect(logins.map((login) => login.clients.length)).toEqual([2]);
      expect(mails).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  test('an answer of the wrong shape is bad-response, a failure of the portal, retried', async () => {
    // A stand-in service that answers in shapes the client does not know.
    const standIn = await startStandIn((request, response) => {
      response.setHeader('content-type', 'application/json');
      if (request.url?.startsWith('/api/v1/clients?')) response.end(JSON.stringify({ items: [{ clientNumber: 1 }], page: 1, pageSize: 100, total: 1 }));
      else if (request.method === 'DELETE') response.end('');
      else response.end('not json');
    });
    try {
      const client = new ClientOnlineClient({ baseUrl: standIn.origin, apiKey: 'k' });
      const shape = await failure(client.listClients());
      expect(shape).toMatchObject({ code: 'bad-response', status: 200, retryable: true, scope: 'portal' });
      expect(shape.message).toBe(
        'Client Online answered GET /api/v1/clients unexpectedly (200 bad-response: unexpected shape at items.0.clientNumber): ' +
          'Client Online answered in a shape this client does not know; check the API version',
      );
      expect((await failure(client.getClient('1'))).code).toBe('bad-response');
      expect(await client.deleteClient('1')).toBe(true);
    } finally {
      await standIn.close();
    }
  });
});
