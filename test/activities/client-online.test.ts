import { ApplicationFailure } from '@temporalio/common';
import knex from 'knex';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createClientOnlineActivities, type ClientOnlinePort } from '../../activities/client-online';
import { ClientOnlineClient } from '../../src/portals/client-online/client';
import { createClient, updateClient } from '../../src/registry/clients';
import { createContact } from '../../src/registry/contacts';
import { listSyncErrors } from '../../src/registry/sync-status';
import { tryTakeLoginLeases } from '../../src/sync/login-leases';
import { startClientOnlineSimulator, type ClientOnlineSimulator, type SimulatorState } from '../../src/simulators/client-online/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';

// The Client Online sync activity called directly (no workflow), against a real database and the
// simulator over HTTP. The simulator takes 500 ms per push between looking up its logins and
// storing them, as a service with a database of its own does, so overlapping pushes race.

let database: TestDatabase;
let simulator: ClientOnlineSimulator;
let clientOnline: ClientOnlineClient;

beforeAll(async () => {
  [database, simulator] = await Promise.all([createTestDatabase(), startClientOnlineSimulator({ port: 0, processingDelayMs: 500 })]);
  clientOnline = new ClientOnlineClient({ baseUrl: simulator.baseUrl, apiKey: simulator.apiKey, requestTimeoutMs: 5_000 });
});
afterAll(async () => {
  await simulator?.close();
  await database?.drop();
});

const coState = async () => (await (await fetch(`${simulator.origin}/_sim/state`)).json()) as SimulatorState;
const activitiesWith = (port: ClientOnlinePort, db = database.db) => createClientOnlineActivities({ db, clientOnline: port, sendBsn: false });
const sync = (port: ClientOnlinePort, clientNumber: string) => activitiesWith(port).syncClientToClientOnline({ clientNumber, uptoEventId: 1 });

async function personWithFollowers(personNumber: string, companyNumbers: string[], options: { personLinked: boolean }) {
  const { db } = database;
  const person = await createClient(db, {
    clientNumber: personNumber, kind: 'person', status: 'client', name: `Persoon ${personNumber}`, firstName: 'Oud', lastName: 'Tester',
    privateEmail: `p${personNumber}@home.test`, correspondenceEmailPreference: 'private', links: { clientOnline: options.personLinked },
  });
  for (const company of companyNumbers) {
    await createClient(db, { clientNumber: company, kind: 'company', status: 'client', name: `Bedrijf ${company}`, links: { clientOnline: true } });
    await createContact(db, company, { master: { clientNumber: personNumber }, email: `p${personNumber}@${company}.test`, links: { clientOnline: true } });
  }
  return { ref: `p-${person.id}` };
}

test('a 409 conflict (the login was created meanwhile by another push) is retried, and the retry ends without a sync error or a second mail', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '6201', kind: 'company', status: 'client', name: 'Conflict B.V.', links: { clientOnline: true } });
  const contact = await createContact(db, '6201', { firstName: 'Cor', email: 'cor@6201.test', links: { clientOnline: true } });
  const ref = `c-${contact.id}`;

  // Another writer pushes the same new login first; both pushes judge it new, ours applies second.
  const other = clientOnline.pushClient('6299', { name: 'Ander B.V.', kind: 'company', users: [{ ref, email: 'cor@6201.test' }] });
  const first = await sync(clientOnline, '6201').catch((error: unknown) => error);
  await other;
  expect(first).toBeInstanceOf(ApplicationFailure);
  expect(first).toMatchObject({ type: 'ClientOnline:conflict', nonRetryable: false });

  const retry = await sync(clientOnline, '6201');
  expect(retry).toMatchObject({ client: 'pushed', users: 1, syncErrors: 0 });
  expect(await listSyncErrors(db, { clientNumber: '6201' })).toEqual([]);
  const state = await coState();
  expect(state.logins.find((l) => l.ref === ref)?.clients.sort()).toEqual(['6201', '6299']);
  expect(state.mails.filter((m) => m.ref === ref)).toHaveLength(1);
});

test("a push that waited for another push of the same login sends the registry as it is then, not as it was when it started", async () => {
  const { db } = database;
  const { ref } = await personWithFollowers('6101', ['6102', '6103'], { personLinked: true });
  for (const n of ['6101', '6102', '6103']) await sync(clientOnline, n);

  // While company 6103's push of the login is under way, company 6102's sync starts (and waits
  // for it); the person's name changes before 6103's push is done.
  let syncOf6102: Promise<unknown> | undefined;
  const port: ClientOnlinePort = {
    requestTimeoutMs: clientOnline.requestTimeoutMs,
    deleteClient: (n, options) => clientOnline.deleteClient(n, options),
    getClient: (n, options) => clientOnline.getClient(n, options),
    listClients: (options) => clientOnline.listClients(options),
    async pushClient(n, body, options) {
      syncOf6102 = sync(clientOnline, '6102');
      const answer = await clientOnline.pushClient(n, body, options);
      await updateClient(db, '6101', { firstName: 'Nieuw' });
      return answer;
    },
  };
  // A change of its own, so that 6103 has something to push (an unchanged client is not pushed again).
  await updateClient(db, '6103', { city: 'Anders' });
  await sync(port, '6103');
  await syncOf6102;
  expect((await coState()).logins.find((l) => l.ref === ref)).toMatchObject({ firstName: 'Nieuw' });
});

