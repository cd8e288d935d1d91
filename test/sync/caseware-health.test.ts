import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Portal health and resync on purpose, over real servers: a failure that is not about a record
// leaves the client pending and the portal unhealthy until the cause is fixed, then the client
// syncs by itself; an operator's resync sends again what the ledger thinks CaseWare already has.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function createCompany(clientNumber: string) {
  const response = await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Company ${clientNumber} B.V.`, links: { caseware: true } });
  expect(response.status).toBe(201);
}

async function createContact(clientNumber: string, body: Record<string, unknown>) {
  const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, { links: { caseware: true }, ...body });
  expect(response.status).toBe(201);
  return response.body as { id: number };
}

async function simulator(path: string, body: unknown) {
  const response = await fetch(`${stack.simulator.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(204);
}

interface HealthJson {
  healthy: boolean;
  since: string | null;
  lastFailure: { code: string; message: string } | null;
  failures: number;
}
const health = async () => (await stack.api<{ caseware: HealthJson; clientOnline: HealthJson }>('GET', '/sync/health')).body;

describe('portal health', () => {
  test('a refused CaseWare secret leaves the client pending without sync errors and CaseWare unhealthy once; fixed, it syncs by itself', async () => {
    expect((await health()).caseware).toMatchObject({ healthy: true, since: null, lastFailure: null, failures: 0, hold: null });
    // CaseWare refuses the service's secret from now on (its cached token expires too).
    await simulator('/_sim/script', { rules: [{ method: 'POST', path: '^/auth/token$', status: 401 }] });
    await simulator('/_sim/faults', { expireTokensNow: true });
    await createCompany('7201');
    await createContact('7201', { firstName: 'Puck', email: 'puck@c7201.test' });
    await createCompany('7202');

    const sick = await waitFor('CaseWare to be unhealthy after both clients failed', async () => {
      const current = (await health()).caseware;
      return current.failures >= 2 && current;
    });
    expect(sick).toMatchObject({ healthy: false, lastFailure: { code: 'unauthorized' } });
    expect(sick.lastFailure!.message).toMatch(/^CaseWare Cloud refused POST \/auth\/token \(401 unauthorized\)/);
    expect((await health()).clientOnline.healthy).toBe(true);
    for (const number of ['7201', '7202']) {
      const status = await stack.api('GET', `/sync/clients/${number}`);
      expect(status.body.caseware).toMatchObject({ state: 'pending', errors: [] });
      expect((await stack.api('GET', `/sync/errors?clientNumber=${number}`)).body.errors).toEqual([]);
    }
    expect((await stack.simState()).entities.filter((e) => ['7201', '7202'].includes(e.EntityNo))).toEqual([]);

    // The secret is put right: the retries get through without anyone touching the clients.
    await simulator('/_sim/script', { rules: [] });
    await stack.settled('7201', { timeoutMs: 60_000 });
    await stack.settled('7202', { timeoutMs: 60_000 });
    const state = await stack.simState();
    expect(state.entities.filter((e) => ['7201', '7202'].includes(e.EntityNo))).toHaveLength(2);
    expect(state.users.filter((u) => u.Email === 'puck@c7201.test')).toHaveLength(1);
    expect((await health()).caseware).toMatchObject({ healthy: true, failures: 0, lastFailure: { code: 'unauthorized' } });
    expect((await stack.api('GET', '/sync/clients/7201')).body.caseware).toMatchObject({ state: 'in-sync', errors: [] });
  });
});

describe('resync', () => {
  test("a client's resync sends again the fields someone changed by hand in CaseWare", async () => {
    await createCompany('7203');
    await createContact('7203', { firstName: 'Rik', lastName: 'Register', email: 'rik@c7203.test' });
    await stack.settled('7203');
    let state = await stack.simState();
    const user = state.users.find((u) => u.Email === 'rik@c7203.test')!;
    const entity = state.entities.find((e) => e.EntityNo === '7203')!;

    // Someone edits CaseWare by hand; the ledger still believes it holds the registry's values.
    const byHand = new CaseWareClient({ baseUrl: stack.simulator.baseUrl, clientId: stack.simulator.clientId, clientSecret: stack.simulator.clientSecret });
    await byHand.updateContact(user.CWGuid, { LastName: 'Handwerk' });
    await byHand.updateEntity(entity.CWGuid, { Name: 'Handwerk B.V.' });

    const resync = await stack.api('POST', '/sync/clients/7203/resync');
    expect(resync).toEqual({ status: 202, body: { clients: 1 } });
    await waitFor('CaseWare to hold the registry values again', async () => {
      state = await stack.simState();
      return (
        state.users.find((u) => u.CWGuid === user.CWGuid)?.LastName === 'Register' &&
        state.entities.find((e) => e.CWGuid === entity.CWGuid)?.Name === 'Company 7203 B.V.'
      );
    });
    expect(state.users.filter((u) => u.Email === 'rik@c7203.test')).toHaveLength(1);
    expect(state.mails.filter((m) => m.to === 'rik@c7203.test')).toHaveLength(1);
    await stack.settled('7203');
  });

  test('resync of every client, and of a client that does not exist', async () => {
    const clients = Number((await stack.database.db('clients').count<{ count: number }[]>({ count: '*' }))[0]!.count);
    expect(await stack.api('POST', '/sync/resync')).toEqual({ status: 202, body: { clients } });
    expect((await stack.api('POST', '/sync/clients/9999/resync')).status).toBe(404);
    const kinds = await stack.database.db('outbox_events').where({ kind: 'client.resync' }).count<{ count: number }[]>({ count: '*' });
    expect(Number(kinds[0]!.count)).toBe(clients + 1);
  });

  test('the new routes are documented', async () => {
    const openapi = (await stack.api<{ paths: Record<string, unknown> }>('GET', '/openapi.json')).body;
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/sync/health', '/sync/resync', '/sync/clients/{number}/resync']));
  });
});
