import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState } from '../../src/simulators/caseware/simulator';
import { callHook, expectSeededFaults, rawCall, SimHooks, type Answer } from '../support/simulator-http';

// Talks raw HTTP to the simulator: these tests pin the rules of the simulated service itself.

class Raw extends SimHooks<SimulatorState> {
  token: string | undefined;
  constructor(readonly sim: CaseWareSimulator) {
    super(sim.origin);
  }

  call(method: string, path: string, body?: unknown, token: string | undefined = this.token): Promise<Answer> {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    return rawCall(method, `${this.sim.baseUrl}${path}`, headers, body);
  }

  async login(): Promise<string> {
    const answer = await this.call('POST', '/auth/token', {
      ClientId: this.sim.clientId,
      ClientSecret: this.sim.clientSecret,
      Language: 'en',
    });
    expect(answer.status).toBe(200);
    this.token = answer.body.Token as string;
    return this.token;
  }
}

const contact = (email: string, extra: object = {}) => ({ OwnerType: 'Contact', Email: email, FirstName: 'Ann', LastName: 'Smith', ...extra });
const entity = (entityNo: string, extra: object = {}) => ({ Name: `Company ${entityNo}`, EntityNo: entityNo, ...extra });

let sim: CaseWareSimulator;
let raw: Raw;

beforeAll(async () => {
  sim = await startCaseWareSimulator();
  raw = new Raw(sim);
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await raw.hook('POST', 'reset');
  await raw.login();
});

describe('auth', () => {
  test('API calls need a valid bearer token', async () => {
    const anonymous = await raw.call('GET', '/users', undefined, '');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ errors: [{ message: expect.any(String) }] });
    expect((await raw.call('GET', '/users', undefined, 'made-up')).status).toBe(401);
    expect((await raw.call('GET', '/users')).status).toBe(200);
  });

  test('wrong client credentials get no token', async () => {
    const answer = await raw.call('POST', '/auth/token', { ClientId: sim.clientId, ClientSecret: 'wrong', Language: 'en' });
    expect(answer.status).toBe(401);
    expect(answer.body.Token).toBeUndefined();
  });

  test('tokens expire after their lifetime', async () => {
    const shortLived = await startCaseWareSimulator({ tokenTtlMs: 150 });
    try {
      const client = new Raw(shortLived);
      await client.login();
      expect((await client.call('GET', '/roles')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await client.call('GET', '/roles')).status).toBe(401);
      await client.login();
      expect((await client.call('GET', '/roles')).status).toBe(200);
    } finally {
      await shortLived.close();
    }
  });

  test('expireTokensNow invalidates every token at once', async () => {
    await raw.faults({ expireTokensNow: true });
    expect((await raw.call('GET', '/roles')).status).toBe(401);
  });
});

