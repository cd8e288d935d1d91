import { afterAll, beforeAll, expect, test } from 'vitest';
import { createOffboarding, setOffboardingStatus } from '../../src/registry/offboardings';
import { createCompany, createContactAt, registryCounts, startApi, type ApiHarness } from './harness';

// Issue 22, item 3: while an offboarding holds a master (a person leaving or deceased, or a master
// contact losing access), no contact may become a new follower of it: it would share the master's
// login and keep it after the plan, made without it, has ended every access it knew of.

let api: ApiHarness;
const both = { caseware: true, clientOnline: true };

beforeAll(async () => {
  api = await startApi();
  for (const clientNumber of ['6101', '6102', '6103']) await createCompany(api, clientNumber, { links: both });
});
afterAll(async () => {
  await api?.close();
});

const hold = (request: Parameters<typeof createOffboarding>[1]['request']) =>
  createOffboarding(api.db, { request, requestedBy: 'alice', approvalThreshold: 0 });

async function person(clientNumber: string, status: 'client' | 'former' = 'client'): Promise<void> {
  const response = await api.call('POST', '/clients', { clientNumber, kind: 'person', status, name: `Person ${clientNumber}`, email: `p@${clientNumber}.test`, links: both });
  expect(response.statusCode).toBe(201);
}

test('a person being offboarded (person-deceased) takes no new follower: created as one, or linked later (409, naming the offboarding)', async () => {
  await person('6201');
  await createContactAt(api, '6101', { email: 'p@6101.test', links: both, master: { clientNumber: '6201' } });
  const other = await createContactAt(api, '6102', { email: 'x@6102.test', links: both });
  const held = await hold({ kind: 'person-deceased', clientNumber: '6201' });
  expect(held.status).toBe('awaiting-approval');

  const before = await registryCounts(api.db);
  const created = await api.call('POST', '/clients/6102/contacts', { email: 'p@6102.test', links: both, master: { clientNumber: '6201' } });
  expect(created.statusCode).toBe(409);
  expect(created.json<{ error: { message: string } }>().error.message).toBe(
    `client 6201 is being offboarded by offboarding ${held.id} (GET /offboardings/${held.id}); no contact can be linked to it as a new follower ` +
      'until that offboarding has finished or is cancelled',
  );
  const linked = await api.call('PUT', `/contacts/${other}/master`, { clientNumber: '6201' });
  expect(linked.statusCode).toBe(409);
  expect(linked.json<{ error: { message: string } }>().error.message).toContain(`offboarding ${held.id}`);
  expect(await registryCounts(api.db)).toEqual(before);
  expect((await api.call('GET', `/contacts/${other}`)).json<{ masterClientId: number | null }>().masterClientId).toBeNull();

  // Finished (here: cancelled), it lets go.
  await setOffboardingStatus(api.db, held.id, 'cancelled', { cancelledBy: 'bob' });
  expect((await api.call('PUT', `/contacts/${other}/master`, { clientNumber: '6201' })).statusCode).toBe(200);
});

test('a person who is already a former client is held too while he leaves, though no step changes his client', async () => {
  await person('6202', 'former');
  await createContactAt(api, '6101', { email: 'q@6101.test', links: both, master: { clientNumber: '6202' } });
  const other = await createContactAt(api, '6103', { email: 'y@6103.test', links: both });
  const held = await hold({ kind: 'person-leaves', clientNumber: '6202' });
  expect(held.plan.steps.map((step) => step.action)).toEqual(['contact-links-off', 'end-master-link']);
  const linked = await api.call('PUT', `/contacts/${other}/master`, { clientNumber: '6202' });
  expect(linked.statusCode).toBe(409);
  expect(linked.json<{ error: { message: string } }>().error.message).toContain(`client 6202 is being offboarded by offboarding ${held.id}`);
  // Nor may his status change meanwhile.
  expect((await api.call('PATCH', '/clients/6202', { status: 'client' })).statusCode).toBe(409);
});

test('a master contact losing its access takes no new follower meanwhile', async () => {
  const master = await createContactAt(api, '6103', { email: 'm@6103.test', links: both });
  const other = await createContactAt(api, '6102', { email: 'z@6102.test', links: both });
  const held = await hold({ kind: 'revoke-contact-access', contactId: master });
  const linked = await api.call('PUT', `/contacts/${other}/master`, { contactId: master });
  expect(linked.statusCode).toBe(409);
  expect(linked.json<{ error: { message: string } }>().error.message).toContain(`contact ${master} is being offboarded by offboarding ${held.id}`);
  const created = await api.call('POST', '/clients/6101/contacts', { email: 'n@6101.test', links: both, master: { contactId: master } });
  expect(created.statusCode).toBe(409);
});
