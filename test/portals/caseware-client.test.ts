import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { CaseWareClient, CaseWareError, type CwContactFields, type CwEntityFields } from '../../src/portals/caseware/client';
import { cwQuote } from '../../src/portals/caseware/api';
import { retryAfterFrom } from '../../src/portals/caseware/errors';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState } from '../../src/simulators/caseware/simulator';
import { callHook, rawCall, rejection, setSim, simHook, simState, startStandIn } from '../support/simulator-http';

let sim: CaseWareSimulator;

const hook = (path: 'reset' | 'faults', body?: object) => setSim(sim.origin, path, body);
const state = () => simState<SimulatorState>(sim.origin);
/** The API calls the simulator has seen since the last reset, per method and route. */
const calls = async (): Promise<Record<string, number>> => (await simHook(sim.origin, 'GET', 'calls')) as Record<string, number>;

type ScriptRule = { method: string; path: string; times?: number; delayMs?: number; status?: number; headers?: Record<string, string> };
/** Scripts the simulator's answers (see src/simulators/script.ts). */
async function script(rules: ScriptRule[]): Promise<void> {
  expect((await callHook(sim.origin, 'POST', 'script', { rules })).status).toBe(204);
}
/** The error a promise rejects with; fails the test when it resolves. */
const failure = (promise: Promise<unknown>) => rejection(CaseWareError, promise);

beforeAll(async () => {
  sim = await startCaseWareSimulator();
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await hook('reset');
});

function clientFor(target: CaseWareSimulator, extra: { requestTimeoutMs?: number; pageSize?: number; maxRateLimitWaitMs?: number } = {}) {
  return new CaseWareClient({ baseUrl: target.baseUrl, clientId: target.clientId, clientSecret: target.clientSecret, ...extra });
}

const entityFields = (entityNo: string, extra: Partial<CwEntityFields> = {}): CwEntityFields => ({
  Name: `Company ${entityNo}`,
  EntityNo: entityNo,
  Address: 'Main street 1',
  PostalCode: '1234 AB',
  City: 'Utrecht',
  Country: 'NL',
  Phone: null,
  Email: null,
  Website: null,
  Facebook: null,
  Twitter: null,
  LinkedIn: null,
  ...extra,
});

const contactFields = (email: string, extra: Partial<CwContactFields> = {}): CwContactFields => ({
  FirstName: 'Jan',
  MiddleName: 'van',
  LastName: 'Dijk',
  Initials: 'J.',
  Email: email,
  Phone: null,
  MobilePhone: '0612345678',
  ...extra,
});

