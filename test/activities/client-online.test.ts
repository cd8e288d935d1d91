import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createClientOnlineActivities, type ClientOnlinePort } from '../../activities/client-online';
import { ClientOnlineClient } from '../../src/portals/client-online/client';
import { createClient, createContact } from '../../src/registry/repository';
import { listSyncErrors } from '../../src/registry/sync-status';
import { startClientOnlineSimulator, type ClientOnlineSimulator, type SimulatorState } from '../../src/simulators/client-online';
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
