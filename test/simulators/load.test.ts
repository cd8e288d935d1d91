import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState as CaseWareState } from '../../src/simulators/caseware/simulator';
import {
  startClientOnlineSimulator,
  type ClientOnlineSimulator,
  type SimulatorState as ClientOnlineState,
} from '../../src/simulators/client-online/simulator';
import { rawCall, setSim, simHook, simState, type Answer } from '../support/simulator-http';

// The `/_sim/load` hooks seed a large firm at once (the benchmark's 10 000 clients): what they load
// is what the API lists, nobody is mailed, and the store's rules hold as for the API's own writes.

let caseware: CaseWareSimulator;
let clientOnline: ClientOnlineSimulator;

beforeAll(async () => {
  [caseware, clientOnline] = await Promise.all([startCaseWareSimulator(), startClientOnlineSimulator()]);
});
afterAll(async () => {
  await Promise.all([caseware.close(), clientOnline.close()]);
});
beforeEach(async () => {
  await Promise.all([setSim(caseware.origin, 'reset'), setSim(clientOnline.origin, 'reset')]);
});

async function load(origin: string, body: unknown): Promise<Answer> {
  return rawCall('POST', `${origin}/_sim/load`, {}, body);
}

async function caseWareApi(method: string, path: string, body?: unknown): Promise<Answer> {
  const token = await rawCall('POST', `${caseware.baseUrl}/auth/token`, {}, {
    ClientId: caseware.clientId,
    ClientSecret: caseware.clientSecret,
    Language: 'en',
  });
  return rawCall(method, `${caseware.baseUrl}${path}`, { authorization: `Bearer ${token.body.Token}` }, body);
}

const contact = (email: string, extra: object = {}) => ({ OwnerType: 'Contact', Email: email, FirstName: 'Anna', LastName: 'Jansen', ...extra });