describe('entities and contacts', () => {
  test('a search on a unique value stops at the page that holds it: found is one call, not found one (the empty page)', async () => {
    const client = clientFor(sim);
    await client.createEntity(entityFields('1201'));
    await client.createContact(contactFields('uniek@example.nl'));
    const before = await calls();
    expect(await client.findEntityByNumber('1201')).toMatchObject({ EntityNo: '1201' });
    expect(await client.findUserByEmail('UNIEK@example.nl')).toMatchObject({ Email: 'uniek@example.nl' });
    expect(await client.findEntityByNumber('1202')).toBeUndefined();
    const after = await calls();
    expect((after['GET /entities'] ?? 0) - (before['GET /entities'] ?? 0)).toBe(2);
    expect((after['GET /users'] ?? 0) - (before['GET /users'] ?? 0)).toBe(1);
  });

  test('create, find and update an entity', async () => {
    const client = clientFor(sim);
    expect(await client.findEntityByNumber('1001')).toBeUndefined();
    const created = await client.createEntity(entityFields('1001'));
    expect(created).toEqual({ CWGuid: expect.any(String), ...entityFields('1001') });
    expect(await client.findEntityByNumber('1001')).toEqual(created);
    expect(await client.getEntity(created.CWGuid)).toEqual(created);
    const updated = await client.updateEntity(created.CWGuid, { City: 'Amersfoort', Website: 'https://example.nl' });
    expect(updated).toMatchObject({ CWGuid: created.CWGuid, City: 'Amersfoort', Website: 'https://example.nl', Name: 'Company 1001' });
  });

  test('create, find, update, deactivate and reactivate a contact', async () => {
    const client = clientFor(sim);
    const created = await client.createContact(contactFields('jan@example.nl'));
    expect(created).toMatchObject({ OwnerType: 'Contact', Type: 'A', InActiveDate: null, ...contactFields('jan@example.nl') });
    expect(await client.findUserByEmail('JAN@example.nl')).toEqual(created);
    expect(await client.findUserByEmail('piet@example.nl')).toBeUndefined();
    const updated = await client.updateContact(created.CWGuid, contactFields('jan.dijk@example.nl', { MiddleName: null }));
    expect(updated).toMatchObject({ Email: 'jan.dijk@example.nl', MiddleName: null, LastName: 'Dijk' });
    expect(await client.deactivateUser(created.CWGuid, '2025-06-30')).toMatchObject({ Type: 'I', InActiveDate: '2025-06-30' });
    expect(await client.reactivateUser(created.CWGuid)).toMatchObject({ Type: 'A', InActiveDate: null });
    expect((await state()).mails).toEqual([{ to: 'jan@example.nl', kind: 'credentials', at: expect.any(String) }]);
  });

  test('get* answer undefined for an unknown CWGuid; other calls throw not-found', async () => {
    const client = clientFor(sim);
    expect(await client.getEntity('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    expect(await client.getUser('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    const error = await failure(client.updateContact('00000000-0000-0000-0000-000000000000', { FirstName: 'X' }));
    expect(error).toMatchObject({ code: 'not-found', status: 404, retryable: false });
  });

  test("values with ' and \\ in them are quoted and escaped in searches", async () => {
    expect(cwQuote("O'Brien\\x")).toBe("'O\\'Brien\\\\x'");
    const client = clientFor(sim);
    const tricky = await client.createEntity(entityFields("O'B\\1"));
    await client.createEntity(entityFields('OB1'));
    expect(await client.findEntityByNumber("O'B\\1")).toEqual(tricky);
    const contact = await client.createContact(contactFields("o'brien@example.nl"));
    expect(await client.findUserByEmail("o'brien@example.nl")).toEqual(contact);
  });

  test('lists page through every page', async () => {
    const client = clientFor(sim, { pageSize: 2 });
    for (const number of ['1', '2', '3', '4', '5']) await client.createContact(contactFields(`c${number}@example.nl`));
    const roles = await client.listRoles();
    expect(roles.length).toBeGreaterThan(2);
    expect(await client.findRoleByName('Contact - Entity Staff')).toMatchObject({ Name: 'Contact - Entity Staff' });
    const company = await client.createEntity(entityFields('1'));
    const users = (await state()).users.map((user) => user.CWGuid);
    const role = (await client.findRoleByName('Contact - Entity Access'))!;
    await client.shareEntity(company.CWGuid, users, role.CWGuid);
    const shared = await client.listEntityRoleAssignments(company.CWGuid);
    expect(shared).toHaveLength(5);
    expect(shared.map((assignment) => assignment.userId).sort()).toEqual([...users].sort());
    await client.unshareEntity(company.CWGuid, users.slice(0, 4), role.CWGuid);
    expect(await client.listEntityRoleAssignments(company.CWGuid)).toEqual([{ userId: users[4], roleId: role.CWGuid }]);
  });

  test('group membership', async () => {
    const client = clientFor(sim);
    const group = (await client.findGroupByName('Clients'))!;
    expect(group).toBeDefined();
    expect(await client.findGroupByName('Nope')).toBeUndefined();
    const user = await client.createContact(contactFields('jan@example.nl'));
    await client.setGroupMembership(group.CWGuid, user.CWGuid, true);
    await client.setGroupMembership(group.CWGuid, user.CWGuid, true);
    expect(await client.listGroupMembers(group.CWGuid)).toEqual([user.CWGuid]);
    await client.setGroupMembership(group.CWGuid, user.CWGuid, false);
    expect((await state()).groupAssignments).toEqual([]);
  });
});

describe('bulk reads', () => {
  test('listEntities, listContactUsers and listAllRoleAssignments read every page of a large firm; staff are no contacts', async () => {
    const large = await startCaseWareSimulator({ rateLimit: { burst: 1_000_000, replenishPerSecond: 1_000_000 } });
    try {
      const client = clientFor(large);
      /** Runs `work` for 0..count-1, a few at a time. */
      const inParallel = async (count: number, work: (index: number) => Promise<void>) => {
        let next = 0;
        await Promise.all(Array.from({ length: 16 }, async () => {
          while (next < count) await work(next++);
        }));
      };
      const contacts: string[] = [];
      await inParallel(3_000, async (index) => {
        contacts[index] = (await client.createContact(contactFields(`c${index}@example.nl`))).CWGuid;
      });
      const { Token: token } = (await rawCall('POST', `${large.baseUrl}/auth/token`, {}, { ClientId: large.clientId, ClientSecret: large.clientSecret, Language: 'en' })).body;
      for (const email of ['staff1@firm.example', 'staff2@firm.example']) {
        const staff = await rawCall('POST', `${large.baseUrl}/users`, { authorization: `Bearer ${token}` }, { OwnerType: 'Staff', Email: email });
        expect(staff.status).toBe(201);
      }
      const role = (await client.findRoleByName('Contact - Entity Access'))!.CWGuid;
      await inParallel(300, async (index) => {
        const entity = await client.createEntity(entityFields(`E${index}`));
        await client.shareEntity(entity.CWGuid, contacts.slice(index * 10, index * 10 + 10), role);
      });
      const before = await simHook(large.origin, 'GET', 'calls');

      const started = performance.now();
      const [listedEntities, listedContacts, listedAssignments] = [
        await client.listEntities(),
        await client.listContactUsers(),
        await client.listAllRoleAssignments(),
      ];
      expect(performance.now() - started).toBeLessThan(5_000);

      const held = await simState<SimulatorState>(large.origin);
      expect(listedEntities).toEqual(held.entities);
      expect(listedContacts).toEqual(held.users.filter((user) => user.OwnerType === 'Contact'));
      expect(new Set(listedContacts.map((user) => user.CWGuid)).size).toBe(3_000);
      expect(listedAssignments).toEqual(held.roleAssignments);
      expect(new Set(listedAssignments.map(({ entityId, userId }) => `${entityId}/${userId}`)).size).toBe(3_000);
      const after = await simHook(large.origin, 'GET', 'calls');
      // Pages of 100 and the empty page that ends each list.
      expect(after['GET /entities'] - (before['GET /entities'] ?? 0)).toBe(4);
      expect(after['GET /users'] - (before['GET /users'] ?? 0)).toBe(31);
      expect(after['GET /role-assignments']).toBe(31);
    } finally {
      await large.close();
    }
  });

  test('deleteEntity deletes the entity and its role assignments, as a person in the portal would; an unknown one is not-found', async () => {
    const client = clientFor(sim);
    const [gone, kept] = [await client.createEntity(entityFields('1')), await client.createEntity(entityFields('2'))];
    const contact = await client.createContact(contactFields('jan@example.nl'));
    const role = (await client.findRoleByName('Contact - Entity Access'))!.CWGuid;
    await client.shareEntity(gone.CWGuid, [contact.CWGuid], role);
    await client.shareEntity(kept.CWGuid, [contact.CWGuid], role);
    await client.deleteEntity(gone.CWGuid);
    expect(await client.getEntity(gone.CWGuid)).toBeUndefined();
    expect(await client.listEntities()).toEqual([kept]);
    expect(await client.listAllRoleAssignments()).toEqual([{ entityId: kept.CWGuid, userId: contact.CWGuid, roleId: role }]);
    expect(await client.listContactUsers()).toEqual([contact]);
    const error = await failure(client.deleteEntity(gone.CWGuid));
    expect(error).toMatchObject({ code: 'not-found', status: 404, retryable: false });
    expect(error.message).toBe(`CaseWare Cloud refused DELETE /entities/${gone.CWGuid} (404 not-found): the record does not exist (any more) in CaseWare Cloud`);
  });
});

describe('rate limit', () => {
  test('a 429 waits for Retry-After and repeats only the refused request: the call succeeds', async () => {
    const client = clientFor(sim);
    const contact = await client.createContact(contactFields('jan@example.nl'));
    await script([{ method: 'PATCH', path: '^/users/', times: 1, status: 429, headers: { 'retry-after': '1' } }]);
    const before = await calls();
    const started = performance.now();
    expect(await client.getUser(contact.CWGuid)).toEqual(contact);
    const updated = await client.updateContact(contact.CWGuid, { FirstName: 'Johan' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(updated).toMatchObject({ CWGuid: contact.CWGuid, FirstName: 'Johan' });
    const after = await calls();
    expect(after['GET /users/:guid']).toBe(1);
    expect(after['PATCH /users/:guid']).toBe(2);
    expect(after['POST /users']).toBe(1);
    expect(after['POST /auth/token']).toBe(before['POST /auth/token']);
  });

  test('the bound is on all waits of one call together, its pages included', async () => {
    const client = clientFor(sim, { pageSize: 2, maxRateLimitWaitMs: 500 });
    // Each 429 asks for 200 ms through the token-bucket headers: two fit in 500 ms, a third does not.
    const limited = { status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-replenish-rate': '5' } };
    await script([
      { method: 'GET', path: '^/roles$', times: 1 },
      { method: 'GET', path: '^/roles$', times: 2, ...limited },
      { method: 'GET', path: '^/roles$', times: 1 },
      { method: 'GET', path: '^/roles$', times: 1, ...limited },
    ]);
    const started = performance.now();
    const error = await failure(client.listRoles());
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(error).toMatchObject({ code: 'rate-limited', status: 429, retryAfterMs: 200 });
    // Page 1; page 2 refused twice, then answered; page 3 refused, and the bound is reached.
    expect((await calls())['GET /roles']).toBe(5);
    // The next call has a bound of its own.
    expect((await client.listRoles()).length).toBeGreaterThan(2);
  });

  test('a token request that meets the rate limit is waited out too', async () => {
    await script([{ method: 'POST', path: '^/auth/token$', times: 1, status: 429, headers: { 'retry-after': '0' } }]);
    expect((await clientFor(sim).listRoles()).length).toBeGreaterThan(0);
    expect(await calls()).toMatchObject({ 'POST /auth/token': 2, 'GET /roles': 2 });
  });

  test("an abort during the wait rejects at once, and the refused request is not sent again", async () => {
    const client = clientFor(sim);
    const contact = await client.createContact(contactFields('jan@example.nl'));
    await script([{ method: 'PATCH', path: '^/users/', status: 429, headers: { 'retry-after': '30' } }]);
    const controller = new AbortController();
    let settled = false;
    const pending = failure(client.withSignal(controller.signal).updateContact(contact.CWGuid, { FirstName: 'Johan' }));
    void pending.finally(() => (settled = true));
    await vi.waitFor(async () => expect((await calls())['PATCH /users/:guid']).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false); // waiting
    const abortedAt = performance.now();
    controller.abort();
    const error = await pending;
    expect(performance.now() - abortedAt).toBeLessThan(500);
    // What an aborted request throws: retryable, and not the rate limit's error.
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await calls())['PATCH /users/:guid']).toBe(1);
    expect((await state()).users[0]?.FirstName).toBe('Jan');
  });
});

describe('counting calls per view', () => {
  test('a counter view counts GETs as reads and the rest as writes, repeats included, never the token request', async () => {
    const client = clientFor(sim, { pageSize: 2 });
    const counter = { reads: 0, writes: 0 };
    const counted = client.withCallCounter(counter);
    const entity = await counted.createEntity(entityFields('1'));
    expect(counter).toEqual({ reads: 0, writes: 1 });
    await counted.getEntity(entity.CWGuid);
    await counted.updateEntity(entity.CWGuid, { City: 'Zeist' });
    expect(counter).toEqual({ reads: 1, writes: 2 });
    // Four roles at two a page: three pages, the last one empty.
    expect(await counted.listRoles()).toHaveLength(4);
    expect(counter).toEqual({ reads: 4, writes: 2 });
    // A request refused for the rate limit, and one met with an expired token, are sent again: both count twice.
    await script([{ method: 'PATCH', path: '^/entities/', times: 1, status: 429, headers: { 'retry-after': '0' } }]);
    await counted.updateEntity(entity.CWGuid, { City: 'Utrecht' });
    await hook('faults', { expireTokensNow: true });
    await counted.getEntity(entity.CWGuid);
    expect(counter).toEqual({ reads: 6, writes: 4 });
    // The client itself, and another view, count nothing into this counter.
    await client.listGroups();
    await client.withCallCounter({ reads: 0, writes: 0 }).getEntity(entity.CWGuid);
    expect(counter).toEqual({ reads: 6, writes: 4 });
    // What the simulator saw, less the token requests and the uncounted calls.
    const seen = await calls();
    expect(seen['POST /auth/token']).toBe(2);
    const reads = Object.entries(seen).filter(([route]) => route.startsWith('GET ')).reduce((sum, [, n]) => sum + n, 0);
    const writes = Object.entries(seen).filter(([route]) => !route.startsWith('GET ') && route !== 'POST /auth/token').reduce((sum, [, n]) => sum + n, 0);
    expect({ reads: reads - 3, writes }).toEqual(counter); // listGroups: 2 pages; the other view's get: 1
  });

  test('views combine in either order: the view counts and its signal aborts', async () => {
    const client = clientFor(sim);
    await client.listRoles();
    await script([{ method: 'GET', path: '^/groups$', delayMs: 10_000 }]);
    for (const order of ['signal first', 'counter first'] as const) {
      const controller = new AbortController();
      const counter = { reads: 0, writes: 0 };
      const view =
        order === 'signal first'
          ? client.withSignal(controller.signal).withCallCounter(counter)
          : client.withCallCounter(counter).withSignal(controller.signal);
      await view.getEntity('x');
      const pending = failure(view.listGroups());
      await vi.waitFor(() => expect(counter.reads).toBe(2));
      const abortedAt = performance.now();
      controller.abort();
      expect(await pending).toMatchObject({ code: 'timeout' });
      expect(performance.now() - abortedAt).toBeLessThan(500);
      expect(counter).toEqual({ reads: 2, writes: 0 });
    }
  });
});

describe('auth', () => {
  test('a new token is fetched transparently after tokens expire', async () => {
    const client = clientFor(sim);
    await client.createEntity(entityFields('1'));
    await hook('faults', { expireTokensNow: true });
    expect(await client.findEntityByNumber('1')).toMatchObject({ EntityNo: '1' });
  });

  test('concurrent calls share one token request', async () => {
    const counting = await startCaseWareSimulator({ rateLimit: { burst: 6, replenishPerSecond: 0.001 } });
    try {
      const client = clientFor(counting);
      await Promise.all([client.listRoles(), client.listGroups(), client.getUser('x')]);
      // 1 token request + 2 pages each for roles and groups + 1 get = 6; a second token request
      // would have emptied the bucket.
      const error = await failure(client.listRoles());
      expect(error.code).toBe('rate-limited');
    } finally {
      await counting.close();
    }
  });

  test('a token refused again after renewal is unauthorized, a failure of the portal, retried: the request is redone only once', async () => {
    const stillborn = await startCaseWareSimulator({ tokenTtlMs: 0 });
    try {
      const error = await failure(clientFor(stillborn).listRoles());
      expect(error).toMatchObject({ code: 'unauthorized', status: 401, retryable: true, scope: 'portal' });
      expect(error.message).toMatch(/^CaseWare Cloud refused GET \/roles \(401 unauthorized\)/);
    } finally {
      await stillborn.close();
    }
  });

  test('wrong credentials are unauthorized, a failure of the portal, retried until fixed', async () => {
    const client = new CaseWareClient({ baseUrl: sim.baseUrl, clientId: sim.clientId, clientSecret: 'wrong' });
    const error = await failure(client.listRoles());
    expect(error).toMatchObject({ code: 'unauthorized', retryable: true, scope: 'portal' });
  });
});

describe('errors', () => {
  test('a duplicate email is duplicate-email, not retryable, and the message names no email', async () => {
    const client = clientFor(sim);
    await client.createContact(contactFields('jan@example.nl'));
    const error = await failure(client.createContact(contactFields('JAN@example.nl')));
    expect(error).toMatchObject({ code: 'duplicate-email', status: 409, retryable: false });
    expect(error.message).toBe(
      'CaseWare Cloud refused POST /users (409 duplicate-email): another CaseWare Cloud user already has this email as login',
    );
    expect(error.message).not.toMatch(/@|jan/i);
  });

  test('removing the email is invalid', async () => {
    const client = clientFor(sim);
    const user = await client.createContact(contactFields('jan@example.nl'));
    const error = await failure(client.updateContact(user.CWGuid, { Email: '' }));
    expect(error).toMatchObject({ code: 'invalid', status: 400, retryable: false });
    expect(error.message).toContain(`PATCH /users/${user.CWGuid}`);
    expect(error.message).not.toMatch(/@/);
  });

  test('a taken entity number is duplicate-number, on create and on update, and the message names no value', async () => {
    const client = clientFor(sim);
    await client.createEntity(entityFields('1'));
    const created = await failure(client.createEntity(entityFields('1')));
    expect(created).toMatchObject({ code: 'duplicate-number', status: 409, retryable: false });
    expect(created.message).toBe(
      'CaseWare Cloud refused POST /entities (409 duplicate-number): another CaseWare Cloud entity already has this entity number',
    );
    const other = await client.createEntity(entityFields('2'));
    const updated = await failure(client.updateEntity(other.CWGuid, { EntityNo: '1' }));
    expect(updated).toMatchObject({ code: 'duplicate-number', status: 409, retryable: false });
  });

  test('a 429 whose Retry-After is past the wait bound is rate-limited and retryable, thrown without waiting', async () => {
    const client = clientFor(sim, { maxRateLimitWaitMs: 500 });
    await client.listRoles();
    await hook('faults', { seed: 3, rateLimitRate: 1 });
    const started = performance.now();
    const error = await failure(client.findUserByEmail('jan@example.nl'));
    expect(performance.now() - started).toBeLessThan(500);
    expect(error).toMatchObject({ code: 'rate-limited', status: 429, retryable: true });
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(error.retryAfterMs! % 1000).toBe(0);
    expect(error.message).not.toMatch(/@|jan|search/i);
    expect((await calls())['GET /users']).toBe(1);
  });

  test('an empty bucket is waited out for the time the replenish rate gives; past the bound it is rate-limited', async () => {
    const limited = await startCaseWareSimulator({ rateLimit: { burst: 2, replenishPerSecond: 4 } });
    try {
      const client = clientFor(limited);
      await client.getEntity('x'); // token + get
      const started = performance.now();
      expect(await client.getEntity('x')).toBeUndefined();
      expect(performance.now() - started).toBeGreaterThanOrEqual(240);
      expect((await simHook(limited.origin, 'GET', 'calls'))['GET /entities/:guid']).toBe(3);
      const impatient = clientFor(limited, { maxRateLimitWaitMs: 200 });
      const error = await failure(impatient.getEntity('x'));
      expect(error).toMatchObject({ code: 'rate-limited', retryable: true, retryAfterMs: 250 });
    } finally {
      await limited.close();
    }
    expect(retryAfterFrom(new Headers())).toBe(1000);
    expect(retryAfterFrom(new Headers({ 'retry-after': '2', 'x-ratelimit-replenish-rate': '4' }))).toBe(2000);
  });

  test('5xx is server and retryable', async () => {
    const client = clientFor(sim);
    await client.listRoles();
    await hook('faults', { errorRate: 1 });
    const error = await failure(client.createContact(contactFields('jan@example.nl')));
    expect(error).toMatchObject({ code: 'server', retryable: true });
    expect([500, 503]).toContain(error.status);
    expect((await state()).users).toEqual([]);
  });

  test('a hung request times out, retryable', async () => {
    const client = clientFor(sim, { requestTimeoutMs: 200 });
    await client.listRoles();
    await hook('faults', { hangRate: 1 });
    const started = performance.now();
    const error = await failure(client.getUser('x'));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test('a dropped connection is network, retryable', async () => {
    const client = clientFor(sim);
    await client.listRoles();
    await hook('faults', { dropRate: 1 });
    const error = await failure(client.findUserByEmail('jan@example.nl'));
    expect(error).toMatchObject({ code: 'network', retryable: true });
    expect(error.message).not.toMatch(/@|jan|search/i);
  });

  test('a refused connection is network, retryable', async () => {
    const gone = await startCaseWareSimulator();
    const client = clientFor(gone);
    await gone.close();
    const error = await failure(client.listRoles());
    expect(error).toMatchObject({ code: 'network', retryable: true });
  });

  test('an answer of the wrong shape is bad-response, a failure of the portal, retried', async () => {
    // A stand-in service that grants a token but answers lists in a shape the client does not know.
    const standIn = await startStandIn((request, response) => {
      response.setHeader('content-type', 'application/json');
      if (request.url?.startsWith('/api/v2/auth/token')) response.end(JSON.stringify({ Token: 't' }));
      else if (request.url?.startsWith('/api/v2/roles')) response.end(JSON.stringify([{ Id: 'one', Name: 'Admin' }]));
      else response.end('not json');
    });
    try {
      const client = new CaseWareClient({ baseUrl: `${standIn.origin}/api/v2`, clientId: 'c', clientSecret: 's' });
      const shape = await failure(client.listRoles());
      expect(shape).toMatchObject({ code: 'bad-response', status: 200, retryable: true, scope: 'portal' });
      expect(shape.message).toBe(
        'CaseWare Cloud answered GET /roles unexpectedly (200 bad-response: unexpected shape at 0.Id): ' +
          'CaseWare Cloud answered in a shape this client does not know; check the API version',
      );
      expect((await failure(client.getUser('x'))).code).toBe('bad-response');
    } finally {
      await standIn.close();
    }
  });
});
