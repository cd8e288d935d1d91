import { afterAll, beforeAll, expect, test } from 'vitest';
import { createClientOnlineActivities } from '../../activities/client-online';
import { ClientOnlineClient } from '../../src/portals/client-online/client';
import { createClient } from '../../src/registry/clients';
import { createContact, setContactLinks } from '../../src/registry/contacts';
import { requestResync } from '../../src/sync/resync';
import { startClientOnlineSimulator, type ClientOnlineSimulator, type SimulatorState } from '../../src/simulators/client-online/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';

// The Client Online hand-over (a login one client lets go of is pushed under the client that takes
// it over first, so Client Online never deletes it and mails new credentials) must survive what the
// ledger goes through: an operator's resync, and a push whose answer was lost. The sync activity is
// called directly, in the order the client workflows would run it, against the simulator over HTTP
// and a real database (issue 22, items 1 and 6).

let database: TestDatabase;
let simulator: ClientOnlineSimulator;
let clientOnline: ClientOnlineClient;

beforeAll(async () => {
  // 400 ms between reading its logins and storing them: long enough for an impatient client to give up on a push.
  [database, simulator] = await Promise.all([createTestDatabase(), startClientOnlineSimulator({ port: 0, processingDelayMs: 400 })]);
  clientOnline = new ClientOnlineClient({ baseUrl: simulator.baseUrl, apiKey: simulator.apiKey, requestTimeoutMs: 5_000 });
});
afterAll(async () => {
  await simulator?.close();
  await database?.drop();
});

const coState = async () => (await (await fetch(`${simulator.origin}/_sim/state`)).json()) as SimulatorState;
const sync = (clientNumber: string, port = clientOnline) =>
  createClientOnlineActivities({ db: database.db, clientOnline: port, sendBsn: false }).syncClientToClientOnline({ clientNumber, uptoEventId: 1 });

/**
 * Person P (not on Client Online himself) follows at companies X and Y, each of which has another
 * linked contact; `linkedAtX` says whether P's follower at X starts linked. All three synced.
 */
async function personAtTwoCompanies(base: number, linkedAtX: boolean) {
  const { db } = database;
  const [P, X, Y] = [String(base), String(base + 1), String(base + 2)];
  const person = await createClient(db, {
    clientNumber: P, kind: 'person', status: 'client', name: 'P', firstName: 'Piet', lastName: 'Pover',
    privateEmail: `p${P}@home.test`, correspondenceEmailPreference: 'private', links: { clientOnline: false },
  });
  for (const company of [X, Y]) {
    await createClient(db, { clientNumber: company, kind: 'company', status: 'client', name: `Bedrijf ${company}`, links: { clientOnline: true } });
    await createContact(db, company, { firstName: 'Collega', email: `c@${company}.test`, links: { clientOnline: true } });
  }
  const atX = await createContact(db, X, { master: { clientNumber: P }, email: `p@${X}.test`, links: { clientOnline: linkedAtX } });
  const atY = await createContact(db, Y, { master: { clientNumber: P }, email: `p@${Y}.test`, links: { clientOnline: false } });
  for (const clientNumber of [P, X, Y]) await sync(clientNumber);
  return { X, Y, atX, atY, ref: `p-${person.id}` };
}

test('after a resync, a login that moves from one company to another is handed over: one credentials mail, the login kept', async () => {
  const { db } = database;
  const { X, Y, atX, atY, ref } = await personAtTwoCompanies(7301, true);
  expect((await coState()).logins.find((l) => l.ref === ref)?.clients).toEqual([X]);

  // The operator resyncs everything; then the login moves from X to Y, and X's sync runs first.
  expect(await requestResync(db)).toBe(3);
  await setContactLinks(db, atX.id, { clientOnline: false });
  await setContactLinks(db, atY.id, { clientOnline: true });
  const atXSync = await sync(X);
  const atYSync = await sync(Y);

  const state = await coState();
  expect(state.mails.filter((m) => m.ref === ref)).toHaveLength(1);
  expect(state.logins.find((l) => l.ref === ref)?.clients).toEqual([Y]);
  // Y was pushed ahead of X's push; Y's own sync still sends it, as the resync asks.
  expect(atXSync).toMatchObject({ client: 'pushed', handedOver: [Y] });
  expect(atYSync).toMatchObject({ client: 'pushed' });
  // The resync's repairs are settled by the syncs that carried them out.
  const repairs = await db('reconcile_repairs').whereNull('run_id').whereIn('client_number', [X, Y]).where({ portal: 'client_online' }).pluck('status');
  expect(repairs.sort()).toEqual(['repaired', 'repaired']);
});

test('a resync sends a client whose push the ledger says Client Online holds, and settles with no change in the registry', async () => {
  const { db } = database;
  const { X } = await personAtTwoCompanies(7311, true);
  // Changed by hand in Client Online: the ledger cannot know.
  const state = await coState();
  const users = state.logins.filter((login) => login.clients.includes(X)).map(({ ref, email }) => ({ ref, email }));
  await clientOnline.pushClient(X, { name: 'Hand-edited', kind: 'company', users });
  expect(await sync(X)).toMatchObject({ client: 'unchanged' });

  expect(await requestResync(db, X)).toBe(1);
  expect(await sync(X)).toMatchObject({ client: 'pushed' });
  expect((await coState()).clients.find((c) => c.clientNumber === X)?.name).toBe(`Bedrijf ${X}`);
  // Once repaired, the next change-free sync trusts the ledger again.
  expect(await sync(X)).toMatchObject({ client: 'unchanged' });
});

test('a push whose answer was lost, then a revert: the login is taken off the client again and handed over, one mail', async () => {
  const { db } = database;
  const { X, Y, atX, atY, ref } = await personAtTwoCompanies(7321, false);

  // X's push that gives P's follower there the login is applied, but its answer never comes.
  await setContactLinks(db, atX.id, { clientOnline: true });
  const impatient = new ClientOnlineClient({ baseUrl: simulator.baseUrl, apiKey: simulator.apiKey, requestTimeoutMs: 150 });
  await expect(sync(X, impatient)).rejects.toThrow(/did not answer/);
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect((await coState()).logins.find((l) => l.ref === ref)?.clients).toEqual([X]);
  // Its login lease expired meanwhile (as it does after its grace period).
  await db('client_online_login_leases').del();

  // The registry goes back on it: P's login belongs at Y, not at X.
  await setContactLinks(db, atX.id, { clientOnline: false });
  await setContactLinks(db, atY.id, { clientOnline: true });
  const atXSync = await sync(X);
  await sync(Y);

  const state = await coState();
  expect(state.clients.find((c) => c.clientNumber === X)?.users).not.toContain(ref);
  expect(state.logins.find((l) => l.ref === ref)?.clients).toEqual([Y]);
  expect(state.mails.filter((m) => m.ref === ref)).toHaveLength(1);
  expect(atXSync).toMatchObject({ client: 'pushed', handedOver: [Y] });
});
