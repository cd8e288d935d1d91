import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { startTestStack, syncRanSince, type TestStack } from '../support/stack';

// Issue 18, item 4: a client deleted by hand in Client Online takes with it every login it alone
// held. The reconcile's repair pushes the client again, with the same refs, and Client Online,
// meeting refs it no longer knows, makes the logins anew and mails their persons new credentials.
// Over real servers: such a repair holds those logins for approval (the credentials-mail guard,
// whatever its count) instead of mailing silently; two operators approve, and each is made and
// mailed once. A login that another client still holds is no new login: that repair goes at once.

const threshold = 3;
let stack: TestStack;
const secrets: Record<'olga' | 'piet', string> = { olga: '', piet: '' };

beforeAll(async () => {
  stack = await startTestStack({ credentialsMailThreshold: threshold });
  for (const name of ['olga', 'piet'] as const) secrets[name] = (await createApiToken(stack.database.db, { name, role: 'operator' })).secret;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function as(name: keyof typeof secrets, method: string, path: string) {
  const response = await fetch(`${stack.services.apiUrl}${path}`, { method, headers: { authorization: `Bearer ${secrets[name]}` } });
  return { status: response.status, body: (await response.json()) as any };
}

async function created(path: string, body: Record<string, unknown>): Promise<{ id: number }> {
  const response = await stack.api('POST', path, body);
  expect(response.status, `POST ${path}`).toBe(201);
  return response.body as { id: number };
}

const clientOnlineOnly = { caseware: false, clientOnline: true };

/** Deletes a client in Client Online through its API, as a person at the firm would in the portal. */
async function deleteByHand(clientNumber: string) {
  const response = await fetch(`${stack.clientOnline.baseUrl}/api/v1/clients/${clientNumber}`, { method: 'DELETE', headers: { 'x-api-key': stack.clientOnline.apiKey } });
  expect(response.status).toBeLessThan(300);
}

async function reconcile() {
  const response = await stack.api('POST', '/reconcile', { wait: true });
  expect(response.status).toBe(200);
  const run = (await stack.api('GET', `/reconcile/runs/${response.body.id}`)).body;
  return { report: run.report.portals.find((p: { portal: string }) => p.portal === 'clientOnline'), repairs: run.repairs.filter((r: { portal: string }) => r.portal === 'clientOnline') };
}

const mailsTo = async (domain: string) => (await stack.coState()).mails.filter((m) => m.to.endsWith(domain)).map((m) => m.to).sort();
const loginsOf = async (domain: string) => (await stack.coState()).logins.filter((l) => l.email.endsWith(domain)).map((l) => l.email).sort();
const guard = async () => (await stack.api('GET', '/sync/health')).body.clientOnline.credentialsMails;

test('a client deleted by hand: the repair holds its logins for approval instead of mailing them; two approvals make each once, with one mail', async () => {
  await created('/clients', { clientNumber: '7301', kind: 'company', name: 'Handwerk B.V.', links: clientOnlineOnly });
  const anna = await created('/clients/7301/contacts', { firstName: 'Anna', lastName: 'Hand', email: 'anna@c7301.test', links: clientOnlineOnly });
  const bert = await created('/clients/7301/contacts', { firstName: 'Bert', lastName: 'Hand', email: 'bert@c7301.test', links: clientOnlineOnly });
  await stack.settled('7301');
  expect(await mailsTo('@c7301.test')).toEqual(['anna@c7301.test', 'bert@c7301.test']);

  // Deleted by hand: its logins go with it, since they saw no other client.
  await deleteByHand('7301');
  expect(await loginsOf('@c7301.test')).toEqual([]);

  const { report, repairs } = await reconcile();
  // Nobody mailed, no login made; the client is back, without them; both are listed as held, below the threshold.
  expect(await mailsTo('@c7301.test')).toEqual(['anna@c7301.test', 'bert@c7301.test']);
  expect(await loginsOf('@c7301.test')).toEqual([]);
  expect(report).toMatchObject({ drifted: 1, failed: 0, unfinished: 0 });
  expect(repairs).toEqual([expect.objectContaining({ clientNumber: '7301', message: expect.stringContaining('2 logins held for approval') })]);
  expect((await stack.coState()).clients.find((c) => c.clientNumber === '7301')).toBeDefined();
  const held = await guard();
  expect(held).toMatchObject({ threshold, held: 2, heldClients: 1, approval: null });
  expect(held.sentInWindow).toBeLessThan(threshold);
  expect(held.heldCreations.map((h: { clientNumber: string; recordType: string; recordId: number; reason: string }) => [h.clientNumber, h.recordType, h.recordId, h.reason])).toEqual([
    ['7301', 'contact', anna.id, 'recreation'],
    ['7301', 'contact', bert.id, 'recreation'],
  ]);
  expect((await stack.api('GET', '/sync/clients/7301')).body.clientOnline.state).toBe('pending');

  // A change of the client meanwhile is pushed without them: still nobody mailed.
  expect((await stack.api('PATCH', '/clients/7301', { city: 'Zwolle' })).status).toBe(200);
  await syncRanSince(stack, '7301', 'clientOnline');
  expect((await stack.coState()).clients.find((c) => c.clientNumber === '7301')?.city).toBe('Zwolle');
  expect(await loginsOf('@c7301.test')).toEqual([]);
  expect(await mailsTo('@c7301.test')).toEqual(['anna@c7301.test', 'bert@c7301.test']);

  // Four eyes: one approval lets nothing through, the second does; each login is made and mailed once.
  expect((await as('olga', 'POST', '/sync/portals/clientOnline/approve-mails')).status).toBe(202);
  expect(await loginsOf('@c7301.test')).toEqual([]);
  expect((await as('piet', 'POST', '/sync/portals/clientOnline/approve-mails')).body).toMatchObject({ status: 'released', released: 2, clients: 1 });
  await stack.settled('7301');
  expect(await loginsOf('@c7301.test')).toEqual(['anna@c7301.test', 'bert@c7301.test']);
  expect(await mailsTo('@c7301.test')).toEqual(['anna@c7301.test', 'anna@c7301.test', 'bert@c7301.test', 'bert@c7301.test']);
  expect(await guard()).toMatchObject({ held: 0, approval: null });

  // Repaired for good: the next run finds nothing, and mails nobody.
  expect((await reconcile()).report).toMatchObject({ drifted: 0 });
  expect(await mailsTo('@c7301.test')).toHaveLength(4);
}, 90_000);

test('a client deleted by hand whose login another client still holds is repaired at once, with no mail and nothing held', async () => {
  const person = await created('/clients', {
    clientNumber: '7310', kind: 'person', name: 'C. Kaag', firstName: 'Cor', lastName: 'Kaag', email: 'cor@prive7310.test', links: clientOnlineOnly,
  });
  await created('/clients', { clientNumber: '7311', kind: 'company', name: 'Kaag B.V.', links: clientOnlineOnly });
  await created('/clients/7311/contacts', { master: { clientNumber: '7310' }, email: 'cor@c7311.test', links: clientOnlineOnly });
  await stack.settled('7310');
  await stack.settled('7311');
  const ref = `p-${person.id}`;
  expect((await stack.coState()).logins.find((l) => l.ref === ref)?.clients.sort()).toEqual(['7310', '7311']);
  const mailsBefore = (await stack.coState()).mails.filter((m) => m.ref === ref);
  expect(mailsBefore).toHaveLength(1);

  // Cor's login keeps his own client: the repair gives it the company again, as Client Online knows it.
  await deleteByHand('7311');
  const { report } = await reconcile();
  expect(report).toMatchObject({ drifted: 1, repaired: 1 });
  await stack.settled('7311');
  expect((await stack.coState()).logins.find((l) => l.ref === ref)?.clients.sort()).toEqual(['7310', '7311']);
  expect((await stack.coState()).mails.filter((m) => m.ref === ref)).toEqual(mailsBefore);
  expect((await guard()).held).toBe(0);
}, 60_000);
