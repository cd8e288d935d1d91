import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SyncErrorsJson } from '../api/harness';
import { startTestStack, syncRanSince, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// The system administrator's error list fed by real syncs (worker, Temporal, both portal
// simulators): an error counts each sync that meets it, resolves when the data is fixed, and a
// portal that refuses the service itself shows once, not as an error of every client.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function errorList(query: string): Promise<SyncErrorsJson> {
  const response = await stack.api<SyncErrorsJson>('GET', `/sync/errors${query}`);
  expect(response.status).toBe(200);
  return response.body;
}

/** Waits until both portals' syncs of the client have run with every change made so far. */
async function bothSynced(clientNumber: string) {
  await stack.settled(clientNumber);
  await syncRanSince(stack, clientNumber, 'caseware');
  await syncRanSince(stack, clientNumber, 'clientOnline');
}

describe('errors met by real syncs', () => {
  test('count each sync that meets them, per portal, and resolve when the data is fixed', async () => {
    const links = { caseware: true, clientOnline: true };
    expect((await stack.api('POST', '/clients', { clientNumber: '7301', kind: 'company', name: 'Zonder Mail B.V.', links })).status).toBe(201);
    const contact = await stack.api<{ id: number }>('POST', '/clients/7301/contacts', { firstName: 'Ivo', lastName: 'Zonder', links });
    expect(contact.status).toBe(201);
    await bothSynced('7301');

    const caseware = await errorList('?clientNumber=7301&portal=caseware');
    expect(caseware.errors.map((error) => [error.recordType, error.recordId, error.code])).toEqual([['contact', contact.body.id, 'missing-email']]);
    const clientOnline = await errorList('?clientNumber=7301&portal=clientOnline');
    expect(clientOnline.errors.map((error) => error.code).sort()).toEqual(['missing-email', 'no-client-user']);
    for (const error of [...caseware.errors, ...clientOnline.errors]) expect(error.message).toMatch(/Give|switch on/);
    const before = caseware.errors[0]!;

    // A change that fixes nothing: one more sync meets the same error.
    expect((await stack.api('PATCH', '/clients/7301', { city: 'Zwolle' })).status).toBe(200);
    await bothSynced('7301');
    const [again] = (await errorList('?clientNumber=7301&portal=caseware')).errors;
    expect(again).toMatchObject({ id: before.id, attempts: before.attempts + 1, firstSeenAt: before.firstSeenAt, resolvedAt: null });
    expect(Date.parse(again!.lastSeenAt)).toBeGreaterThan(Date.parse(before.lastSeenAt));

    // The contact gets an email: every error of 7301 resolves by itself, and stays in the history.
    expect((await stack.api('PATCH', `/contacts/${contact.body.id}`, { email: 'ivo@c7301.test' })).status).toBe(200);
    await bothSynced('7301');
    expect(await errorList('?clientNumber=7301')).toMatchObject({ errors: [], total: 0 });
    const history = await errorList('?clientNumber=7301&includeResolved=true&code=missing-email');
    expect(history.errors.map((error) => [error.portal, error.resolvedAt !== null]).sort()).toEqual([
      ['caseware', true],
      ['clientOnline', true],
    ]);
    expect(history.errors.find((error) => error.portal === 'caseware')?.attempts).toBe(before.attempts + 1);
  });
});

describe('a portal that refuses the service', () => {
  test('shows once in portals while the clients wait, with no error per client; fixed, it is gone', async () => {
    const simulator = async (path: string, body: unknown) => {
      const response = await fetch(`${stack.simulator.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(204);
    };
    expect((await errorList('')).portals).toEqual([]);
    await simulator('/_sim/script', { rules: [{ method: 'POST', path: '^/auth/token$', status: 401 }] });
    await simulator('/_sim/faults', { expireTokensNow: true });
    for (const clientNumber of ['7401', '7402']) {
      expect((await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Company ${clientNumber}`, links: { caseware: true } })).status).toBe(201);
    }

    const sick = await waitFor('CaseWare to have failed for both clients', async () => {
      const list = await errorList('');
      return (list.portals[0]?.failures ?? 0) >= 2 && list;
    });
    expect(sick.portals).toEqual([
      { portal: 'caseware', since: expect.any(String), lastFailure: { code: 'unauthorized', message: expect.stringContaining('401 unauthorized') }, failures: expect.any(Number) },
    ]);
    expect((await errorList('?clientNumber=7401')).errors).toEqual([]);
    expect((await errorList('?clientNumber=7402')).errors).toEqual([]);
    expect((await errorList('?portal=clientOnline')).portals).toEqual([]);

    await simulator('/_sim/script', { rules: [] });
    await stack.settled('7401', { timeoutMs: 60_000 });
    await stack.settled('7402', { timeoutMs: 60_000 });
    expect((await errorList('')).portals).toEqual([]);
  });
});
