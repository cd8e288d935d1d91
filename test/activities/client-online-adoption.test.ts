import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createClientOnlineActivities } from '../../activities/client-online';
import { createReconcileActivities } from '../../activities/reconcile';
import { ClientOnlineClient } from '../../src/portals/client-online/client';
import { createClient } from '../../src/registry/clients';
import { createContact, updateContact } from '../../src/registry/contacts';
import { listSyncErrors } from '../../src/registry/sync-status';
import { createReconcileRun } from '../../src/registry/reconcile-runs';
import { releaseKeptUsers, replaceDirectory } from '../../src/sync/login-refs';
import { approveCredentialsMails } from '../../src/sync/mail-guard';
import { startClientOnlineSimulator, type ClientOnlineSimulator, type SimulatorState } from '../../src/simulators/client-online/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';

// Going live onto a Client Online that already holds the firm's clients and logins (issue 17): the
// sync activity against the simulator, preloaded as an earlier link left it (`/_sim/load`: nobody
// mailed). A person met for the first time keeps the login he has: no credentials mail, the same
// ref and username, the fields brought to the registry's.

let database: TestDatabase;
let simulator: ClientOnlineSimulator;
let clientOnline: ClientOnlineClient;

beforeAll(async () => {
  [database, simulator] = await Promise.all([createTestDatabase(), startClientOnlineSimulator({ port: 0, processingDelayMs: 0 })]);
  clientOnline = new ClientOnlineClient({ baseUrl: simulator.baseUrl, apiKey: simulator.apiKey, requestTimeoutMs: 5_000 });
});
afterAll(async () => {
  await simulator?.close();
  await database?.drop();
});

const coState = async () => (await (await fetch(`${simulator.origin}/_sim/state`)).json()) as SimulatorState;
const activities = () => createClientOnlineActivities({ db: database.db, clientOnline, sendBsn: false });
const sync = (clientNumber: string) => activities().syncClientToClientOnline({ clientNumber, uptoEventId: 1 });

