import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCaseWareActivities } from '../../activities/caseware';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { createClient } from '../../src/registry/clients';
import { createContact, deleteContact, setContactLinks, updateContact } from '../../src/registry/contacts';
import { clientSyncStatus, listSyncErrors } from '../../src/registry/sync-status';
import { portalHealth } from '../../src/sync/health';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState } from '../../src/simulators/caseware/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { waitFor } from '../support/temporal';

// The sync activity called directly (no workflow), against a real database and the simulator.

let database: TestDatabase;
let simulator: CaseWareSimulator;
let caseware: CaseWareClient;

beforeAll(async () => {
  [database, simulator] = await Promise.all([createTestDatabase(), startCaseWareSimulator({ port: 0 })]);
  caseware = new CaseWareClient({ baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: simulator.clientSecret, requestTimeoutMs: 2_000 });
});
afterAll(async () => {
  await simulator?.close();
  await database?.drop();
});

const simState = async () => (await (await fetch(`${simulator.origin}/_sim/state`)).json()) as SimulatorState;
const calls = async () => (await (await fetch(`${simulator.origin}/_sim/calls`)).json()) as Record<string, number>;

/** Scripts the simulator's answers (see `/_sim/script`); an empty list ends the script. */
async function script(rules: { method: string; path: string; times?: number; delayMs?: number; status?: number; body?: string }[]) {
  const response = await fetch(`${simulator.origin}/_sim/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
  expect(response.status).toBe(204);
}

test('a contact role that does not exist fails the sync for good and shows as the client\'s sync error until fixed', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '6001', kind: 'company', status: 'client', name: 'Rol B.V.', links: { caseware: true } });
  const wrong = createCaseWareActivities({ db, caseware, contactRoleName: 'No Such Role' });
  const failure = await wrong.syncClientToCaseWare({ clientNumber: '6001', uptoEventId: 1 }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
  const errors = await listSyncErrors(db, { clientNumber: '6001' });
  expect(errors).toEqual([expect.objectContaining({ recordType: 'client', code: 'ConfigurationError' })]);
  expect(errors[0]!.message).toContain('CASEWARE_CONTACT_ROLE');

  const right = createCaseWareActivities({ db, caseware, contactRoleName: 'Contact - Entity Access' });
  await right.syncClientToCaseWare({ clientNumber: '6001', uptoEventId: 2 });
  expect(await listSyncErrors(db, { clientNumber: '6001' })).toEqual([]);
});

test('a run that created the entity and contact but died before recording them adopts them: no duplicates, no second mail', async () => {
  const { db } = database;
  const activities = createCaseWareActivities({ db, caseware, contactRoleName: 'Contact - Entity Access' });
  await createClient(db, { clientNumber: '6002', kind: 'company', status: 'client', name: 'Herstart B.V.', links: { caseware: true } });
  await createContact(db, '6002', { firstName: 'Sam', lastName: 'Opnieuw', email: 'sam@c6002.test', links: { caseware: true } });
  const first = await activities.syncClientToCaseWare({ clientNumber: '6002', uptoEventId: 1 });
  expect(first).toMatchObject({ entity: 'created', contactsCreated: 1 });

  await db('portal_identities').where({ client_number: '6002' }).del();
  const again = await activities.syncClientToCaseWare({ clientNumber: '6002', uptoEventId: 2 });
  expect(again).toMatchObject({ entity: 'adopted', contactsCreated: 0, contactsAdopted: 1 });
  const state = await simState();
  expect(state.entities.filter((e) => e.EntityNo === '6002')).toHaveLength(1);
  expect(state.users.filter((u) => u.Email === 'sam@c6002.test')).toHaveLength(1);
  expect(state.mails.filter((m) => m.to === 'sam@c6002.test')).toHaveLength(1);

  const third = await activities.syncClientToCaseWare({ clientNumber: '6002', uptoEventId: 3 });
  expect(third).toMatchObject({ entity: 'unchanged', contactsCreated: 0, contactsUpdated: 0 });
});

test('a contact CaseWare created although our request timed out is adopted when the retry meets a duplicate email', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '6003', kind: 'company', status: 'client', name: 'Laat B.V.', links: { caseware: true } });
  await createContact(db, '6003', { firstName: 'Tim', lastName: 'Laat', email: 'tim@c6003.test', links: { caseware: true } });
  // The user exists in CaseWare (made by the lost request), but the retry's lookup does not see it yet.
  await caseware.createContact({ FirstName: 'Tim', MiddleName: null, LastName: 'Laat', Initials: null, Email: 'tim@c6003.test', Phone: null, MobilePhone: null });
  let staleLookups = 1;
  const lagging = new Proxy(caseware, {
    get(target, property, receiver) {
      if (property === 'findUserByEmail' && staleLookups > 0) {
        return async () => { staleLookups -= 1; return undefined; };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const activities = createCaseWareActivities({ db, caseware: lagging, contactRoleName: 'Contact - Entity Access' });
  const summary = await activities.syncClientToCaseWare({ clientNumber: '6003', uptoEventId: 1 });
  expect(summary).toMatchObject({ contactsCreated: 0, contactsAdopted: 1, syncErrors: 0 });
  const state = await simState();
  expect(state.users.filter((u) => u.Email === 'tim@c6003.test')).toHaveLength(1);
  expect(state.mails.filter((m) => m.to === 'tim@c6003.test')).toHaveLength(1);
  const entity = state.entities.find((e) => e.EntityNo === '6003')!;
  const user = state.users.find((u) => u.Email === 'tim@c6003.test')!;
  expect(state.roleAssignments).toContainEqual(expect.objectContaining({ entityId: entity.CWGuid, userId: user.CWGuid }));
});

test('an email change CaseWare refuses leaves the old login with its contact, so nobody else can take over that user', async () => {
  const { db } = database;
  const activities = createCaseWareActivities({ db, caseware, contactRoleName: 'Contact - Entity Access' });
  await createClient(db, { clientNumber: '6004', kind: 'company', status: 'client', name: 'Wissel B.V.', links: { caseware: true } });
  const anne = await createContact(db, '6004', { firstName: 'Anne', email: 'anne@c6004.test', links: { caseware: true } });
  await activities.syncClientToCaseWare({ clientNumber: '6004', uptoEventId: 1 });
  // Someone already has the new address in CaseWare, outside this registry.
  await caseware.createContact({ FirstName: 'Ander', MiddleName: null, LastName: null, Initials: null, Email: 'bezet@c6004.test', Phone: null, MobilePhone: null });
  await updateContact(db, anne.id, { email: 'bezet@c6004.test' });
  await activities.syncClientToCaseWare({ clientNumber: '6004', uptoEventId: 2 });
  expect(await listSyncErrors(db, { clientNumber: '6004' })).toEqual([
    expect.objectContaining({ recordId: anne.id, code: 'caseware-duplicate-email' }),
  ]);

  // A new contact elsewhere with Anne's old address must not be given Anne's CaseWare user.
  await createClient(db, { clientNumber: '6005', kind: 'company', status: 'client', name: 'Ander B.V.', links: { caseware: true } });
  const other = await createContact(db, '6005', { firstName: 'Oud', email: 'anne@c6004.test', links: { caseware: true } });
  await activities.syncClientToCaseWare({ clientNumber: '6005', uptoEventId: 3 });
  expect(await listSyncErrors(db, { clientNumber: '6005' })).toEqual([
    expect.objectContaining({ recordId: other.id, code: 'shared-email' }),
  ]);
  const state = await simState();
  const anneUser = state.users.find((u) => u.Email === 'anne@c6004.test')!;
  expect(anneUser.FirstName).toBe('Anne');
  expect(state.roleAssignments.filter((a) => a.userId === anneUser.CWGuid)).toHaveLength(1);
});

test('with a contact group configured, linked contacts join it and leave it when their access ends', async () => {
  const { db } = database;
  const activities = createCaseWareActivities({ db, caseware, contactRoleName: 'Contact - Entity Staff', contactGroupName: 'Clients' });
  await createClient(db, { clientNumber: '6006', kind: 'company', status: 'client', name: 'Groep B.V.', links: { caseware: true } });
  const member = await createContact(db, '6006', { firstName: 'Gijs', email: 'gijs@c6006.test', links: { caseware: true } });
  await activities.syncClientToCaseWare({ clientNumber: '6006', uptoEventId: 1 });
  let state = await simState();
  const group = state.groups.find((g) => g.Name === 'Clients')!;
  const staffRole = state.roles.find((r) => r.Name === 'Contact - Entity Staff')!;
  const user = state.users.find((u) => u.Email === 'gijs@c6006.test')!;
  expect(state.groupAssignments).toContainEqual({ groupId: group.CWGuid, userId: user.CWGuid });
  expect(state.roleAssignments).toContainEqual(expect.objectContaining({ userId: user.CWGuid, roleId: staffRole.CWGuid }));

  await setContactLinks(db, member.id, { caseware: false });
  await activities.syncClientToCaseWare({ clientNumber: '6006', uptoEventId: 2 });
  state = await simState();
  expect(state.groupAssignments).not.toContainEqual({ groupId: group.CWGuid, userId: user.CWGuid });
  expect(state.roleAssignments.filter((a) => a.userId === user.CWGuid)).toEqual([]);
  expect(state.users.find((u) => u.CWGuid === user.CWGuid)?.Type).toBe('I');
});

test('an email change keeps the old login reserved until CaseWare has confirmed it: another contact given the old address does not adopt the user', async () => {
  const { db } = database;
  const activities = createCaseWareActivities({ db, caseware, contactRoleName: 'Contact - Entity Access' });
  await createClient(db, { clientNumber: '6007', kind: 'company', status: 'client', name: 'Verhuis B.V.', links: { caseware: true } });
  const x = await createContact(db, '6007', { firstName: 'Xander', email: 'x@c6007.test', links: { caseware: true } });
  await activities.syncClientToCaseWare({ clientNumber: '6007', uptoEventId: 1 });
  const xUser = (await simState()).users.find((u) => u.Email === 'x@c6007.test')!;

  // X's new address reaches CaseWare slowly, and fails once (a retryable 503).
  await updateContact(db, x.id, { email: 'x-nieuw@c6007.test' });
  await script([{ method: 'PATCH', path: '^/users/', times: 1, delayMs: 1_500, status: 503 }]);
  const patchesBefore = (await calls())['PATCH /users/:guid'] ?? 0;
  const xRun = activities.syncClientToCaseWare({ clientNumber: '6007', uptoEventId: 2 }).catch((error: unknown) => error);
  await waitFor('X\'s update to be on its way', async () => ((await calls())['PATCH /users/:guid'] ?? 0) > patchesBefore);

  // Meanwhile contact Y at another client is given X's old address and synced.
  await createClient(db, { clientNumber: '6008', kind: 'company', status: 'client', name: 'Nieuwkomer B.V.', links: { caseware: true } });
  const y = await createContact(db, '6008', { firstName: 'Yara', email: 'x@c6007.test', links: { caseware: true } });
  await activities.syncClientToCaseWare({ clientNumber: '6008', uptoEventId: 3 });
  expect(await listSyncErrors(db, { clientNumber: '6008' })).toEqual([expect.objectContaining({ recordId: y.id, code: 'shared-email' })]);
  let state = await simState();
  const yEntity = state.entities.find((e) => e.EntityNo === '6008')!;
  expect(state.roleAssignments.filter((a) => a.entityId === yEntity.CWGuid)).toEqual([]);

  expect(await xRun).toMatchObject({ type: 'CaseWare:server', nonRetryable: false });
  await script([]);
  await activities.syncClientToCaseWare({ clientNumber: '6007', uptoEventId: 2 });
  state = await simState();
  expect(state.users.find((u) => u.CWGuid === xUser.CWGuid)).toMatchObject({ Email: 'x-nieuw@c6007.test', FirstName: 'Xander' });

  // Once CaseWare has X's new address, the old one is free for Y: a user of Y's own.
  await activities.syncClientToCaseWare({ clientNumber: '6008', uptoEventId: 4 });
  expect(await listSyncErrors(db, { clientNumber: '6008' })).toEqual([]);
  state = await simState();
  const yUser = state.users.find((u) => u.Email === 'x@c6007.test')!;
  expect(yUser.CWGuid).not.toBe(xUser.CWGuid);
  expect(yUser.FirstName).toBe('Yara');
});

describe('a failure that is not about the record (credentials, permissions, unreadable answers)', () => {
  const wrongSecret = () =>
    new CaseWareClient({ baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: 'wrong', requestTimeoutMs: 2_000 });
  const cases = [
    { name: 'a wrong secret', code: 'unauthorized', numbers: ['6011', '6012'], client: wrongSecret, rules: [] },
    { name: 'a missing permission (403)', code: 'forbidden', numbers: ['6013', '6014'], client: () => caseware, rules: [{ method: 'POST', path: '^/entities$', status: 403 }] },
    { name: 'an answer that is not JSON', code: 'bad-response', numbers: ['6015', '6016'], client: () => caseware, rules: [{ method: 'POST', path: '^/entities$', status: 200, body: 'not json' }] },
  ];
  for (const { name, code, numbers, client, rules } of cases) {
    test(`${name} leaves the clients pending, opens no sync error, makes CaseWare unhealthy once, and heals by itself`, async () => {
      const { db } = database;
      for (const number of numbers) {
        await createClient(db, { clientNumber: number, kind: 'company', status: 'client', name: `Storing ${number} B.V.`, links: { caseware: true } });
        await createContact(db, number, { firstName: 'Fien', email: `fien@c${number}.test`, links: { caseware: true } });
      }
      await script(rules);
      const broken = createCaseWareActivities({ db, caseware: client(), contactRoleName: 'Contact - Entity Access' });
      for (const number of numbers) {
        const failure = await broken.syncClientToCaseWare({ clientNumber: number, uptoEventId: 1 }).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(ApplicationFailure);
        expect(failure).toMatchObject({ type: `CaseWare:${code}`, nonRetryable: false });
        expect(await listSyncErrors(db, { clientNumber: number })).toEqual([]);
        expect((await clientSyncStatus(db, number)).caseware.state).toBe('pending');
      }
      const sick = (await portalHealth(db)).caseware;
      expect(sick).toMatchObject({ healthy: false, failures: 2, lastFailure: { code } });
      expect(sick.lastFailure!.message).not.toMatch(/fien|Storing/i);
      expect(await db('portal_health').pluck('portal')).toEqual(['caseware']);

      // The operator fixes the cause; the retries get through by themselves.
      await script([]);
      const fixed = createCaseWareActivities({ db, caseware, contactRoleName: 'Contact - Entity Access' });
      for (const number of numbers) {
        await fixed.syncClientToCaseWare({ clientNumber: number, uptoEventId: 1 });
        expect(await listSyncErrors(db, { clientNumber: number })).toEqual([]);
      }
      expect((await portalHealth(db)).caseware).toMatchObject({ healthy: true, failures: 0, lastFailure: { code } });
      const state = await simState();
      expect(state.users.filter((u) => numbers.some((n) => u.Email === `fien@c${n}.test`))).toHaveLength(2);
    });
  }
});

test('the ledger erases what was sent for a contact once it is deleted and its access revoked', async () => {
  const { db } = database;
  const activities = createCaseWareActivities({ db, caseware, contactRoleName: 'Contact - Entity Access' });
  await createClient(db, { clientNumber: '6901', kind: 'company', status: 'client', name: 'Wissen B.V.', links: { caseware: true } });
  const contact = await createContact(db, '6901', { firstName: 'Wim', lastName: 'Wis', email: 'wim@c6901.test', links: { caseware: true } });
  await activities.syncClientToCaseWare({ clientNumber: '6901', uptoEventId: 1 });
  const ledgerRow = () => db('portal_identities').where({ portal: 'caseware', record_type: 'contact', record_id: contact.id }).first();
  expect(JSON.stringify((await ledgerRow()).last_sent)).toContain('Wis');

  await deleteContact(db, contact.id);
  await activities.syncClientToCaseWare({ clientNumber: '6901', uptoEventId: 2 });
  const row = await ledgerRow();
  expect(row).toMatchObject({ access: 'revoked', login_key: null, last_sent: null });
  expect((await simState()).users.find((u) => u.CWGuid === row.remote_id)?.Type).toBe('I');
});