describe('CaseWare Cloud', () => {
  test('loaded entities, users and shares are what the API lists; nobody is mailed', async () => {
    const entity = randomUUID();
    const anna = randomUUID();
    const answer = await load(caseware.origin, {
      entities: [{ CWGuid: entity, Name: 'Bakkerij B.V.', EntityNo: '1001', City: 'Utrecht' }],
      users: [{ CWGuid: anna, ...contact('anna@example.com') }, contact('bert@example.com')],
      roleAssignments: [{ entityId: entity, userId: anna, roleName: 'Contact - Entity Access' }],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.entities).toEqual([entity]);
    expect(answer.body.users).toHaveLength(2);
    expect(answer.body.users[0]).toBe(anna);
    expect(answer.body.roleAssignments).toBe(1);

    const entities = await caseWareApi('GET', '/entities');
    expect(entities.body).toEqual([expect.objectContaining({ CWGuid: entity, Name: 'Bakkerij B.V.', EntityNo: '1001', City: 'Utrecht', Phone: null })]);
    const users = await caseWareApi('GET', `/users?search=${encodeURIComponent("OwnerType='Contact'")}`);
    expect(users.body.map((user: { Email: string; Type: string }) => [user.Email, user.Type])).toEqual([
      ['anna@example.com', 'A'],
      ['bert@example.com', 'A'],
    ]);
    const roles = await caseWareApi('GET', '/roles');
    const accessRole = roles.body.find((role: { Name: string }) => role.Name === 'Contact - Entity Access');
    expect((await caseWareApi('GET', `/entities/${entity}/role-assignments`)).body).toEqual([{ userId: anna, roleId: accessRole.CWGuid }]);
    expect((await simState<CaseWareState>(caseware.origin)).mails).toEqual([]);

    // What the API writes afterwards meets the loaded records: the email is taken.
    expect((await caseWareApi('POST', '/users', contact('ANNA@example.com'))).status).toBe(409);
    const looked = await simHook(caseware.origin, 'POST', 'lookup', { entities: [entity, 'unknown'], entityNumbers: ['1001'], users: [anna], emails: ['BERT@example.com'] });
    expect(Object.keys(looked.entities).sort()).toEqual([entity, '1001'].sort());
    expect(looked.users[anna].Email).toBe('anna@example.com');
    expect(looked.users['BERT@example.com'].Email).toBe('bert@example.com');
    expect(looked.roleAssignments).toEqual({ [entity]: [{ userId: anna, roleId: accessRole.CWGuid }] });
  });

  test('a load that breaks a rule is refused whole', async () => {
    await load(caseware.origin, { users: [contact('anna@example.com')] });
    const taken = await load(caseware.origin, {
      entities: [{ Name: 'Nieuw B.V.', EntityNo: '2001' }],
      users: [contact('new@example.com'), contact('Anna@Example.com')],
    });
    expect(taken.status).toBe(409);
    expect(taken.body.errors[0].message).toMatch(/email address already exists/);
    const twice = await load(caseware.origin, { users: [contact('x@example.com'), contact('X@example.com')] });
    expect(twice.status).toBe(409);
    const tooLong = await load(caseware.origin, { users: [contact('y@example.com', { FirstName: 'A'.repeat(31) })] });
    expect(tooLong.status).toBe(400);
    const noRole = await load(caseware.origin, {
      entities: [{ CWGuid: 'e1', Name: 'Nieuw B.V.', EntityNo: '2002' }],
      roleAssignments: [{ entityId: 'e1', userId: 'nobody', roleName: 'Contact - Entity Access' }],
    });
    expect(noRole.status).toBe(404);

    const state = await simState<CaseWareState>(caseware.origin);
    expect(state.entities).toEqual([]);
    expect(state.users.map((user) => user.Email)).toEqual(['anna@example.com']);
  });

  test('loads are not calls of the API', async () => {
    await load(caseware.origin, { users: [contact('anna@example.com')] });
    await simHook(caseware.origin, 'POST', 'lookup', { users: [] });
    expect(await simHook(caseware.origin, 'GET', 'calls')).toEqual({});
  });
});

describe('Client Online', () => {
  const user = (ref: string, email: string) => ({ ref, firstName: 'Piet', infix: null, lastName: 'Vries', initials: 'P.', email, mobile: null });

  test('loaded clients are what the API lists; a login shared by two clients is one login; nobody is mailed', async () => {
    const answer = await load(clientOnline.origin, {
      clients: [
        { clientNumber: '1001', name: 'Bakkerij B.V.', kind: 'company', city: 'Utrecht', users: [user('p-1', 'piet@example.com'), user('c-2', 'kees@example.com')] },
        { clientNumber: '2001', name: 'P. Vries', kind: 'person', users: [user('p-1', 'piet@example.com')] },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ clients: 2, logins: 2 });

    const listed = await rawCall('GET', `${clientOnline.baseUrl}/api/v1/clients`, { 'x-api-key': clientOnline.apiKey });
    expect(listed.body.total).toBe(2);
    expect(listed.body.items.map((client: { clientNumber: string; users: { ref: string }[] }) => [client.clientNumber, client.users.map((u) => u.ref)])).toEqual([
      ['1001', ['p-1', 'c-2']],
      ['2001', ['p-1']],
    ]);
    const state = await simState<ClientOnlineState>(clientOnline.origin);
    expect(state.logins.find((login) => login.ref === 'p-1')?.clients).toEqual(['1001', '2001']);
    expect(state.mails).toEqual([]);

    // A later push of a loaded login knows it: no mail.
    const push = await rawCall('PUT', `${clientOnline.baseUrl}/api/v1/clients/3001`, { 'x-api-key': clientOnline.apiKey }, {
      name: 'Derde B.V.',
      kind: 'company',
      users: [user('p-1', 'piet@example.com')],
    });
    expect(push.status).toBe(201);
    expect((await simState<ClientOnlineState>(clientOnline.origin)).mails).toEqual([]);
    const looked = await simHook(clientOnline.origin, 'POST', 'lookup', { clients: ['2001', '9999'] });
    expect(Object.keys(looked.clients)).toEqual(['2001']);
    expect(looked.clients['2001'].users[0].email).toBe('piet@example.com');
  });

  test('a load that breaks a rule is refused whole', async () => {
    await load(clientOnline.origin, { clients: [{ clientNumber: '1001', name: 'Een B.V.', kind: 'company', users: [user('c-1', 'anna@example.com')] }] });
    const taken = await load(clientOnline.origin, {
      clients: [
        { clientNumber: '1002', name: 'Twee B.V.', kind: 'company', users: [user('c-2', 'bert@example.com')] },
        { clientNumber: '1003', name: 'Drie B.V.', kind: 'company', users: [user('c-3', 'ANNA@example.com')] },
      ],
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('username-taken');
    const again = await load(clientOnline.origin, { clients: [{ clientNumber: '1001', name: 'Een B.V.', kind: 'company', users: [] }] });
    expect(again.status).toBe(409);
    const bad = await load(clientOnline.origin, { clients: [{ clientNumber: '1004', name: 'Vier B.V.', kind: 'company', bsn: '123456789', users: [] }] });
    expect(bad.status).toBe(400);

    const state = await simState<ClientOnlineState>(clientOnline.origin);
    expect(state.clients.map((client) => client.clientNumber)).toEqual(['1001']);
    expect(state.logins.map((login) => login.ref)).toEqual(['c-1']);
    expect(await simHook(clientOnline.origin, 'GET', 'calls')).toEqual({});
  });
});
