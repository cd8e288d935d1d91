import { afterAll, beforeAll, expect, test } from 'vitest';
import { createCaseWareActivities } from '../../activities/caseware';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { createClient } from '../../src/registry/clients';
import { createContact } from '../../src/registry/contacts';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState } from '../../src/simulators/caseware/simulator';
import type { ReceivedRequest } from '../../src/simulators/server';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { simHook } from '../support/simulator-http';

// Going live onto a CaseWare Cloud that already holds the firm's clients (issue 17): the sync
// activity called directly, against a real database and the simulator over HTTP, which counts the
// calls and keeps every request's body.

let database: TestDatabase;
let simulator: CaseWareSimulator;
let activities: ReturnType<typeof createCaseWareActivities>;

beforeAll(async () => {
  [database, simulator] = await Promise.all([createTestDatabase(), startCaseWareSimulator({ port: 0, recordRequests: true })]);
  const caseware = new CaseWareClient({ baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: simulator.clientSecret, requestTimeoutMs: 2_000 });
  activities = createCaseWareActivities({ db: database.db, caseware, contactRoleName: 'Contact - Entity Access' });
});
afterAll(async () => {
  await simulator?.close();
  await database?.drop();
});

const simState = async () => (await simHook(simulator.origin, 'GET', 'state')) as SimulatorState;
const allCalls = async () => (await simHook(simulator.origin, 'GET', 'calls')) as Record<string, number>;
const allRequests = async () => (await simHook(simulator.origin, 'GET', 'requests')) as ReceivedRequest[];

/** What the simulator received while `work` ran: calls per route, and the requests themselves. */
async function received(work: () => Promise<unknown>): Promise<{ calls: Record<string, number>; requests: ReceivedRequest[] }> {
  const [calls0, requests0] = [await allCalls(), (await allRequests()).length];
  await work();
  const [calls1, requests1] = [await allCalls(), await allRequests()];
  const calls = Object.fromEntries(Object.entries(calls1).map(([route, n]) => [route, n - (calls0[route] ?? 0)]).filter(([, n]) => n !== 0));
  return { calls, requests: requests1.slice(requests0) };
}

const bodiesOf = (requests: ReceivedRequest[], method: string, path: string) => requests.filter((r) => r.method === method && r.path === path).map((r) => r.body);
const writes = (calls: Record<string, number>) => Object.keys(calls).filter((route) => !route.startsWith('GET '));

test('an entity and a contact user CaseWare already holds are adopted: one PATCH each with only the differing fields, no mail, nothing made twice, other access left alone', async () => {
  const { db } = database;
  await createClient(db, {
    clientNumber: '6101', kind: 'company', status: 'client', name: 'Adoptie B.V.', address: 'Kerkstraat 1', postcode: '3511 AB', city: 'Utrecht',
    country: 'NL', phone: '030-1234567', email: 'info@c6101.test', links: { caseware: true },
  });
  await createContact(db, '6101', { firstName: 'Piet', lastName: 'Jansen', email: 'piet@c6101.test', phone: '030-7654321', links: { caseware: true } });

  // Made by hand (or by the old link) before go-live: the entity with other values in two fields,
  // Piet's login with another last name and blocked, and a bookkeeper of the client's own, shared
  // with the entity, whom the registry does not know.
  const loaded = (await simHook(simulator.origin, 'POST', 'load', {
    entities: [{ Name: 'Adoptie B.V.', EntityNo: '6101', Address: 'Kerkstraat 1', PostalCode: '3511 AB', City: 'Zeist', Country: 'NL', Phone: null, Email: 'info@c6101.test' }],
    users: [
      { OwnerType: 'Contact', Email: 'piet@c6101.test', FirstName: 'Piet', LastName: 'Jansen-Oud', Phone: '030-7654321', Type: 'I', InActiveDate: '2026-01-01' },
      { OwnerType: 'Contact', Email: 'boekhouder@c6101.test', FirstName: 'Bea' },
    ],
  })) as { entities: string[]; users: string[] };
  const [entityGuid] = loaded.entities;
  const [pietGuid, bookkeeperGuid] = loaded.users;
  await simHook(simulator.origin, 'POST', 'load', { roleAssignments: [{ entityId: entityGuid, userId: bookkeeperGuid, roleName: 'Contact - Entity Access' }] });

  let summary: unknown;
  const first = await received(async () => {
    summary = await activities.syncClientToCaseWare({ clientNumber: '6101', uptoEventId: 1 });
  });
  expect(summary).toEqual({ entity: 'adopted', contactsCreated: 0, contactsAdopted: 1, contactsUpdated: 0, contactsRevoked: 0, syncErrors: 0 });
  // Only what differs is written; the user's PATCH carries OwnerType, as CaseWare requires.
  expect(bodiesOf(first.requests, 'PATCH', `/entities/${entityGuid}`)).toEqual([{ City: 'Utrecht', Phone: '030-1234567' }]);
  expect(bodiesOf(first.requests, 'PATCH', `/users/${pietGuid}`)).toEqual([
    { OwnerType: 'Contact', LastName: 'Jansen' },
    { OwnerType: 'Contact', Type: 'A', InActiveDate: null },
  ]);
  // Each create was tried once and answered 409; nothing was deleted or unshared.
  expect(first.calls['POST /entities']).toBe(1);
  expect(first.calls['POST /users']).toBe(1);
  expect(writes(first.calls).filter((route) => route.startsWith('DELETE '))).toEqual([]);
  expect(bodiesOf(first.requests, 'PATCH', `/entities/${entityGuid}/role-assignments`)).toEqual([
    { userIds: [pietGuid], roleId: expect.any(String), isRemove: false },
  ]);

  const state = await simState();
  expect(state.entities.filter((e) => e.EntityNo === '6101').map((e) => e.CWGuid)).toEqual([entityGuid]);
  expect(state.users.filter((u) => u.Email === 'piet@c6101.test').map((u) => ({ id: u.CWGuid, type: u.Type }))).toEqual([{ id: pietGuid, type: 'A' }]);
  expect(state.mails).toEqual([]);
  expect(state.roleAssignments.filter((a) => a.entityId === entityGuid).map((a) => a.userId).sort()).toEqual([pietGuid, bookkeeperGuid].sort());
  expect(state.users.find((u) => u.CWGuid === bookkeeperGuid)?.Type).toBe('A');
  const ledger = await db('portal_identities').where({ portal: 'caseware', client_number: '6101' }).orderBy('record_type').select('record_type', 'remote_id', 'access');
  expect(ledger).toEqual([
    { record_type: 'client', remote_id: entityGuid, access: 'active' },
    { record_type: 'contact', remote_id: pietGuid, access: 'active' },
  ]);

  // Adopted, the records are the ledger's: the next sync trusts it and writes nothing.
  const second = await received(async () => {
    summary = await activities.syncClientToCaseWare({ clientNumber: '6101', uptoEventId: 2 });
  });
  expect(summary).toMatchObject({ entity: 'unchanged', contactsCreated: 0, contactsAdopted: 0, contactsUpdated: 0 });
  expect(writes(second.calls)).toEqual([]);
});