/** What an earlier link left in Client Online: clients with their logins, nobody mailed. */
async function legacy(clients: { clientNumber: string; name: string; users: { ref: string; email: string; firstName?: string }[] }[]) {
  const response = await fetch(`${simulator.origin}/_sim/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ clients: clients.map((c) => ({ kind: 'company', ...c })) }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

const mailsTo = async (ref: string) => (await coState()).mails.filter((mail) => mail.ref === ref).length;
const login = async (ref: string) => (await coState()).logins.find((l) => l.ref === ref);

test("a contact whose login an earlier link made is adopted: no mail, the same ref and username, the registry's fields", async () => {
  const { db } = database;
  await legacy([{ clientNumber: '1001', name: 'Alfa (old name)', users: [{ ref: 'legacy-77', email: 'piet@alfa.nl', firstName: 'P.' }] }]);
  await createClient(db, { clientNumber: '1001', kind: 'company', status: 'client', name: 'Alfa B.V.', links: { clientOnline: true } });
  const piet = await createContact(db, '1001', { firstName: 'Piet', lastName: 'Alfa', email: 'Piet@Alfa.nl', links: { clientOnline: true } });

  expect(await sync('1001')).toMatchObject({ client: 'adopted', loginsAdopted: 1, syncErrors: 0 });
  expect(await mailsTo('legacy-77')).toBe(0);
  expect((await coState()).mails).toEqual([]);
  expect(await login('legacy-77')).toMatchObject({ email: 'piet@alfa.nl', firstName: 'Piet', lastName: 'Alfa', clients: ['1001'] });
  expect((await coState()).clients.find((c) => c.clientNumber === '1001')).toMatchObject({ name: 'Alfa B.V.', users: ['legacy-77'] });
  expect(await db('client_online_logins').where({ person_key: `c-${piet.id}` }).first()).toMatchObject({ ref: 'legacy-77', origin: 'adopted' });

  // For good: a later edit is pushed under the same ref, and still nobody is mailed.
  expect(await sync('1001')).toMatchObject({ client: 'unchanged' });
  await updateContact(db, piet.id, { lastName: 'Alfa-Bravo' });
  expect(await sync('1001')).toMatchObject({ client: 'pushed' });
  expect(await login('legacy-77')).toMatchObject({ lastName: 'Alfa-Bravo' });
  expect((await coState()).mails).toEqual([]);
});

test('a login elsewhere in Client Online, made after the last bulk read: the refused username leads to it, and it is adopted, no mail', async () => {
  const { db } = database;
  await replaceDirectory(db, await clientOnline.listClients());
  // Made by hand after that read, under a client the registry does not know.
  await legacy([{ clientNumber: '9001', name: 'Oude administratie', users: [{ ref: 'legacy-5', email: 'karin@home.test' }] }]);
  await createClient(db, { clientNumber: '1002', kind: 'company', status: 'client', name: 'Bravo B.V.', links: { clientOnline: true } });
  await createContact(db, '1002', { firstName: 'Karin', lastName: 'Bravo', email: 'karin@home.test', links: { clientOnline: true } });

  // Client Online refuses the new login's username; the activity reads every login again and asks to be tried again.
  const first = await sync('1002').catch((error: unknown) => error);
  expect(first).toBeInstanceOf(ApplicationFailure);
  expect(first).toMatchObject({ type: 'ClientOnline:login-found', nonRetryable: false });
  expect(await sync('1002')).toMatchObject({ client: 'pushed', loginsAdopted: 1, syncErrors: 0 });
  expect(await login('legacy-5')).toMatchObject({ firstName: 'Karin', clients: ['9001', '1002'] });
  expect((await coState()).logins.filter((l) => l.email === 'karin@home.test')).toHaveLength(1);
  expect((await coState()).mails).toEqual([]);
});

test("users the client held that the registry does not give access are kept, not removed; a new person gets one login and one mail", async () => {
  const { db } = database;
  await legacy([{ clientNumber: '1003', name: 'Charlie', users: [{ ref: 'legacy-10', email: 'anna@charlie.test' }, { ref: 'legacy-11', email: 'bob@charlie.test' }] }]);
  await createClient(db, { clientNumber: '1003', kind: 'company', status: 'client', name: 'Charlie B.V.', links: { clientOnline: true } });
  await createContact(db, '1003', { firstName: 'Anna', email: 'anna@charlie.test', links: { clientOnline: true } });
  const nieuw = await createContact(db, '1003', { firstName: 'Nina', email: 'nina@charlie.test', links: { clientOnline: true } });

  expect(await sync('1003')).toMatchObject({ client: 'adopted', loginsAdopted: 1, loginsCreated: 1, usersKept: 1, syncErrors: 0 });
  const state = await coState();
  expect(state.clients.find((c) => c.clientNumber === '1003')?.users.sort()).toEqual(['legacy-10', 'legacy-11', `c-${nieuw.id}`].sort());
  expect(await login('legacy-11')).toMatchObject({ clients: ['1003'] });
  expect(state.mails.map((mail) => mail.ref)).toEqual([`c-${nieuw.id}`]);
  // The kept user stays in every later push.
  await updateContact(db, nieuw.id, { lastName: 'Nieuw' });
  expect(await sync('1003')).toMatchObject({ client: 'pushed' });
  expect(await login('legacy-11')).toMatchObject({ clients: ['1003'] });
});

test('two existing logins for one person, or one login for two persons: a sync error naming the records, nothing touched, nobody mailed', async () => {
  const { db } = database;
  // Person P: a client of the firm (private address) and a contact at Delta (business address); Delta holds a login for each.
  await legacy([{ clientNumber: '1004', name: 'Delta', users: [{ ref: 'legacy-20', email: 'p@home.test' }, { ref: 'legacy-21', email: 'p@delta.test' }] }]);
  const person = await createClient(db, {
    clientNumber: '2004', kind: 'person', status: 'client', name: 'P', firstName: 'Pim', privateEmail: 'p@home.test',
    correspondenceEmailPreference: 'private', links: { clientOnline: false },
  });
  await createClient(db, { clientNumber: '1004', kind: 'company', status: 'client', name: 'Delta B.V.', links: { clientOnline: true } });
  await createContact(db, '1004', { master: { clientNumber: '2004' }, email: 'p@delta.test', links: { clientOnline: true } });
  const before = await coState();

  expect(await sync('1004')).toMatchObject({ syncErrors: 1 });
  const errors = await listSyncErrors(db, { clientNumber: '1004' });
  expect(errors).toEqual([
    expect.objectContaining({ portal: 'clientOnline', recordType: 'client', recordId: person.id, code: 'client-online-login-ambiguous' }),
  ]);
  expect(errors[0]?.message).toContain(`person client ${person.id}`);
  expect(errors[0]?.message).not.toMatch(/@/);
  const after = await coState();
  expect(after.clients.find((c) => c.clientNumber === '1004')).toEqual(before.clients.find((c) => c.clientNumber === '1004'));
  expect(after.mails).toEqual(before.mails);

  // One login, two persons: a contact at Echo has the login of shared@echo.test; a person client with that address too.
  await legacy([{ clientNumber: '1005', name: 'Echo', users: [{ ref: 'legacy-30', email: 'shared@echo.test' }] }]);
  await createClient(db, { clientNumber: '1005', kind: 'company', status: 'client', name: 'Echo B.V.', links: { clientOnline: true } });
  await createContact(db, '1005', { firstName: 'Eva', email: 'shared@echo.test', links: { clientOnline: true } });
  expect(await sync('1005')).toMatchObject({ loginsAdopted: 1, syncErrors: 0 });
  const other = await createClient(db, {
    clientNumber: '2005', kind: 'person', status: 'client', name: 'R', firstName: 'Rob', privateEmail: 'shared@echo.test',
    correspondenceEmailPreference: 'private', links: { clientOnline: true },
  });
  await replaceDirectory(db, await clientOnline.listClients());
  expect(await sync('2005')).toMatchObject({ syncErrors: 1 });
  expect(await listSyncErrors(db, { clientNumber: '2005' })).toEqual([
    expect.objectContaining({ recordType: 'client', recordId: other.id, code: 'client-online-login-shared' }),
  ]);
  expect((await coState()).clients.some((c) => c.clientNumber === '2005')).toBe(false);
  expect((await coState()).mails).toEqual(before.mails);
});

test('an attempt that dies after adopting, before its push is answered: the next one pushes the same ref, one login, no mail', async () => {
  const { db } = database;
  await legacy([{ clientNumber: '1006', name: 'Foxtrot', users: [{ ref: 'legacy-40', email: 'fien@foxtrot.test' }] }]);
  await createClient(db, { clientNumber: '1006', kind: 'company', status: 'client', name: 'Foxtrot B.V.', links: { clientOnline: true } });
  await createContact(db, '1006', { firstName: 'Fien', email: 'fien@foxtrot.test', links: { clientOnline: true } });
  // The push after the adoption fails as a crashed worker's would: no answer.
  const script = (rules: unknown[]) => fetch(`${simulator.origin}/_sim/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
  await script([{ method: 'PUT', path: 'clients/1006$', status: 503, times: 1 }]);
  await expect(sync('1006')).rejects.toThrow();
  await script([]);
  expect(await sync('1006')).toMatchObject({ syncErrors: 0 });
  expect(await login('legacy-40')).toMatchObject({ firstName: 'Fien', clients: ['1006'] });
  expect((await coState()).logins.filter((l) => l.email === 'fien@foxtrot.test')).toHaveLength(1);
  expect(await mailsTo('legacy-40')).toBe(0);
});

