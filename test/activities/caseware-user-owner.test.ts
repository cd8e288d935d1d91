import { afterAll, beforeAll, expect, test } from 'vitest';
import { createCaseWareActivities } from '../../activities/caseware';
import { createReconcileActivities } from '../../activities/reconcile';
import { up as giveUpAdoptedUsers } from '../../migrations/20261204000002_caseware_user_owner';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { ClientOnlineClient } from '../../src/portals/client-online/client';
import { createReconcileRun } from '../../src/registry/reconcile-runs';
import { createClient } from '../../src/registry/clients';
import { createContact, deleteContact } from '../../src/registry/contacts';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState } from '../../src/simulators/caseware/simulator';
import { startClientOnlineSimulator, type ClientOnlineSimulator } from '../../src/simulators/client-online/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';

// One CaseWare user belongs to one live ledger identity at a time (issue 22, item 2). A contact is
// deleted, and the same person is registered again, at another company, with the same email: the
// new contact adopts the CaseWare user the old one had. The reconcile must see that user as the new
// contact's, run after run, and never deactivate it as the deleted contact's.

let database: TestDatabase;
let caseWareSimulator: CaseWareSimulator;
let clientOnlineSimulator: ClientOnlineSimulator;
let caseware: CaseWareClient;

beforeAll(async () => {
  [database, caseWareSimulator, clientOnlineSimulator] = await Promise.all([
    createTestDatabase(),
    startCaseWareSimulator({ port: 0 }),
    startClientOnlineSimulator({ port: 0 }),
  ]);
  caseware = new CaseWareClient({
    baseUrl: caseWareSimulator.baseUrl, clientId: caseWareSimulator.clientId, clientSecret: caseWareSimulator.clientSecret, requestTimeoutMs: 2_000,
  });
});
afterAll(async () => {
  await caseWareSimulator?.close();
  await clientOnlineSimulator?.close();
  await database?.drop();
});

const role = 'Contact - Entity Access';
const simState = async () => (await (await fetch(`${caseWareSimulator.origin}/_sim/state`)).json()) as SimulatorState;

test('a contact registered again with a deleted contact\'s email keeps its CaseWare user active through three reconciles', async () => {
  const { db } = database;
  const sync = createCaseWareActivities({ db, caseware, contactRoleName: role });
  const clientOnline = new ClientOnlineClient({ baseUrl: clientOnlineSimulator.baseUrl, apiKey: clientOnlineSimulator.apiKey, requestTimeoutMs: 2_000 });
  const reconcile = createReconcileActivities({ db, caseware, clientOnline, contactRoleName: role, sendBsn: false });
  await createClient(db, { clientNumber: '8001', kind: 'company', status: 'client', name: 'Oud B.V.', links: { caseware: true } });
  await createClient(db, { clientNumber: '8002', kind: 'company', status: 'client', name: 'Nieuw B.V.', links: { caseware: true } });
  const leaving = await createContact(db, '8001', { firstName: 'Jan', lastName: 'Jansen', email: 'jan@home.test', links: { caseware: true } });
  await sync.syncClientToCaseWare({ clientNumber: '8001', uptoEventId: 1 });
  await sync.syncClientToCaseWare({ clientNumber: '8002', uptoEventId: 1 });

  // Jan leaves company 8001 (his contact is deleted and revoked) and is registered at 8002.
  await deleteContact(db, leaving.id);
  expect(await sync.syncClientToCaseWare({ clientNumber: '8001', uptoEventId: 2 })).toMatchObject({ contactsRevoked: 1 });
  const joining = await createContact(db, '8002', { firstName: 'Jan', lastName: 'Jansen', email: 'jan@home.test', links: { caseware: true } });
  await sync.syncClientToCaseWare({ clientNumber: '8002', uptoEventId: 2 });

  const jan = async () => {
    const state = await simState();
    const users = state.users.filter((user) => user.Email === 'jan@home.test');
    const entity = state.entities.find((e) => e.EntityNo === '8002');
    return { users, sharedWithNewCompany: users.some((u) => state.roleAssignments.some((a) => a.entityId === entity?.CWGuid && a.userId === u.CWGuid)) };
  };
  const before = await jan();
  expect(before.users.map((u) => u.Type)).toEqual(['A']);
  expect(before.sharedWithNewCompany).toBe(true);

  for (let hour = 1; hour <= 3; hour += 1) {
    const run = await createReconcileRun(db, { workflowId: `reconcile-owner-${hour}`, dryRun: false });
    const counts = await reconcile.reconcilePortal({ runId: run.id, portal: 'caseware', dryRun: false });
    // What a repair would do: the client's own sync, as the client.reconcile event starts it.
    for (const repair of await db('reconcile_repairs').where({ run_id: run.id }).select<{ client_number: string }[]>('client_number')) {
      await sync.syncClientToCaseWare({ clientNumber: repair.client_number, uptoEventId: 10 + hour });
    }
    expect(counts, `reconcile run ${hour}`).toMatchObject({ drifted: 0, inSync: 2 });
    const after = await jan();
    expect(after.users.map((u) => u.Type), `Jan's CaseWare user after run ${hour}`).toEqual(['A']);
    expect(after.sharedWithNewCompany).toBe(true);
  }
  // In the ledger, the user is the new contact's alone.
  const owners = await db('portal_identities').where({ portal: 'caseware', record_type: 'contact', remote_id: before.users[0]!.CWGuid }).pluck('record_id');
  expect(owners.map(Number)).toEqual([joining.id]);
});

test('the migration hands a user that a live identity holds over to it, and leaves other revoked identities their user', async () => {
  const { db } = database;
  const row = (recordId: number, remoteId: string, access: 'active' | 'revoked') => ({
    portal: 'caseware', record_type: 'contact', record_id: recordId, client_number: '8999', remote_id: remoteId, access,
  });
  await db('portal_identities').insert([row(90001, 'user-shared', 'revoked'), row(90002, 'user-shared', 'active'), row(90003, 'user-own', 'revoked')]);
  await giveUpAdoptedUsers(db);
  const held = await db('portal_identities').whereIn('record_id', [90001, 90002, 90003]).orderBy('record_id').pluck('remote_id');
  expect(held).toEqual([null, 'user-shared', 'user-own']);
});