describe('users', () => {
  test('a created contact answers with its CWGuid and is mailed credentials', async () => {
    const created = await raw.call('POST', '/users', contact('ann@example.nl'));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ CWGuid: expect.any(String), OwnerType: 'Contact', Type: 'A', InActiveDate: null, Email: 'ann@example.nl' });
    const fetched = await raw.call('GET', `/users/${created.body.CWGuid}`);
    expect(fetched.body).toEqual(created.body);
    const state = await raw.state();
    expect(state.mails).toEqual([{ to: 'ann@example.nl', kind: 'credentials', at: expect.any(String) }]);
  });

  test('staff users are not mailed as contacts', async () => {
    expect((await raw.call('POST', '/users', { OwnerType: 'Staff', Email: 'staff@firm.nl' })).status).toBe(201);
    expect((await raw.state()).mails).toEqual([]);
  });

  test('email is unique case-insensitively, on create and on change', async () => {
    await raw.call('POST', '/users', contact('ann@example.nl'));
    const duplicate = await raw.call('POST', '/users', contact('ANN@Example.NL'));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.errors).toHaveLength(1);
    const other = await raw.call('POST', '/users', contact('bob@example.nl'));
    const taken = await raw.call('PATCH', `/users/${other.body.CWGuid}`, { OwnerType: 'Contact', Email: 'Ann@example.nl' });
    expect(taken.status).toBe(409);
    const own = await raw.call('PATCH', `/users/${other.body.CWGuid}`, { OwnerType: 'Contact', Email: 'BOB@example.nl' });
    expect(own.status).toBe(200);
    expect((await raw.state()).users.map((user) => user.Email)).toEqual(['ann@example.nl', 'BOB@example.nl']);
  });

  test('email is required and cannot be removed', async () => {
    expect((await raw.call('POST', '/users', { OwnerType: 'Contact', FirstName: 'Ann' })).status).toBe(400);
    const created = await raw.call('POST', '/users', contact('ann@example.nl'));
    for (const Email of ['', '  ', null]) {
      const answer = await raw.call('PATCH', `/users/${created.body.CWGuid}`, { OwnerType: 'Contact', Email });
      expect(answer.status).toBe(400);
      expect(answer.body.errors[0].message).toMatch(/Email/);
    }
    expect((await raw.call('GET', `/users/${created.body.CWGuid}`)).body.Email).toBe('ann@example.nl');
  });

  test('every PATCH must carry OwnerType, and POST too', async () => {
    expect((await raw.call('POST', '/users', { Email: 'ann@example.nl' })).status).toBe(400);
    const created = await raw.call('POST', '/users', contact('ann@example.nl'));
    const patch = await raw.call('PATCH', `/users/${created.body.CWGuid}`, { FirstName: 'Anna' });
    expect(patch.status).toBe(400);
    expect(patch.body.errors[0].message).toBe('OwnerType is required');
    const ok = await raw.call('PATCH', `/users/${created.body.CWGuid}`, { OwnerType: 'Contact', FirstName: 'Anna' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ FirstName: 'Anna', LastName: 'Smith', Email: 'ann@example.nl' });
  });

  test('length limits: FirstName 30, Email 100, UserName 50', async () => {
    const at = (length: number) => `${'a'.repeat(length - '@example.nl'.length)}@example.nl`;
    expect((await raw.call('POST', '/users', contact(at(100), { FirstName: 'x'.repeat(30), UserName: 'u'.repeat(50) }))).status).toBe(201);
    const firstName = await raw.call('POST', '/users', contact('b@example.nl', { FirstName: 'x'.repeat(31) }));
    expect(firstName.status).toBe(400);
    expect(firstName.body.errors[0].message).toBe('FirstName may be at most 30 characters');
    expect((await raw.call('POST', '/users', contact(at(101)))).status).toBe(400);
    expect((await raw.call('POST', '/users', contact('c@example.nl', { UserName: 'u'.repeat(51) }))).status).toBe(400);
    expect((await raw.state()).users).toHaveLength(1);
  });

  test('unknown properties are refused', async () => {
    const answer = await raw.call('POST', '/users', contact('ann@example.nl', { Mobile: '06' }));
    expect(answer.status).toBe(400);
  });

  test('deactivate and reactivate through Type and InActiveDate, without a new mail', async () => {
    const created = await raw.call('POST', '/users', contact('ann@example.nl'));
    const path = `/users/${created.body.CWGuid}`;
    expect((await raw.call('PATCH', path, { OwnerType: 'Contact', Type: 'I' })).status).toBe(400);
    const inactive = await raw.call('PATCH', path, { OwnerType: 'Contact', Type: 'I', InActiveDate: '2025-01-31' });
    expect(inactive.body).toMatchObject({ Type: 'I', InActiveDate: '2025-01-31' });
    const active = await raw.call('PATCH', path, { OwnerType: 'Contact', Type: 'A', InActiveDate: null });
    expect(active.body).toMatchObject({ Type: 'A', InActiveDate: null });
    expect((await raw.state()).mails).toHaveLength(1);
  });

  test('unknown CWGuid answers 404 with the errors body', async () => {
    for (const [method, body] of [['GET', undefined], ['PATCH', { OwnerType: 'Contact' }], ['DELETE', undefined]] as const) {
      const answer = await raw.call(method, '/users/00000000-0000-0000-0000-000000000000', body);
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ errors: [{ message: expect.any(String) }] });
    }
  });
});

