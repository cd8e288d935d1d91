import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { SimulatorState } from '../../src/simulators/client-online/simulator';
import { assertLoginPrivacy, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// The four situations of seed article 004 (Klantregistratie - koppeling met PinkWeb), over real
// servers: registry API → outbox → Temporal → Client Online simulator over HTTP. The simulator
// takes 50 ms per push between looking up logins and storing them, as a real service with a
// database would, so concurrent pushes can race.

let stack: TestStack;
const personClients = new Map<string, number>(); // client number → registry id

beforeAll(async () => {
  stack = await startTestStack({ clientOnlineProcessingDelayMs: 50 });
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(async () => {
  await fetch(`${stack.clientOnline.origin}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assertLoginPrivacy(await stack.coState(), personClients);
});

async function client(clientNumber: string, kind: 'company' | 'person', links: { caseware?: boolean; clientOnline?: boolean } = { clientOnline: true }, extra: Record<string, unknown> = {}) {
  const response = await stack.api('POST', '/clients', {
    clientNumber,
    kind,
    name: kind === 'person' ? `Persoon ${clientNumber}` : `Bedrijf ${clientNumber} B.V.`,
    links,
    ...extra,
  });
  expect(response.status).toBe(201);
  if (kind === 'person') personClients.set(clientNumber, response.body.id);
  return response.body as { id: number };
}

async function person(clientNumber: string, firstName: string, email: string, links = { clientOnline: true }) {
  return client(clientNumber, 'person', links, { firstName, lastName: 'Tester', privateEmail: email, correspondenceEmailPreference: 'private', bsn: '111222333' });
}

async function contact(clientNumber: string, body: Record<string, unknown>) {
  const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, { links: { clientOnline: true }, ...body });
  expect(response.status).toBe(201);
  return response.body as { id: number };
}

async function follow(contactId: number, masterClientNumber: string) {
  const response = await stack.api('PUT', `/contacts/${contactId}/master`, { clientNumber: masterClientNumber });
  expect(response.status).toBe(200);
}

const loginsOf = (state: SimulatorState, email: string) => state.logins.filter((l) => l.email === email);
const mailsTo = (state: SimulatorState, email: string) => state.mails.filter((m) => m.to === email);

async function settled(...clientNumbers: string[]) {
  for (const n of clientNumbers) await stack.settled(n);
}

describe('Client Online: clients, logins, one login per real person', () => {
  test('a company with one of two contacts linked: one client, one login for that contact', async () => {
    await client('7001', 'company');
    await contact('7001', { firstName: 'Piet', lastName: 'Portaal', email: 'piet@a7001.test' });
    await contact('7001', { firstName: 'Rob', lastName: 'Niet', email: 'rob@a7001.test', links: { clientOnline: false } });
    await settled('7001');
    const state = await stack.coState();
    expect(state.clients.find((c) => c.clientNumber === '7001')).toMatchObject({ kind: 'company', name: 'Bedrijf 7001 B.V.' });
    expect(loginsOf(state, 'piet@a7001.test')).toEqual([expect.objectContaining({ firstName: 'Piet', clients: ['7001'] })]);
    expect(loginsOf(state, 'rob@a7001.test')).toEqual([]);
    expect(mailsTo(state, 'piet@a7001.test')).toHaveLength(1);
  });

  test('a person client alone is both the client and its own client user; no BSN is sent', async () => {
    await person('7002', 'Sanne', 'sanne@home.test');
    await settled('7002');
    const state = await stack.coState();
    expect(state.clients.find((c) => c.clientNumber === '7002')).toMatchObject({ kind: 'person', bsn: null });
    expect(loginsOf(state, 'sanne@home.test')).toEqual([expect.objectContaining({ firstName: 'Sanne', clients: ['7002'] })]);
    expect(mailsTo(state, 'sanne@home.test')).toHaveLength(1);
    expect(JSON.stringify(state)).not.toContain('111222333');
  });

  test('a person who is also DGA of a company: one login that sees both, one credentials mail', async () => {
    // Seed 004, in its order: link the contact to its master, then switch on P, A, contact P.
    await person('7003', 'Paul', 'paul@home.test', { clientOnline: false });
    await client('7004', 'company', { clientOnline: false });
    const paulAtA = await contact('7004', { firstName: 'Paul', lastName: 'Tester', email: 'paul@a7004.test', links: { clientOnline: false } });
    await follow(paulAtA.id, '7003');
    expect((await stack.api('PUT', '/clients/7003/links', { clientOnline: true })).status).toBe(200);
    expect((await stack.api('PUT', '/clients/7004/links', { clientOnline: true })).status).toBe(200);
    expect((await stack.api('PUT', `/contacts/${paulAtA.id}/links`, { clientOnline: true })).status).toBe(200);
    await settled('7003', '7004');
    const state = await stack.coState();
    const logins = state.logins.filter((l) => l.firstName === 'Paul');
    expect(logins).toHaveLength(1);
    expect([...logins[0]!.clients].sort()).toEqual(['7003', '7004']);
    expect(logins[0]!.email).toBe('paul@home.test');
    expect(mailsTo(state, 'paul@home.test')).toHaveLength(1);
    expect(mailsTo(state, 'paul@a7004.test')).toHaveLength(0);
  });

  test('two persons at two companies: each one login seeing himself and both companies, never the other person', async () => {
    await person('7005', 'Pia', 'pia@home.test');
    await person('7006', 'Quint', 'quint@home.test');
    await client('7007', 'company');
    await client('7008', 'company');
    for (const company of ['7007', '7008']) {
      const p = await contact(company, { firstName: 'Pia', lastName: 'Tester', email: `pia@${company}.test`, links: { clientOnline: false } });
      const q = await contact(company, { firstName: 'Quint', lastName: 'Tester', email: `quint@${company}.test`, links: { clientOnline: false } });
      await follow(p.id, '7005');
      await follow(q.id, '7006');
      await stack.api('PUT', `/contacts/${p.id}/links`, { clientOnline: true });
      await stack.api('PUT', `/contacts/${q.id}/links`, { clientOnline: true });
    }
    await settled('7005', '7006', '7007', '7008');
    const state = await stack.coState();
    const pia = loginsOf(state, 'pia@home.test');
    const quint = loginsOf(state, 'quint@home.test');
    expect(pia).toHaveLength(1);
    expect(quint).toHaveLength(1);
    expect([...pia[0]!.clients].sort()).toEqual(['7005', '7007', '7008']);
    expect([...quint[0]!.clients].sort()).toEqual(['7006', '7007', '7008']);
    expect(mailsTo(state, 'pia@home.test')).toHaveLength(1);
    expect(mailsTo(state, 'quint@home.test')).toHaveLength(1);
    expect(state.logins.filter((l) => l.email.endsWith('@7007.test') || l.email.endsWith('@7008.test'))).toEqual([]);
  });

  test('changes to P, A and B fired at once never create P\'s login twice', async () => {
    await person('7009', 'Ruud', 'ruud@home.test', { clientOnline: false });
    await client('7010', 'company', { clientOnline: false });
    await client('7011', 'company', { clientOnline: false });
    const atA = await contact('7010', { firstName: 'Ruud', lastName: 'Tester', email: 'ruud@7010.test', links: { clientOnline: false } });
    const atB = await contact('7011', { firstName: 'Ruud', lastName: 'Tester', email: 'ruud@7011.test', links: { clientOnline: false } });
    await follow(atA.id, '7009');
    await follow(atB.id, '7009');
    await settled('7009', '7010', '7011');
    const responses = await Promise.all([
      stack.api('PUT', '/clients/7009/links', { clientOnline: true }),
      stack.api('PUT', '/clients/7010/links', { clientOnline: true }),
      stack.api('PUT', '/clients/7011/links', { clientOnline: true }),
      stack.api('PUT', `/contacts/${atA.id}/links`, { clientOnline: true }),
      stack.api('PUT', `/contacts/${atB.id}/links`, { clientOnline: true }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await settled('7009', '7010', '7011');
    const state = await stack.coState();
    const logins = loginsOf(state, 'ruud@home.test');
    expect(logins).toHaveLength(1);
    expect([...logins[0]!.clients].sort()).toEqual(['7009', '7010', '7011']);
    expect(mailsTo(state, 'ruud@home.test')).toHaveLength(1);
    const errors = await stack.api('GET', '/sync/errors');
    expect(errors.body.errors.filter((e: { clientNumber: string }) => ['7009', '7010', '7011'].includes(e.clientNumber))).toEqual([]);
  });

  test('a linked company without a client user is reported, not pretended to work', async () => {
    await client('7012', 'company');
    await contact('7012', { firstName: 'Zonder', lastName: 'Koppeling', email: 'zk@7012.test', links: { clientOnline: false } });
    await settled('7012');
    const errors = (await stack.api('GET', '/sync/errors?clientNumber=7012')).body.errors as { code: string; message: string; portal: string }[];
    expect(errors).toEqual([expect.objectContaining({ portal: 'clientOnline', code: 'no-client-user' })]);
    expect(errors[0]!.message).toContain('client 7012 has no client user');
    const status = await stack.api('GET', '/sync/clients/7012');
    expect(status.body.clientOnline.state).toBe('error');
  });

  test('switching a contact off removes its access; switching the client off or making it former deletes it', async () => {
    await client('7013', 'company');
    const stays = await contact('7013', { firstName: 'Blijf', lastName: 'Hier', email: 'blijf@7013.test' });
    const leaves = await contact('7013', { firstName: 'Ga', lastName: 'Weg', email: 'weg@7013.test' });
    await settled('7013');
    expect((await stack.api('PUT', `/contacts/${leaves.id}/links`, { clientOnline: false })).status).toBe(200);
    await settled('7013');
    let state = await stack.coState();
    expect(state.clients.find((c) => c.clientNumber === '7013')?.users).toHaveLength(1);
    expect(loginsOf(state, 'weg@7013.test')).toEqual([]);
    expect((await stack.api('PATCH', '/clients/7013', { status: 'former' })).status).toBe(200);
    await settled('7013');
    state = await stack.coState();
    expect(state.clients.find((c) => c.clientNumber === '7013')).toBeUndefined();
    expect(loginsOf(state, 'blijf@7013.test')).toEqual([]);
    void stays;
  });

  test('Client Online failing does not hold back CaseWare Cloud, and catches up afterwards', async () => {
    await fetch(`${stack.clientOnline.origin}/_sim/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seed: 1, errorRate: 1 }),
    });
    await client('7014', 'company', { caseware: true, clientOnline: true });
    await contact('7014', { firstName: 'Beide', lastName: 'Portalen', email: 'beide@7014.test', links: { caseware: true, clientOnline: true } });
    const status = await waitFor('CaseWare to have every change', async () => {
      const current = await stack.api('GET', '/sync/clients/7014');
      return current.body.caseware.state === 'in-sync' && current;
    });
    expect((await stack.simState()).users.filter((u) => u.Email === 'beide@7014.test')).toHaveLength(1);
    expect(status.body.clientOnline.state).toBe('pending');
    expect((await stack.coState()).clients.find((c) => c.clientNumber === '7014')).toBeUndefined();
    await fetch(`${stack.clientOnline.origin}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await stack.settled('7014', { timeoutMs: 60_000 });
    const state = await stack.coState();
    expect(loginsOf(state, 'beide@7014.test')).toHaveLength(1);
    expect(mailsTo(state, 'beide@7014.test')).toHaveLength(1);
  }, 90_000);
});
