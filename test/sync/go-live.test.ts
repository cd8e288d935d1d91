import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { portalDifferences, describe as describeDifference } from '../support/convergence';
import { assertLoginPrivacy, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Going live onto portals that already hold the firm's clients (issue 17), the runbook over real
// servers (registry API → outbox → Temporal → simulators over HTTP): hold both portals, import the
// registry, preview with a reconcile dry run, release, watch. The portals were filled by an earlier
// link (the simulators' /_sim/load: nobody mailed). Nobody who had a login gets a mail, nothing is
// made twice, the old logins keep their ref and username, the fields end equal to the registry,
// and what the preview said is what the syncs did.

let stack: TestStack;
let operator: string;
const both = { caseware: true, clientOnline: true };
const role = 'Contact - Entity Access';
const personClients = new Map<string, number>();

beforeAll(async () => {
  stack = await startTestStack();
  operator = (await createApiToken(stack.database.db, { name: 'olga', role: 'operator' })).secret;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function as(method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.services.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${operator}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) };
}

async function load(origin: string, body: unknown) {
  const response = await fetch(`${origin}/_sim/load`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { entities?: string[]; users?: string[] };
}

async function created(method: string, path: string, body: unknown): Promise<number> {
  const response = await stack.api(method, path, body);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id as number;
}

test('hold, import, preview, release: no mail to anyone who had a login, nothing twice, old logins kept, the preview was right', async () => {
  // ----- What the earlier link left -----------------------------------------------------------
  // CaseWare: entities 4001-4003, their contact users (shared), one of them deactivated by hand.
  const cw = await load(stack.simulator.origin, {
    entities: ['4001', '4002', '4003'].map((n) => ({ Name: `Oud ${n}`, EntityNo: n })),
    users: [
      { OwnerType: 'Contact', Email: 'anna@4001.test', FirstName: 'A.' },
      { OwnerType: 'Contact', Email: 'bert@4002.test', FirstName: 'Bert' },
      { OwnerType: 'Contact', Email: 'piet@prive.test', FirstName: 'Piet' },
    ],
  });
  await load(stack.simulator.origin, {
    roleAssignments: [
      { entityId: cw.entities![0]!, userId: cw.users![0]!, roleName: role },
      { entityId: cw.entities![1]!, userId: cw.users![1]!, roleName: role },
      { entityId: cw.entities![2]!, userId: cw.users![2]!, roleName: role },
    ],
  });
  // Client Online: the companies with their logins; Piet (a person client and a contact at 4003) has one login seeing both.
  await load(stack.clientOnline.origin, {
    clients: [
      { clientNumber: '4001', name: 'Oud 4001', kind: 'company', users: [{ ref: 'akl-11', email: 'anna@4001.test' }, { ref: 'akl-19', email: 'oud@4001.test' }] },
      { clientNumber: '4002', name: 'Oud 4002', kind: 'company', users: [{ ref: 'akl-12', email: 'BERT@4002.test' }] },
      { clientNumber: '4003', name: 'Oud 4003', kind: 'company', users: [{ ref: 'akl-13', email: 'piet@prive.test' }] },
      { clientNumber: '5001', name: 'P. Pieters', kind: 'person', users: [{ ref: 'akl-13', email: 'piet@prive.test' }] },
    ],
  });
  const mailsBefore = { caseware: (await stack.simState()).mails.length, clientOnline: (await stack.coState()).mails.length };

  // ----- Hold both portals, import the registry ------------------------------------------------
  for (const portal of ['caseware', 'clientOnline']) expect((await as('PUT', `/sync/portals/${portal}/hold`, { note: 'go-live' })).status).toBe(200);
  const callsBefore = { caseware: await calls(stack.simulator.origin), clientOnline: await calls(stack.clientOnline.origin) };
  for (const [clientNumber, name] of [['4001', 'Alfa 4001 B.V.'], ['4002', 'Bravo 4002 B.V.'], ['4003', 'Charlie 4003 B.V.'], ['4004', 'Delta 4004 B.V.']] as const) {
    expect((await stack.api('POST', '/clients', { clientNumber, kind: 'company', name, links: both })).status).toBe(201);
  }
  const piet = await created('POST', '/clients', {
    clientNumber: '5001', kind: 'person', name: 'P. Pieters', firstName: 'Piet', lastName: 'Pieters', privateEmail: 'piet@prive.test',
    correspondenceEmailPreference: 'private', links: both,
  });
  personClients.set('5001', piet);
  const anna = await created('POST', '/clients/4001/contacts', { firstName: 'Anna', lastName: 'Alfa', email: 'anna@4001.test', links: both });
  await created('POST', '/clients/4001/contacts', { firstName: 'Nick', lastName: 'Nieuw', email: 'nick@4001.test', links: both });
  await created('POST', '/clients/4002/contacts', { firstName: 'Bert', lastName: 'Bravo', email: 'bert@4002.test', links: both });
  await created('POST', '/clients/4003/contacts', { master: { clientNumber: '5001' }, email: 'piet@prive.test', links: both });
  await created('POST', '/clients/4004/contacts', { firstName: 'Dirk', lastName: 'Delta', email: 'dirk@4004.test', links: both });
  await created('POST', '/clients/4004/contacts', { firstName: 'Door', lastName: 'Delta', email: 'door@4004.test', links: both });
  // Held: the syncs wrote nothing, and every client waits.
  await waitFor('every client to wait for the held portals', async () => (await as('GET', '/sync/health')).body.caseware.hold?.heldClients >= 5, { timeoutMs: 30_000 });
  expect(writesSince(callsBefore.caseware, await calls(stack.simulator.origin))).toEqual([]);
  expect(writesSince(callsBefore.clientOnline, await calls(stack.clientOnline.origin))).toEqual([]);

  // ----- Preview ---------------------------------------------------------------------------------
  const preview = await as('POST', '/reconcile', { dryRun: true, wait: true });
  expect(preview.status, JSON.stringify(preview.body)).toBe(200);
  const outlook = Object.fromEntries((preview.body.report ?? preview.body).portals.map((p: { portal: string; outlook: unknown }) => [p.portal, p.outlook]));
  // CaseWare: 3 entities and Anna, Bert, Piet adopted; 4004, Nick, Dirk, Door created: 3 mails.
  expect(outlook.caseware).toEqual({ adopt: 6, create: 4, update: 0, keep: 0, conflicts: 0, credentialsMails: 3 });
  // Client Online: 4001-4003 and 5001 adopted with the logins of Anna, Bert and Piet; 4004, Nick, Dirk, Door created (3 mails); akl-19 kept.
  expect(outlook.clientOnline).toEqual({ adopt: 7, create: 4, update: 0, keep: 1, conflicts: 0, credentialsMails: 3 });

  // ----- Release, with a person edited while his login is being adopted --------------------------
  for (const portal of ['caseware', 'clientOnline']) expect((await as('DELETE', `/sync/portals/${portal}/hold`)).status).toBe(200);
  expect((await stack.api('PATCH', `/contacts/${anna}`, { lastName: 'Alfa-Nieuw' })).status).toBe(200);
  for (const clientNumber of ['4001', '4002', '4003', '4004', '5001']) await stack.settled(clientNumber, { timeoutMs: 60_000 });

  // ----- Watch -------------------------------------------------------------------------------------
  const co = await stack.coState();
  const cwState = await stack.simState();
  // The mails the preview announced, and no other: nobody who had a login was mailed.
  expect(cwState.mails.length - mailsBefore.caseware).toBe(outlook.caseware.credentialsMails);
  expect(co.mails.length - mailsBefore.clientOnline).toBe(outlook.clientOnline.credentialsMails);
  expect(co.mails.map((m) => m.ref)).not.toEqual(expect.arrayContaining(['akl-11']));
  for (const ref of ['akl-11', 'akl-12', 'akl-13']) expect(co.mails.some((m) => m.ref === ref), ref).toBe(false);
  // Nothing twice: one entity per client, one user per email, one login per username.
  expect(cwState.entities).toHaveLength(4);
  expect(new Set(cwState.users.map((u) => u.Email.toLowerCase())).size).toBe(cwState.users.length);
  expect(new Set(co.logins.map((l) => l.email.toLowerCase())).size).toBe(co.logins.length);
  // The old logins work as before: the same ref and username, now with the registry's details.
  expect(co.logins.find((l) => l.ref === 'akl-11')).toMatchObject({ email: 'anna@4001.test', firstName: 'Anna', lastName: 'Alfa-Nieuw' });
  expect(co.logins.find((l) => l.ref === 'akl-13')?.clients.sort()).toEqual(['4003', '5001']);
  expect(co.logins.find((l) => l.ref === 'akl-19')?.clients).toEqual(['4001']);
  // Every field equals the registry (adopted refs and kept users taken into account).
  const differences = await portalDifferences(stack.database.db, { caseware: cwState, clientOnline: co });
  expect(differences.map(describeDifference)).toEqual([]);
  const adopted = await stack.database.db('client_online_logins').where({ origin: 'adopted' }).select<{ person_key: string; ref: string }[]>('person_key', 'ref');
  assertLoginPrivacy(co, personClients, new Map(adopted.map((row) => [row.ref, row.person_key])));
  // The preview, run again, has nothing left to do.
  const after = await as('POST', '/reconcile', { dryRun: true, wait: true });
  for (const portal of (after.body.report ?? after.body).portals) {
    expect(portal.outlook, portal.portal).toMatchObject({ adopt: 0, create: 0, update: 0, conflicts: 0, credentialsMails: 0 });
  }
});

async function calls(origin: string): Promise<Record<string, number>> {
  return (await (await fetch(`${origin}/_sim/calls`)).json()) as Record<string, number>;
}

function writesSince(before: Record<string, number>, now: Record<string, number>): string[] {
  return Object.entries(now)
    .filter(([route, n]) => !route.startsWith('GET ') && route !== 'POST /auth/token' && n > (before[route] ?? 0))
    .map(([route]) => route);
}

test('a login made by hand between the preview and the release is adopted, not mailed', async () => {
  for (const portal of ['caseware', 'clientOnline']) expect((await as('PUT', `/sync/portals/${portal}/hold`)).status).toBe(200);
  expect((await stack.api('POST', '/clients', { clientNumber: '4005', kind: 'company', name: 'Echo 4005 B.V.', links: { caseware: false, clientOnline: true } })).status).toBe(201);
  await created('POST', '/clients/4005/contacts', { firstName: 'Eva', lastName: 'Echo', email: 'eva@4005.test', links: { caseware: false, clientOnline: true } });
  const preview = await as('POST', '/reconcile', { dryRun: true, wait: true });
  const clientOnline = (preview.body.report ?? preview.body).portals.find((p: { portal: string }) => p.portal === 'clientOnline');
  expect(clientOnline.outlook).toMatchObject({ create: 2, credentialsMails: 1 });

  // Meanwhile someone makes Eva a login by hand, under a client the registry does not know.
  await load(stack.clientOnline.origin, { clients: [{ clientNumber: '9005', name: 'Handwerk', kind: 'company', users: [{ ref: 'hand-1', email: 'eva@4005.test' }] }] });
  const mails = (await stack.coState()).mails.length;
  for (const portal of ['caseware', 'clientOnline']) expect((await as('DELETE', `/sync/portals/${portal}/hold`)).status).toBe(200);
  await stack.settled('4005', { timeoutMs: 60_000 });
  const co = await stack.coState();
  expect(co.mails.length).toBe(mails);
  expect(co.logins.filter((l) => l.email === 'eva@4005.test')).toEqual([expect.objectContaining({ ref: 'hand-1', firstName: 'Eva', clients: ['9005', '4005'] })]);
});
