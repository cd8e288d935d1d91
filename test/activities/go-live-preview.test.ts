import { afterAll, beforeAll, expect, test } from 'vitest';
import { createCaseWareActivities } from '../../activities/caseware';
import { createClientOnlineActivities } from '../../activities/client-online';
import { createReconcileActivities } from '../../activities/reconcile';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { ClientOnlineClient } from '../../src/portals/client-online/client';
import { createReconcileRun, getReconcileRun } from '../../src/registry/reconcile-runs';
import { createClient } from '../../src/registry/clients';
import { createContact } from '../../src/registry/contacts';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState as CaseWareState } from '../../src/simulators/caseware/simulator';
import { startClientOnlineSimulator, type ClientOnlineSimulator, type SimulatorState as ClientOnlineState } from '../../src/simulators/client-online/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';

// The go-live preview (issue 17, item 3): a reconcile dry run over portals that already hold most of
// the firm (an earlier link made them; nobody mailed), before anything is synced, says per portal
// how many objects the syncs will adopt, create and update, what they keep, which conflicts stop
// them, and how many credentials mails go out; the syncs then do exactly that.

let database: TestDatabase;
let cw: CaseWareSimulator;
let co: ClientOnlineSimulator;
let caseware: CaseWareClient;
let clientOnline: ClientOnlineClient;
const role = 'Contact - Entity Access';

beforeAll(async () => {
  [database, cw, co] = await Promise.all([createTestDatabase(), startCaseWareSimulator({ port: 0 }), startClientOnlineSimulator({ port: 0, processingDelayMs: 0 })]);
  caseware = new CaseWareClient({ baseUrl: cw.baseUrl, clientId: cw.clientId, clientSecret: cw.clientSecret, requestTimeoutMs: 5_000 });
  clientOnline = new ClientOnlineClient({ baseUrl: co.baseUrl, apiKey: co.apiKey, requestTimeoutMs: 5_000 });
});
afterAll(async () => {
  await cw?.close();
  await co?.close();
  await database?.drop();
});