describe('entities', () => {
  test('Name (max 60) and EntityNo (max 10) are required; EntityNo is unique', async () => {
    expect((await raw.call('POST', '/entities', { EntityNo: '1' })).status).toBe(400);
    expect((await raw.call('POST', '/entities', { Name: 'A' })).status).toBe(400);
    expect((await raw.call('POST', '/entities', entity('1', { Name: 'n'.repeat(61) }))).status).toBe(400);
    expect((await raw.call('POST', '/entities', entity('12345678901'))).status).toBe(400);
    const created = await raw.call('POST', '/entities', entity('1234567890', { Name: 'n'.repeat(60), City: 'Utrecht' }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ CWGuid: expect.any(String), EntityNo: '1234567890', City: 'Utrecht', Phone: null });
    expect((await raw.call('POST', '/entities', entity('1234567890'))).status).toBe(409);
    const second = await raw.call('POST', '/entities', entity('2'));
    expect((await raw.call('PATCH', `/entities/${second.body.CWGuid}`, { EntityNo: '1234567890' })).status).toBe(409);
    expect((await raw.call('PATCH', `/entities/${second.body.CWGuid}`, { Name: '' })).status).toBe(400);
    const renamed = await raw.call('PATCH', `/entities/${second.body.CWGuid}`, { Name: 'Renamed', City: null });
    expect(renamed.body).toMatchObject({ Name: 'Renamed', EntityNo: '2' });
  });

  test('lists are bare arrays, paged until an empty page', async () => {
    for (const number of ['1', '2', '3', '4', '5']) await raw.call('POST', '/entities', entity(number));
    const pages: string[][] = [];
    for (let page = 1; page <= 4; page += 1) {
      const answer = await raw.call('GET', `/entities?page=${page}&pageSize=2`);
      expect(Array.isArray(answer.body)).toBe(true);
      pages.push((answer.body as { EntityNo: string }[]).map((item) => item.EntityNo));
    }
    expect(pages).toEqual([['1', '2'], ['3', '4'], ['5'], []]);
    expect((await raw.call('GET', '/entities?page=0')).status).toBe(400);
    expect((await raw.call('GET', '/entities?pageSize=abc')).status).toBe(400);
  });

  test('search filters with = <> < > on top-level fields, quoted strings and escapes', async () => {
    for (const [number, name] of [['1', "O'Brien BV"], ['2', 'Back\\slash'], ['3', 'Plain']]) {
      await raw.call('POST', '/entities', entity(number!, { Name: name }));
    }
    const search = async (expression: string) => {
      const answer = await raw.call('GET', `/entities?search=${encodeURIComponent(expression)}`);
      expect(answer.status).toBe(200);
      return (answer.body as { EntityNo: string }[]).map((item) => item.EntityNo);
    };
    expect(await search("Name='O\\'Brien BV'")).toEqual(['1']);
    expect(await search("Name='back\\\\slash'")).toEqual(['2']);
    expect(await search("Name='plain'")).toEqual(['3']);
    expect(await search("EntityNo<>'2'")).toEqual(['1', '3']);
    expect(await search("EntityNo>'1'")).toEqual(['2', '3']);
    expect(await search("EntityNo<'2'")).toEqual(['1']);
    expect(await search('City=null')).toEqual(['1', '2', '3']);
    expect((await raw.call('GET', `/entities?search=${encodeURIComponent("Nope='x'")}`)).status).toBe(400);
    expect((await raw.call('GET', `/entities?search=${encodeURIComponent("Name='open")}`)).status).toBe(400);
    expect((await raw.call('GET', `/entities?search=${encodeURIComponent('Name=unquoted')}`)).status).toBe(400);
  });

  test('a changed or deleted user frees its email; a changed or deleted entity frees its number', async () => {
    const ann = (await raw.call('POST', '/users', contact('ann@example.nl'))).body;
    expect((await raw.call('PATCH', `/users/${ann.CWGuid}`, { OwnerType: 'Contact', Email: 'anna@example.nl' })).status).toBe(200);
    expect((await raw.call('POST', '/users', contact('ANN@example.nl'))).status).toBe(201);
    expect((await raw.call('POST', '/users', contact('Anna@example.nl'))).status).toBe(409);
    expect((await raw.call('DELETE', `/users/${ann.CWGuid}`)).status).toBe(204);
    expect((await raw.call('POST', '/users', contact('anna@example.nl'))).status).toBe(201);
    const first = (await raw.call('POST', '/entities', entity('A1'))).body;
    expect((await raw.call('PATCH', `/entities/${first.CWGuid}`, { EntityNo: 'A2' })).status).toBe(200);
    expect((await raw.call('POST', '/entities', entity('a1'))).status).toBe(201);
    expect((await raw.call('POST', '/entities', entity('a2'))).status).toBe(409);
    expect((await raw.call('DELETE', `/entities/${first.CWGuid}`)).status).toBe(204);
    expect((await raw.call('POST', '/entities', entity('a2'))).status).toBe(201);
  });

  test('[assumed] DELETE /entities/{CWGuid} removes the entity and its role assignments; an unknown one answers 404', async () => {
    const roles = (await raw.call('GET', '/roles')).body as { CWGuid: string; Name: string }[];
    const access = roles.find((role) => role.Name === 'Contact - Entity Access')!;
    const ann = (await raw.call('POST', '/users', contact('ann@example.nl'))).body;
    const [gone, kept] = [(await raw.call('POST', '/entities', entity('1'))).body, (await raw.call('POST', '/entities', entity('2'))).body];
    for (const company of [gone, kept]) {
      await raw.call('PATCH', `/entities/${company.CWGuid}/role-assignments`, { userIds: [ann.CWGuid], roleId: access.CWGuid, isRemove: false });
    }
    const deleted = await raw.call('DELETE', `/entities/${gone.CWGuid}`);
    expect(deleted.status).toBe(204);
    expect((await raw.call('GET', `/entities/${gone.CWGuid}`)).status).toBe(404);
    expect((await raw.call('GET', `/entities/${gone.CWGuid}/role-assignments`)).status).toBe(404);
    expect((await raw.call('GET', '/role-assignments')).body).toEqual([{ entityId: kept.CWGuid, userId: ann.CWGuid, roleId: access.CWGuid }]);
    expect((await raw.state()).roleAssignments).toEqual([{ entityId: kept.CWGuid, userId: ann.CWGuid, roleId: access.CWGuid }]);
    expect((await raw.state()).users).toHaveLength(1);
    const again = await raw.call('DELETE', `/entities/${gone.CWGuid}`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ errors: [{ message: expect.any(String) }] });
  });

  test('[assumed] GET /role-assignments lists every entity\'s assignments in the order made, paged until an empty page', async () => {
    const roles = (await raw.call('GET', '/roles')).body as { CWGuid: string; Name: string }[];
    const access = roles.find((role) => role.Name === 'Contact - Entity Access')!.CWGuid;
    const staff = roles.find((role) => role.Name === 'Contact - Entity Staff')!.CWGuid;
    const [ann, bob] = [(await raw.call('POST', '/users', contact('ann@example.nl'))).body, (await raw.call('POST', '/users', contact('bob@example.nl'))).body];
    const [one, two] = [(await raw.call('POST', '/entities', entity('1'))).body, (await raw.call('POST', '/entities', entity('2'))).body];
    const share = (company: { CWGuid: string }, roleId: string, isRemove = false) =>
      raw.call('PATCH', `/entities/${company.CWGuid}/role-assignments`, { userIds: [ann.CWGuid, bob.CWGuid], roleId, isRemove });
    await share(one, access);
    await share(two, access);
    await share(two, staff);
    await share(one, access, true);
    await share(one, staff);
    const pages: string[][] = [];
    for (let page = 1; page <= 4; page += 1) {
      const answer = await raw.call('GET', `/role-assignments?page=${page}&pageSize=2`);
      expect(answer.status).toBe(200);
      const rows = answer.body as { entityId: string; userId: string; roleId: string }[];
      pages.push(rows.map((row) => `${row.entityId === one.CWGuid ? 1 : 2}/${row.userId === ann.CWGuid ? 'ann' : 'bob'}/${row.roleId === access ? 'access' : 'staff'}`));
    }
    expect(pages).toEqual([['2/ann/access', '2/bob/access'], ['2/ann/staff', '2/bob/staff'], ['1/ann/staff', '1/bob/staff'], []]);
    // A deleted user's assignments go from every list.
    expect((await raw.call('DELETE', `/users/${bob.CWGuid}`)).status).toBe(204);
    expect(((await raw.call('GET', '/role-assignments')).body as unknown[]).length).toBe(3);
    expect((await raw.call('GET', `/entities/${two.CWGuid}/role-assignments`)).body).toEqual([
      { userId: ann.CWGuid, roleId: access },
      { userId: ann.CWGuid, roleId: staff },
    ]);
    expect((await raw.call('GET', '/role-assignments?page=0')).status).toBe(400);
  });

  test('role assignments are idempotent; unknown user 404, unknown role 400', async () => {
    const company = (await raw.call('POST', '/entities', entity('1'))).body;
    const user = (await raw.call('POST', '/users', contact('ann@example.nl'))).body;
    const roles = (await raw.call('GET', '/roles')).body as { Id: number; CWGuid: string; Name: string; Description: string }[];
    expect(roles.map((role) => role.Name)).toEqual(expect.arrayContaining(['Contact - Entity Access', 'Contact - Entity Staff']));
    const access = roles.find((role) => role.Name === 'Contact - Entity Access')!;
    const path = `/entities/${company.CWGuid}/role-assignments`;
    const share = { userIds: [user.CWGuid], roleId: access.CWGuid, isRemove: false };
    expect((await raw.call('PATCH', path, share)).status).toBe(204);
    expect((await raw.call('PATCH', path, share)).status).toBe(204);
    expect((await raw.call('GET', path)).body).toEqual([{ userId: user.CWGuid, roleId: access.CWGuid }]);
    expect((await raw.call('PATCH', path, { ...share, userIds: ['nobody'] })).status).toBe(404);
    expect((await raw.call('PATCH', path, { ...share, roleId: 'no-role' })).status).toBe(400);
    expect((await raw.call('PATCH', '/entities/nothing/role-assignments', share)).status).toBe(404);
    expect((await raw.call('PATCH', path, { ...share, isRemove: true })).status).toBe(204);
    expect((await raw.call('PATCH', path, { ...share, isRemove: true })).status).toBe(204);
    expect((await raw.call('GET', path)).body).toEqual([]);
  });
});