test('the reconcile reports kept users as orphans, not as drift; once an operator lets them go, the next push removes their access, no mail', async () => {
  const { db } = database;
  const reconcile = createReconcileActivities({ db, caseware: {} as never, clientOnline, contactRoleName: 'Contact - Entity Access', sendBsn: false });
  const run = await createReconcileRun(db, { workflowId: 'reconcile-kept-users', dryRun: true });
  const counts = await reconcile.reconcilePortal({ runId: run.id, portal: 'clientOnline', dryRun: true });
  expect(counts.drifted).toBe(0);
  const orphans = await db('reconcile_orphans').where({ run_id: run.id, kind: 'kept-user' }).pluck('remote_id');
  expect(orphans).toEqual(['1003/legacy-11']);

  expect(await releaseKeptUsers(db, '1003')).toBe(1);
  expect(await sync('1003')).toMatchObject({ client: 'pushed' });
  expect(await login('legacy-11')).toBeUndefined();
  expect((await coState()).clients.find((c) => c.clientNumber === '1003')?.users).not.toContain('legacy-11');
  expect(await mailsTo('legacy-11')).toBe(0);
});

test('the credentials-mail guard: new logins beyond the threshold are left out of the push until two tokens approve them; each person mailed once', async () => {
  const { db } = database;
  const guarded = createClientOnlineActivities({ db, clientOnline, sendBsn: false, credentialsMailGuard: { threshold: 1, windowMs: 60_000 } });
  // The logins the tests above created count in the window: start from none.
  await db('credentials_mails').delete();
  await createClient(db, { clientNumber: '1007', kind: 'company', status: 'client', name: 'Golf B.V.', links: { clientOnline: true } });
  const people = [];
  for (const name of ['gijs', 'greet', 'guus']) people.push(await createContact(db, '1007', { firstName: name, email: `${name}@golf.test`, links: { clientOnline: true } }));
  const refs = people.map((p) => `c-${p.id}`);

  expect(await guarded.syncClientToClientOnline({ clientNumber: '1007', uptoEventId: 1 })).toMatchObject({ client: 'pushed', loginsCreated: 1, held: 'credentials-mails' });
  let state = await coState();
  expect(state.clients.find((c) => c.clientNumber === '1007')?.users).toEqual([refs[0]]);
  expect(state.mails.filter((m) => refs.includes(m.ref)).map((m) => m.ref)).toEqual([refs[0]]);
  // Held, it stays held on the next sync; nobody else is mailed.
  expect(await guarded.syncClientToClientOnline({ clientNumber: '1007', uptoEventId: 2 })).toMatchObject({ held: 'credentials-mails' });
  expect((await coState()).mails.filter((m) => refs.includes(m.ref))).toHaveLength(1);

  expect(await approveCredentialsMails(db, 'client_online', 'anna')).toMatchObject({ outcome: 'first-approval' });
  expect(await approveCredentialsMails(db, 'client_online', 'bob')).toMatchObject({ outcome: 'released', released: 2 });
  const after = await guarded.syncClientToClientOnline({ clientNumber: '1007', uptoEventId: 3 });
  expect(after).toMatchObject({ client: 'pushed', loginsCreated: 2 });
  expect(after.held).toBeUndefined();
  state = await coState();
  expect(state.clients.find((c) => c.clientNumber === '1007')?.users.sort()).toEqual([...refs].sort());
  expect(state.mails.filter((m) => refs.includes(m.ref)).map((m) => m.ref).sort()).toEqual([...refs].sort());
});
