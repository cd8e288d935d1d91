import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { assertLoginPrivacy, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// A master's change reaches every follower through a durable workflow, then each follower's
// portals: CaseWare Cloud (the follower's name) and Client Online (the shared login's details).

let stack: TestStack;
let personId: number;
const followerIds: number[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  const person = await stack.api('POST', '/clients', {
    clientNumber: '9001', kind: 'person', name: 'H. de Groot', firstName: 'Henk', infix: 'de', lastName: 'Groot',
    privateEmail: 'henk@thuis.test', correspondenceEmailPreference: 'private', links: { clientOnline: true },
  });
  expect(person.status).toBe(201);
  personId = person.body.id;
  for (const company of ['9002', '9003']) {
    expect((await stack.api('POST', '/clients', { clientNumber: company, kind: 'company', name: `Groot ${company} B.V.`, links: { caseware: true, clientOnline: true } })).status).toBe(201);
    const follower = await stack.api('POST', `/clients/${company}/contacts`, {
      master: { clientNumber: '9001' }, email: `henk@${company}.test`, links: { caseware: true, clientOnline: true },
    });
    expect(follower.status).toBe(201);
    followerIds.push(follower.body.id);
  }
  // Many more followers in the registry only (no portal links), at one more company.
  expect((await stack.api('POST', '/clients', { clientNumber: '9004', kind: 'company', name: 'Archief B.V.' })).status).toBe(201);
  for (let i = 0; i < 25; i += 1) {
    const follower = await stack.api('POST', '/clients/9004/contacts', { master: { clientNumber: '9001' } });
    expect(follower.status).toBe(201);
    followerIds.push(follower.body.id);
  }
  for (const n of ['9001', '9002', '9003', '9004']) await stack.settled(n);
}, 120_000);
afterEach(async () => {
  assertLoginPrivacy(await stack.coState(), new Map([['9001', personId]]));
});
afterAll(async () => {
  await stack?.stop();
});

async function followersHave(field: string, value: string) {
  await waitFor(`every follower's ${field} to be ${value}`, async () => {
    const rows = await stack.database.db('contacts').whereIn('id', followerIds).pluck(field === 'lastName' ? 'last_name' : 'first_name');
    return rows.length === followerIds.length && rows.every((v) => v === value);
  }, { timeoutMs: 30_000 });
  for (const n of ['9001', '9002', '9003', '9004']) await stack.settled(n);
}

test('the master and its followers start equal, with one Client Online login for the person', async () => {
  const co = await stack.coState();
  const logins = co.logins.filter((l) => l.ref === `p-${personId}`);
  expect(logins).toHaveLength(1);
  expect([...logins[0]!.clients].sort()).toEqual(['9001', '9002', '9003']);
  expect(co.mails.filter((m) => m.ref === `p-${personId}`)).toHaveLength(1);
});

test('a master edit reaches every follower, CaseWare Cloud and Client Online', async () => {
  expect((await stack.api('PATCH', '/clients/9001', { lastName: 'Groot-Jansen' })).status).toBe(200);
  await followersHave('lastName', 'Groot-Jansen');
  const cw = await stack.simState();
  for (const company of ['9002', '9003']) {
    expect(cw.users.find((u) => u.Email === `henk@${company}.test`)?.LastName).toBe('Groot-Jansen');
  }
  const co = await stack.coState();
  const login = co.logins.find((l) => l.ref === `p-${personId}`);
  expect(login?.lastName).toBe('Groot-Jansen');
  expect(co.logins.filter((l) => l.ref === `p-${personId}`)).toHaveLength(1);
  expect(co.mails.filter((m) => m.ref === `p-${personId}`)).toHaveLength(1);
  const description = await stack.temporal.client.workflow.getHandle(`master-client-${personId}`).describe();
  expect(description.type).toBe('masterPropagationWorkflow');
});

test('two quick edits of the master end with the second one everywhere', async () => {
  const [first, second] = await Promise.all([
    stack.api('PATCH', '/clients/9001', { firstName: 'Hendrik' }),
    new Promise((resolve) => setTimeout(resolve, 5)).then(() => stack.api('PATCH', '/clients/9001', { firstName: 'Henkie' })),
  ]);
  expect([first.status, second.status]).toEqual([200, 200]);
  const master = (await stack.api('GET', '/clients/9001')).body.firstName as string;
  await followersHave('firstName', master);
  // A late run must not bring the first edit back. Runs of one master never overlap, so once a
  // later marker edit has reached every follower and both portals, every earlier run is over.
  expect((await stack.api('PATCH', '/clients/9001', { lastName: 'Groot-Marker' })).status).toBe(200);
  await followersHave('lastName', 'Groot-Marker');
  expect((await stack.coState()).logins.find((l) => l.ref === `p-${personId}`)?.lastName).toBe('Groot-Marker');
  const rows = await stack.database.db('contacts').whereIn('id', followerIds).pluck('first_name');
  expect(new Set(rows)).toEqual(new Set([master]));
  const cw = await stack.simState();
  expect(cw.users.find((u) => u.Email === 'henk@9002.test')?.FirstName).toBe(master);
  const co = await stack.coState();
  expect(co.logins.find((l) => l.ref === `p-${personId}`)?.firstName).toBe(master);
});

test('strictly sequential edits: the last one wins', async () => {
  for (const name of ['Een', 'Twee', 'Drie']) {
    expect((await stack.api('PATCH', '/clients/9001', { lastName: name })).status).toBe(200);
  }
  await followersHave('lastName', 'Drie');
  expect((await stack.simState()).users.find((u) => u.Email === 'henk@9003.test')?.LastName).toBe('Drie');
  expect((await stack.coState()).logins.find((l) => l.ref === `p-${personId}`)?.lastName).toBe('Drie');
});