describe('groups', () => {
  test('group user-assignments add and remove people', async () => {
    const user = (await raw.call('POST', '/users', contact('ann@example.nl'))).body;
    const groups = (await raw.call('GET', '/groups')).body as { CWGuid: string; Name: string }[];
    expect(groups.map((group) => group.Name)).toEqual(['Clients']);
    const path = `/groups/${groups[0]!.CWGuid}/user-assignments`;
    expect((await raw.call('PATCH', path, { people: [user.CWGuid], isRemove: false })).status).toBe(204);
    expect((await raw.state()).groupAssignments).toEqual([{ groupId: groups[0]!.CWGuid, userId: user.CWGuid }]);
    expect((await raw.call('GET', path)).body).toEqual([{ userId: user.CWGuid }]);
    expect((await raw.call('PATCH', path, { people: ['nobody'], isRemove: false })).status).toBe(404);
    expect((await raw.call('PATCH', path, { people: [user.CWGuid], isRemove: true })).status).toBe(204);
    expect((await raw.state()).groupAssignments).toEqual([]);
  });
});

describe('rate limit', () => {
  test('a token bucket with headers; an empty bucket answers 429', async () => {
    const limited = await startCaseWareSimulator({ rateLimit: { burst: 3, replenishPerSecond: 2 } });
    try {
      const client = new Raw(limited);
      await client.login(); // takes one token
      const first = await client.call('GET', '/roles');
      expect(first.status).toBe(200);
      expect(first.headers.get('x-ratelimit-burst-capacity')).toBe('3');
      expect(first.headers.get('x-ratelimit-replenish-rate')).toBe('2');
      expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
      expect((await client.call('GET', '/roles')).status).toBe(200);
      const refused = await client.call('GET', '/roles');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(refused.body.errors).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 550));
      expect((await client.call('GET', '/roles')).status).toBe(200);
      // The hooks are not rate-limited.
      expect((await client.state()).users).toEqual([]);
    } finally {
      await limited.close();
    }
  });
});