test('an adopted entity and user that already hold the registry\'s values are not written at all', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '6102', kind: 'company', status: 'client', name: 'Gelijk B.V.', city: 'Baarn', links: { caseware: true } });
  await createContact(db, '6102', { firstName: 'Gea', lastName: 'Gelijk', email: 'gea@c6102.test', links: { caseware: true } });
  const loaded = (await simHook(simulator.origin, 'POST', 'load', {
    entities: [{ Name: 'Gelijk B.V.', EntityNo: '6102', City: 'Baarn' }],
    users: [{ OwnerType: 'Contact', Email: 'gea@c6102.test', FirstName: 'Gea', LastName: 'Gelijk' }],
  })) as { entities: string[]; users: string[] };
  await simHook(simulator.origin, 'POST', 'load', { roleAssignments: [{ entityId: loaded.entities[0], userId: loaded.users[0], roleName: 'Contact - Entity Access' }] });

  let summary: unknown;
  const run = await received(async () => {
    summary = await activities.syncClientToCaseWare({ clientNumber: '6102', uptoEventId: 1 });
  });
  expect(summary).toMatchObject({ entity: 'adopted', contactsAdopted: 1, contactsCreated: 0, contactsUpdated: 0, syncErrors: 0 });
  // The two creates CaseWare refused (409) are the only writes: no PATCH, no share (it is there).
  // Each is found with one page of its search; the entity's shares are read once (a page, and the
  // empty page that ends the list).
  const perClient = Object.fromEntries(Object.entries(run.calls).filter(([route]) => route !== 'GET /roles' && route !== 'POST /auth/token'));
  expect(perClient).toEqual({
    'POST /entities': 1, 'GET /entities': 1, 'POST /users': 1, 'GET /users': 1, 'GET /entities/:guid/role-assignments': 2,
  });
  expect((await simState()).mails).toEqual([]);
});

test('a new client costs the direct loop\'s calls: the entity, a user per contact, and one share, with no look-up', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '6103', kind: 'company', status: 'client', name: 'Nieuw B.V.', links: { caseware: true } });
  for (const n of [1, 2]) await createContact(db, '6103', { firstName: `N${n}`, email: `n${n}@c6103.test`, links: { caseware: true } });

  let summary: unknown;
  const run = await received(async () => {
    summary = await activities.syncClientToCaseWare({ clientNumber: '6103', uptoEventId: 1 });
  });
  expect(summary).toMatchObject({ entity: 'created', contactsCreated: 2, contactsAdopted: 0, syncErrors: 0 });
  // The contact role is looked up once per worker (and cached), not per client.
  const perClient = Object.fromEntries(Object.entries(run.calls).filter(([route]) => route !== 'GET /roles' && route !== 'POST /auth/token'));
  expect(perClient).toEqual({ 'POST /entities': 1, 'POST /users': 2, 'PATCH /entities/:guid/role-assignments': 1 });
  expect((await simState()).mails.filter((m) => m.to.endsWith('@c6103.test'))).toHaveLength(2);
});
