import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiToken, revokeApiToken } from '../../src/api/tokens';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Four eyes (issue 12): an offboarding held for approval is approved by another token than the one
// that asked for it, the built-in token included, and the record names both. Over real servers: the held plan's workflow runs on
// a Temporal dev server, and the approval carries it out against the simulators.

let stack: TestStack;
const secrets: Record<string, string> = {};

beforeAll(async () => {
  stack = await startTestStack();
  for (const [name, role] of [['alice', 'operator'], ['bob', 'operator'], ['carol', 'viewer'], ['crm', 'registry']] as const) {
    secrets[name] = (await createApiToken(stack.database.db, { name, role })).secret;
  }
});
afterAll(async () => {
  await stack?.stop();
});

async function as(name: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.services.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secrets[name]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const both = { caseware: true, clientOnline: true };

/** A company whose offboarding removes more than the approval threshold (10): it is held. */
async function bigCompany(clientNumber: string): Promise<void> {
  expect((await as('crm', 'POST', '/clients', { clientNumber, kind: 'company', name: `Big ${clientNumber}`, links: both })).status).toBe(201);
  for (let i = 0; i < 11; i += 1) {
    expect((await as('crm', 'POST', `/clients/${clientNumber}/contacts`, { email: `c${i}@${clientNumber}.test`, links: both })).status).toBe(201);
  }
  await stack.settled(clientNumber);
}

test('the token that asked may not approve; another operator may, and the record names both', async () => {
  await bigCompany('e1');
  expect((await as('crm', 'POST', '/offboardings', { kind: 'client-leaves', clientNumber: 'e1', execute: true })).status).toBe(403);
  const started = await as('alice', 'POST', '/offboardings', { kind: 'client-leaves', clientNumber: 'e1', execute: true, reason: 'contract ended' });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body.status).toBe('awaiting-approval');
  const id: number = started.body.id;

  const own = await as('alice', 'POST', `/offboardings/${id}/approve`);
  expect(own.status).toBe(403);
  expect(own.body.error).toEqual({
    code: 'forbidden',
    message:
      `offboarding ${id} was asked for by token "alice"; another token with the operator role must approve it (four eyes). ` +
      'A second person approves it with a token of their own; make one with `portal-sync tokens create --name <name> --role operator`',
  });
  // A token made anew under the same name is still the one that asked.
  await revokeApiToken(stack.database.db, 'alice');
  expect((await as('alice', 'POST', `/offboardings/${id}/approve`)).status).toBe(401);
  secrets.alice = (await createApiToken(stack.database.db, { name: 'alice', role: 'operator' })).secret;
  expect((await as('alice', 'POST', `/offboardings/${id}/approve`)).status).toBe(403);
  const viewer = await as('carol', 'POST', `/offboardings/${id}/approve`);
  expect(viewer.status).toBe(403);
  expect(viewer.body.error.message).toContain('needs the operator role');

  const held = await as('carol', 'GET', `/offboardings/${id}`);
  expect(held.body).toMatchObject({ status: 'awaiting-approval', requestedBy: 'alice', approvedBy: null, approvedAt: null });
  // One shape for a step, planned or stored: a stored step is its planned step with its progress,
  // and answers the fields of earlier releases (recordType, recordId) for one more release.
  expect(held.body.steps).toHaveLength(held.body.plan.steps.length);
  held.body.steps.forEach((step: unknown, i: number) => expect(step).toMatchObject({ ...held.body.plan.steps[i], status: 'pending' }));
  const contactStep = held.body.steps.find((step: { action: string }) => step.action === 'contact-links-off');
  expect(contactStep).toMatchObject({ contactId: expect.any(Number), portals: ['caseware', 'clientOnline'], recordType: 'contact' });
  expect(contactStep.recordId).toBe(contactStep.contactId);
  expect(held.body.steps.find((step: { action: string }) => step.action === 'client-former')).toMatchObject({ clientNumber: 'e1', recordType: 'client' });

  const approved = await as('bob', 'POST', `/offboardings/${id}/approve`);
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  expect(approved.body).toMatchObject({ requestedBy: 'alice', approvedBy: 'bob' });
  const done = await waitFor(
    `offboarding ${id} to complete`,
    async () => {
      const response = await as('carol', 'GET', `/offboardings/${id}`);
      return response.body.status === 'completed' ? response.body : undefined;
    },
    { timeoutMs: 60_000 },
  );
  expect(done).toMatchObject({ requestedBy: 'alice', approvedBy: 'bob', cancelledBy: null, reason: 'contract ended' });
  expect(done.approvedAt).toEqual(expect.any(String));
  done.steps.forEach((step: unknown, i: number) => expect(step).toMatchObject({ ...done.plan.steps[i], status: 'done' }));
  expect((await as('carol', 'GET', '/offboardings?status=completed')).body.offboardings[0]).toMatchObject({ id, requestedBy: 'alice', approvedBy: 'bob' });
});

test('the built-in token may not approve what it asked for either; a named operator token may', async () => {
  await bigCompany('e3');
  const started = await stack.api('POST', '/offboardings', { kind: 'client-leaves', clientNumber: 'e3', execute: true });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body.status).toBe('awaiting-approval');
  const id: number = started.body.id;

  const own = await stack.api('POST', `/offboardings/${id}/approve`);
  expect(own.status).toBe(403);
  expect(own.body.error.code).toBe('forbidden');
  expect(own.body.error.message).toContain(`offboarding ${id} was asked for by the built-in token "api" (API_TOKEN)`);
  expect(own.body.error.message).toContain('another token with the operator role must approve it (four eyes)');
  expect(own.body.error.message).toContain('`portal-sync tokens create --name <name> --role operator`');
  expect((await as('carol', 'GET', `/offboardings/${id}`)).body).toMatchObject({ status: 'awaiting-approval', requestedBy: 'api', approvedBy: null });

  const approved = await as('bob', 'POST', `/offboardings/${id}/approve`);
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  expect(approved.body).toMatchObject({ requestedBy: 'api', approvedBy: 'bob' });
  const done = await waitFor(
    `offboarding ${id} to complete`,
    async () => {
      const response = await as('carol', 'GET', `/offboardings/${id}`);
      return response.body.status === 'completed' ? response.body : undefined;
    },
    { timeoutMs: 60_000 },
  );
  expect(done).toMatchObject({ requestedBy: 'api', approvedBy: 'bob', cancelledBy: null });
});

test('a cancel names the token that cancelled; the built-in token is named "api"', async () => {
  await bigCompany('e2');
  const started = await stack.api('POST', '/offboardings', { kind: 'client-leaves', clientNumber: 'e2', execute: true });
  expect(started.status).toBe(202);
  const id: number = started.body.id;
  expect((await as('carol', 'GET', `/offboardings/${id}`)).body.requestedBy).toBe('api');
  const cancelled = await as('bob', 'POST', `/offboardings/${id}/cancel`);
  expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
  const done = await waitFor('the offboarding to be cancelled', async () => {
    const response = await as('carol', 'GET', `/offboardings/${id}`);
    return response.body.status === 'cancelled' ? response.body : undefined;
  });
  expect(done).toMatchObject({ requestedBy: 'api', cancelledBy: 'bob', approvedBy: null });
});