describe('test hooks', () => {
  test('reset clears data, mails, faults and tokens', async () => {
    await raw.call('POST', '/users', contact('ann@example.nl'));
    await raw.call('POST', '/entities', entity('1'));
    await raw.faults({ errorRate: 1 });
    await raw.hook('POST', 'reset');
    const state = await raw.state();
    expect(state).toMatchObject({ entities: [], users: [], roleAssignments: [], groupAssignments: [], mails: [] });
    expect(state.roles.length).toBeGreaterThan(0);
    expect((await raw.call('GET', '/roles')).status).toBe(401);
    await raw.login();
    expect((await raw.call('GET', '/roles')).status).toBe(200);
  });

  test('seeded faults are reproducible, and {} clears them', async () => {
    await expectSeededFaults(raw, () => raw.call('GET', '/roles'));
  });

  test('faults spare the token endpoint and the hooks', async () => {
    await raw.faults({ errorRate: 1 });
    expect((await raw.call('GET', '/roles')).status).toBeGreaterThanOrEqual(500);
    await raw.login();
    expect((await raw.state()).users).toEqual([]);
  });

  test('latency delays answers', async () => {
    await raw.faults({ latencyMs: 120 });
    const started = performance.now();
    expect((await raw.call('GET', '/roles')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
  });

  test('dropped connections fail the request; close() works with a request hanging', async () => {
    const faulty = await startCaseWareSimulator();
    const client = new Raw(faulty);
    await client.login();
    await client.faults({ dropRate: 1 });
    await expect(client.call('GET', '/roles')).rejects.toThrow();
    await client.faults({ hangRate: 1 });
    const hanging = fetch(`${faulty.baseUrl}/roles`, { headers: { authorization: `Bearer ${client.token}` } });
    const outcome = hanging.then(() => 'answered', () => 'failed');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await faulty.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await outcome).toBe('failed');
  });

  test('fault settings are validated', async () => {
    const response = await callHook(sim.origin, 'POST', 'faults', { errorRate: 0.8, hangRate: 0.5 });
    expect(response.status).toBe(400);
  });
  test('calls are counted per method and route, refused ones too; the hooks are not; reset clears the counts', async () => {
    const created = await raw.call('POST', '/entities', entity('1'));
    await raw.call('GET', `/entities/${created.body.CWGuid}`);
    await raw.call('GET', '/entities/unknown');
    await raw.call('GET', '/users', undefined, 'made-up');
    await raw.state();
    expect(await raw.hook('GET', 'calls')).toEqual({
      'POST /auth/token': 1,
      'POST /entities': 1,
      'GET /entities/:guid': 2,
      'GET /users': 1,
    });
    await raw.hook('POST', 'reset');
    expect(await raw.hook('GET', 'calls')).toEqual({});
  });

  test('a script answers the next matching calls with its status, body and headers, then lets calls through', async () => {
    const scripted = await callHook(sim.origin, 'POST', 'script', {
      rules: [
        { method: 'PATCH', path: '^/users/', times: 1, status: 429, headers: { 'retry-after': '7' } },
        { method: 'GET', path: '^/roles$', times: 1, status: 503, body: '{"errors":[{"message":"down"}]}' },
      ],
    });
    expect(scripted.status).toBe(204);
    const user = await raw.call('POST', '/users', contact('ann@example.nl'));
    const patch = () => raw.call('PATCH', `/users/${user.body.CWGuid}`, { OwnerType: 'Contact', FirstName: 'Anna' });
    const refused = await patch();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(refused.body).toEqual({ errors: [{ message: 'Scripted failure' }] });
    expect((await raw.state()).users[0]?.FirstName).toBe('Ann');
    expect((await patch()).status).toBe(200);
    expect(await raw.call('GET', '/roles')).toMatchObject({ status: 503, body: { errors: [{ message: 'down' }] } });
    expect((await raw.call('GET', '/roles')).status).toBe(200);
    expect(await raw.hook('GET', 'calls')).toMatchObject({ 'PATCH /users/:guid': 2, 'GET /roles': 2 });
  });

  test('a script can lose the answer: the call is carried out, the connection is cut instead of answering', async () => {
    expect((await callHook(sim.origin, 'POST', 'script', { rules: [{ method: 'POST', path: '^/entities$', times: 1, loseAnswer: true }] })).status).toBe(204);
    await expect(raw.call('POST', '/entities', entity('7'))).rejects.toThrow();
    expect((await raw.state()).entities.map((e) => e.EntityNo)).toEqual(['7']);
    expect((await raw.call('POST', '/entities', entity('7'))).status).toBe(409);
  });

  test('a script that does not validate is refused with the errors body; reset clears a script', async () => {
    const bad = await callHook(sim.origin, 'POST', 'script', { rules: [{ method: 'GET', path: '(' }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ errors: [{ message: expect.any(String) }] });
    expect((await callHook(sim.origin, 'POST', 'script', { rules: [{ method: 'GET', path: '^/roles$', status: 500 }] })).status).toBe(204);
    expect((await raw.call('GET', '/roles')).status).toBe(500);
    await raw.hook('POST', 'reset');
    await raw.login();
    expect((await raw.call('GET', '/roles')).status).toBe(200);
  });
});