test('100 concurrent pushes sharing 10 logins all finish on a pool of 2 connections: none holds one while Client Online works', async () => {
  const persons = Array.from({ length: 10 }, (_, i) => String(6300 + i));
  const companies = new Map(persons.map((p, i) => [p, Array.from({ length: 10 }, (_, j) => String(6400 + i * 10 + j))]));
  const refs: string[] = [];
  for (const [person, its] of companies) refs.push((await personWithFollowers(person, its, { personLinked: false })).ref);

  const small = knex({ client: 'pg', connection: database.url, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 5_000 });
  try {
    const activities = activitiesWith(clientOnline, small);
    const runs = await Promise.allSettled(
      [...companies.values()].flat().map((n) => activities.syncClientToClientOnline({ clientNumber: n, uptoEventId: 1 })),
    );
    const failed = runs.filter((run) => run.status === 'rejected');
    expect(failed, String(failed[0]?.reason)).toEqual([]);
  } finally {
    await small.destroy();
  }
  const state = await coState();
  for (const ref of refs) {
    expect(state.logins.find((l) => l.ref === ref)?.clients).toHaveLength(10);
    expect(state.mails.filter((m) => m.ref === ref)).toHaveLength(1);
  }
}, 120_000);

test('a push that got no answer leaves its login leased until the lease expires; an answered one gives it back', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '6501', kind: 'company', status: 'client', name: 'Traag B.V.', links: { clientOnline: true } });
  const slow = await createContact(db, '6501', { email: 'traag@6501.test', links: { clientOnline: true } });
  await createClient(db, { clientNumber: '6502', kind: 'company', status: 'client', name: 'Vlot B.V.', links: { clientOnline: true } });
  const quick = await createContact(db, '6502', { email: 'vlot@6502.test', links: { clientOnline: true } });

  // The client gives up after 100 ms; the simulator is still applying the push.
  const impatient = new ClientOnlineClient({ baseUrl: simulator.baseUrl, apiKey: simulator.apiKey, requestTimeoutMs: 100 });
  const failure = await sync(impatient, '6501').catch((error: unknown) => error);
  expect(failure).toMatchObject({ type: 'ClientOnline:timeout', nonRetryable: false });
  await sync(clientOnline, '6502');

  const leases = await db('client_online_login_leases').whereIn('ref', [`c-${slow.id}`, `c-${quick.id}`]);
  expect(leases).toEqual([expect.objectContaining({ ref: `c-${slow.id}` })]);
  // At least the grace period beyond the request timeout: the portal may still be working.
  expect((leases[0] as { expires_at: Date }).expires_at.getTime() - Date.now()).toBeGreaterThan(20_000);
  expect(await tryTakeLoginLeases(db, [`c-${slow.id}`], 'another push', 1_000)).toBe(false);
});

test('a refused API key leaves the client pending and marks Client Online unhealthy once, not as a record error; a good key heals it', async () => {
  const { db } = database;
  await createClient(db, { clientNumber: '6601', kind: 'company', status: 'client', name: 'Sleutel B.V.', links: { clientOnline: true } });
  await createContact(db, '6601', { firstName: 'Kees', email: 'kees@6601.test', links: { clientOnline: true } });
  const wrongKey = new ClientOnlineClient({ baseUrl: simulator.baseUrl, apiKey: 'not-the-key', requestTimeoutMs: 5_000 });

  for (let attempt = 0; attempt < 2; attempt += 1) {
    const failure = await sync(wrongKey, '6601').catch((error: unknown) => error);
    expect(failure).toMatchObject({ type: 'ClientOnline:unauthorized', nonRetryable: false });
  }
  expect(await listSyncErrors(db, { clientNumber: '6601' })).toEqual([]);
  expect(await db('portal_sync_state').where({ portal: 'client_online', client_number: '6601' })).toEqual([]);
  expect(await db('portal_health').where({ portal: 'client_online' })).toEqual([
    expect.objectContaining({ healthy: false, last_failure_code: 'unauthorized', failures: 2 }),
  ]);

  expect(await sync(clientOnline, '6601')).toMatchObject({ client: 'pushed', syncErrors: 0 });
  expect(await db('portal_health').where({ portal: 'client_online' })).toEqual([expect.objectContaining({ healthy: true })]);
});

test('a BSN sent to Client Online is not kept in the ledger, and a client deleted there leaves no copy of what was sent', async () => {
  const { db } = database;
  const withBsn = createClientOnlineActivities({ db, clientOnline, sendBsn: true });
  const person = await createClient(db, {
    clientNumber: '6701', kind: 'person', status: 'client', name: 'Persoon 6701', firstName: 'Bas', lastName: 'Burger',
    bsn: '123456782', privateEmail: 'bas@home.test', correspondenceEmailPreference: 'private', links: { clientOnline: true },
  });
  await withBsn.syncClientToClientOnline({ clientNumber: '6701', uptoEventId: 1 });
  expect((await coState()).clients.find((c) => c.clientNumber === '6701')?.bsn).toBe('123456782');
  const ledgerRow = () => db('portal_identities').where({ portal: 'client_online', record_type: 'client', record_id: person.id }).first();
  const copy = JSON.stringify((await ledgerRow()).last_sent);
  expect(copy).not.toContain('123456782');
  expect(copy).toContain('"bsnSent":true');

  await updateClient(db, '6701', { status: 'former' });
  await withBsn.syncClientToClientOnline({ clientNumber: '6701', uptoEventId: 2 });
  expect(await ledgerRow()).toMatchObject({ access: 'revoked', last_sent: null });
  expect((await coState()).clients.some((c) => c.clientNumber === '6701')).toBe(false);
});