async function load(origin: string, body: unknown) {
  const response = await fetch(`${origin}/_sim/load`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { entities?: string[]; users?: string[] };
}
const cwState = async () => (await (await fetch(`${cw.origin}/_sim/state`)).json()) as CaseWareState;
const coState = async () => (await (await fetch(`${co.origin}/_sim/state`)).json()) as ClientOnlineState;

test("the dry run's adopt, create, update and credentials-mail counts are what the syncs then do, at both portals", async () => {
  const { db } = database;
  // What the earlier link left: companies 3001 and 3002 with their contacts in both portals.
  const loaded = await load(cw.origin, {
    entities: [{ Name: 'Oud 3001', EntityNo: '3001' }, { Name: 'Oud 3002', EntityNo: '3002' }],
    users: [
      { OwnerType: 'Contact', Email: 'anna@3001.test', FirstName: 'A.' },
      { OwnerType: 'Contact', Email: 'bert@3002.test', FirstName: 'Bert' },
    ],
  });
  await load(cw.origin, {
    roleAssignments: [
      { entityId: loaded.entities![0]!, userId: loaded.users![0]!, roleName: role },
      { entityId: loaded.entities![1]!, userId: loaded.users![1]!, roleName: role },
    ],
  });
  await load(co.origin, {
    clients: [
      { clientNumber: '3001', name: 'Oud 3001', kind: 'company', users: [{ ref: 'old-1', email: 'anna@3001.test' }, { ref: 'old-9', email: 'gone@3001.test' }] },
      { clientNumber: '3002', name: 'Oud 3002', kind: 'company', users: [{ ref: 'old-2', email: 'bert@3002.test' }] },
    ],
  });
  const cwMailsBefore = (await cwState()).mails.length;
  expect((await coState()).mails).toEqual([]);

  // The registry, imported: the two companies (one contact new at each), and a company new to both portals.
  const both = { caseware: true, clientOnline: true };
  for (const [clientNumber, name] of [['3001', 'Alfa 3001 B.V.'], ['3002', 'Bravo 3002 B.V.'], ['3003', 'Charlie 3003 B.V.']] as const) {
    await createClient(db, { clientNumber, kind: 'company', status: 'client', name, links: both });
  }
  await createContact(db, '3001', { firstName: 'Anna', email: 'Anna@3001.test', links: both });
  await createContact(db, '3001', { firstName: 'Nick', email: 'nick@3001.test', links: both });
  await createContact(db, '3002', { firstName: 'Bert', email: 'bert@3002.test', links: both });
  await createContact(db, '3003', { firstName: 'Cor', email: 'cor@3003.test', links: both });

  const reconcile = createReconcileActivities({ db, caseware, clientOnline, contactRoleName: role, sendBsn: false });
  const run = await createReconcileRun(db, { workflowId: 'go-live-preview', dryRun: true });
  const preview = {
    caseware: (await reconcile.reconcilePortal({ runId: run.id, portal: 'caseware', dryRun: true })).outlook,
    clientOnline: (await reconcile.reconcilePortal({ runId: run.id, portal: 'clientOnline', dryRun: true })).outlook,
  };
  // CaseWare: entities 3001, 3002 adopted and 3003 created; Anna and Bert adopted, Nick and Cor created (2 mails).
  expect(preview.caseware).toEqual({ adopt: 4, create: 3, update: 0, keep: 0, conflicts: 0, credentialsMails: 2 });
  // Client Online: clients 3001, 3002 adopted, 3003 created; Anna's and Bert's logins adopted; Nick's and Cor's created (2 mails); old-9 kept.
  expect(preview.clientOnline).toEqual({ adopt: 4, create: 3, update: 0, keep: 1, conflicts: 0, credentialsMails: 2 });
  const details = await getReconcileRun(db, run.id);
  expect(details.outlook.filter((o) => o.portal === 'clientOnline' && o.action === 'keep')).toEqual([
    expect.objectContaining({ clientNumber: '3001', object: 'user', detail: 'old-9' }),
  ]);
  expect(JSON.stringify(details.outlook)).not.toMatch(/@/);
  // A dry run changes nothing.
  expect((await cwState()).mails.length).toBe(cwMailsBefore);
  expect((await coState()).mails).toEqual([]);

  // The syncs, as the released portals would run them.
  const cwSync = createCaseWareActivities({ db, caseware, contactRoleName: role });
  const coSync = createClientOnlineActivities({ db, clientOnline, sendBsn: false });
  for (const clientNumber of ['3001', '3002', '3003']) {
    await cwSync.syncClientToCaseWare({ clientNumber, uptoEventId: 1 });
    await coSync.syncClientToClientOnline({ clientNumber, uptoEventId: 1 });
  }
  const cwAfter = await cwState();
  const coAfter = await coState();
  expect(cwAfter.mails.length - cwMailsBefore).toBe(preview.caseware.credentialsMails);
  expect(coAfter.mails.length).toBe(preview.clientOnline.credentialsMails);
  expect(cwAfter.entities).toHaveLength(3);
  expect(cwAfter.users.filter((u) => u.OwnerType === 'Contact')).toHaveLength(4);
  const adoptedLogins = await db('client_online_logins').where({ origin: 'adopted' }).count<{ n: string }[]>({ n: '*' });
  expect(Number(adoptedLogins[0]?.n)).toBe(2);
  expect(coAfter.logins.map((l) => l.ref).sort()).toEqual(expect.arrayContaining(['old-1', 'old-2', 'old-9']));
  expect(coAfter.logins).toHaveLength(5);

  // Afterwards the preview is empty: everything is as the registry says.
  const after = await createReconcileRun(db, { workflowId: 'go-live-after', dryRun: true });
  expect((await reconcile.reconcilePortal({ runId: after.id, portal: 'caseware', dryRun: true })).outlook).toMatchObject({ adopt: 0, create: 0, update: 0, credentialsMails: 0 });
  expect((await reconcile.reconcilePortal({ runId: after.id, portal: 'clientOnline', dryRun: true })).outlook).toMatchObject({ adopt: 0, create: 0, update: 0, keep: 0, credentialsMails: 0 });
});

test('an executed run reports what its repairs did in the same words', async () => {
  const { db } = database;
  await load(co.origin, { clients: [{ clientNumber: '3004', name: 'Oud 3004', kind: 'company', users: [{ ref: 'old-4', email: 'dirk@3004.test' }] }] });
  await createClient(db, { clientNumber: '3004', kind: 'company', status: 'client', name: 'Delta 3004 B.V.', links: { clientOnline: true } });
  await createContact(db, '3004', { firstName: 'Dirk', email: 'dirk@3004.test', links: { clientOnline: true } });

  const reconcile = createReconcileActivities({ db, caseware, clientOnline, contactRoleName: role, sendBsn: false });
  const run = await createReconcileRun(db, { workflowId: 'go-live-executed', dryRun: false });
  const counts = await reconcile.reconcilePortal({ runId: run.id, portal: 'clientOnline', dryRun: false });
  expect(counts.outlook).toMatchObject({ adopt: 2, create: 0, credentialsMails: 0 });
  // The client's own sync carries out the repair, as the client.reconcile event starts it.
  await createClientOnlineActivities({ db, clientOnline, sendBsn: false }).syncClientToClientOnline({ clientNumber: '3004', uptoEventId: 2 });
  const report = await reconcile.finishReconcileRun({ runId: run.id, portals: [counts] });
  expect(report.portals[0]?.done).toEqual({ adopt: 2, create: 0, update: 0, credentialsMails: 0 });
  expect((await coState()).mails.filter((mail) => mail.ref === 'old-4')).toEqual([]);
});

test('an executed run reports what its CaseWare repairs did: an entity and a contact user adopted, one created with a mail', async () => {
  const { db } = database;
  await load(cw.origin, { entities: [{ Name: 'Oud 3005', EntityNo: '3005' }], users: [{ OwnerType: 'Contact', Email: 'eef@3005.test', FirstName: 'E.' }] });
  await createClient(db, { clientNumber: '3005', kind: 'company', status: 'client', name: 'Echo 3005 B.V.', links: { caseware: true } });
  await createContact(db, '3005', { firstName: 'Eef', email: 'eef@3005.test', links: { caseware: true } });
  await createContact(db, '3005', { firstName: 'Fem', email: 'fem@3005.test', links: { caseware: true } });
  const mails = (await cwState()).mails.length;

  const reconcile = createReconcileActivities({ db, caseware, clientOnline, contactRoleName: role, sendBsn: false });
  const run = await createReconcileRun(db, { workflowId: 'go-live-executed-caseware', dryRun: false });
  const counts = await reconcile.reconcilePortal({ runId: run.id, portal: 'caseware', dryRun: false });
  expect(counts.outlook).toMatchObject({ adopt: 2, create: 1, credentialsMails: 1 });
  await createCaseWareActivities({ db, caseware, contactRoleName: role }).syncClientToCaseWare({ clientNumber: '3005', uptoEventId: 2 });
  const report = await reconcile.finishReconcileRun({ runId: run.id, portals: [counts] });
  expect(report.portals[0]?.done).toEqual({ adopt: 2, create: 1, update: 0, credentialsMails: 1 });
  expect((await cwState()).mails.length - mails).toBe(1);
});
