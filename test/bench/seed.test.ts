import { afterAll, beforeAll, expect, test } from 'vitest';
import { seedFirm, type SeededClient } from '../../bench/seed';
import { desiredCaseWareState } from '../../src/domain/caseware';
import { desiredClientOnlineState } from '../../src/domain/client-online';
import { caseWareDrift, clientOnlineDrift, shareKey, type LedgerView } from '../../src/domain/drift';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { ClientOnlineClient } from '../../src/portals/client-online/client';
import { loadClientsPage } from '../../src/registry/bulk-reads';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState as CaseWareState } from '../../src/simulators/caseware/simulator';
import { startClientOnlineSimulator, type ClientOnlineSimulator, type SimulatorState as ClientOnlineState } from '../../src/simulators/client-online/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { simState } from '../support/simulator-http';

// The benchmark seeds a large firm directly (bench/seed.ts) instead of provisioning it; its
// reconcile relies on that seed being exactly what the syncs would have made. Checked here on a
// small firm, with the reconcile's own pure comparison, without Temporal.

let database: TestDatabase;
let caseware: CaseWareSimulator;
let clientOnline: ClientOnlineSimulator;
let seeded: SeededClient[];

beforeAll(async () => {
  [database, caseware, clientOnline] = await Promise.all([createTestDatabase(), startCaseWareSimulator(), startClientOnlineSimulator()]);
  seeded = await seedFirm(database.db, { caseware, clientOnline }, { clients: 12, contactsPerClient: 3, prefix: 'B', contactRoleName: 'Contact - Entity Access' });
});
afterAll(async () => {
  await Promise.all([caseware?.close(), clientOnline?.close()]);
  await database?.drop();
});

test('the seeded portals and ledger are what the syncs would have made: no drift, no mails', async () => {
  expect(seeded).toHaveLength(12);
  expect(seeded.every((client) => client.contacts.length === 3)).toBe(true);

  const cw = new CaseWareClient({ baseUrl: caseware.baseUrl, clientId: caseware.clientId, clientSecret: caseware.clientSecret });
  const co = new ClientOnlineClient({ baseUrl: clientOnline.baseUrl, apiKey: clientOnline.apiKey });
  const [entities, users, assignments, roles, clients] = await Promise.all([
    cw.listEntities(),
    cw.listContactUsers(),
    cw.listAllRoleAssignments(),
    cw.listRoles(),
    co.listClients(),
  ]);
  const roleId = roles.find((role) => role.Name === 'Contact - Entity Access')!.CWGuid;
  const snapshot = {
    entitiesByGuid: new Map(entities.map((e) => [e.CWGuid, e])),
    entitiesByNumber: new Map(entities.map((e) => [e.EntityNo, e])),
    usersByGuid: new Map(users.map((u) => [u.CWGuid, u])),
    shares: new Set(assignments.map((a) => shareKey(a.entityId, a.userId, a.roleId))),
    roleId,
    groupMembers: undefined,
  };
  const coSnapshot = { clientsByNumber: new Map(clients.map((c) => [c.clientNumber, c])) };
  const identities = await database.db('portal_identities').select<{ portal: string; client_number: string; record_type: 'client' | 'contact'; record_id: number; remote_id: string; access: 'active' }[]>('*');
  const ledger = (portal: string, clientNumber: string): LedgerView[] =>
    identities
      .filter((i) => i.portal === portal && i.client_number === clientNumber)
      .map((i) => ({ recordType: i.record_type, recordId: i.record_id, remoteId: i.remote_id, access: i.access }));

  for (const { client, contacts } of await loadClientsPage(database.db, 0, 100)) {
    expect(caseWareDrift(desiredCaseWareState(client, contacts), ledger('caseware', client.clientNumber), snapshot)).toEqual([]);
    const desired = desiredClientOnlineState(client, contacts, new Map(), { sendBsn: false });
    expect(clientOnlineDrift(desired, ledger('client_online', client.clientNumber).length > 0, coSnapshot, false)).toEqual([]);
  }
  // One ledger row per entity, contact and Client Online client, each with what was sent.
  expect(identities).toHaveLength(12 * (1 + 3) + 12);
  const sent = await database.db('portal_identities').whereNull('last_sent').count<{ n: string }[]>({ n: '*' });
  expect(Number(sent[0]!.n)).toBe(0);
  expect((await simState<CaseWareState>(caseware.origin)).mails).toEqual([]);
  expect((await simState<ClientOnlineState>(clientOnline.origin)).mails).toEqual([]);
});
