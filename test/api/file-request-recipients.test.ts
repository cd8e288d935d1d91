import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import type { FileRequestSimState } from '../../src/simulators/caseware/simulator';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// GET /file-requests/recipients (a client's contacts as recipients, and why one cannot answer) and
// POST /file-requests with "grantAnswerRole": true and no contactIds (issue 21), over real servers:
// the stack shares every linked contact under "Contact - Entity Access", which may only view.

let stack: TestStack;
let viewerSecret = '';

beforeAll(async () => {
  stack = await startTestStack({ fileRequestTimings: { pollIntervalMs: 300, remindBeforeDueMs: [], remindAfterDueEveryMs: 60_000, maxRemindersAfterDue: 0, remindWithoutDueEveryMs: 0 } });
  viewerSecret = (await createApiToken(stack.database.db, { name: 'vera', role: 'viewer' })).secret;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function asViewer(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.services.apiUrl}${path}`, { headers: { authorization: `Bearer ${viewerSecret}` } });
  return { status: response.status, body: await response.json() };
}

/** A company with Anna and Bram de Boer (linked), Eva (linked, no email) and Carl (not linked). */
async function company(clientNumber: string) {
  expect((await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Company ${clientNumber}`, links: { caseware: true } })).status).toBe(201);
  const contact = async (fields: object) => {
    const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, fields);
    expect(response.status).toBe(201);
    return response.body.id as number;
  };
  const ids = {
    anna: await contact({ firstName: 'Anna', lastName: 'Jansen', email: `anna@${clientNumber}.work.test`, links: { caseware: true } }),
    bram: await contact({ firstName: 'Bram', infix: 'de', lastName: 'Boer', email: `bram@${clientNumber}.work.test`, links: { caseware: true } }),
    eva: await contact({ firstName: 'Eva', lastName: 'Smit', links: { caseware: true } }),
    carl: await contact({ firstName: 'Carl', lastName: 'Kok', email: `carl@${clientNumber}.work.test`, links: { caseware: false } }),
  };
  await stack.settled(clientNumber);
  return ids;
}

const userGuid = async (email: string) => (await stack.simState()).users.find((u) => u.Email === email)?.CWGuid;

test('a viewer reads who may answer, who may once given the role, and who cannot and why', async () => {
  const ids = await company('rc1');
  const read = await asViewer('/file-requests/recipients?clientNumber=rc1');
  expect(read.status).toBe(200);
  expect(read.body).toEqual({
    clientNumber: 'rc1',
    clientRefusal: null,
    contacts: [
      { contactId: ids.anna, name: 'Anna Jansen', answer: 'needs-answering-role', reason: 'view-only', sentence: 'may only view (Contact - Entity Access); may answer once given Contact - Entity Staff' },
      { contactId: ids.bram, name: 'Bram de Boer', answer: 'needs-answering-role', reason: 'view-only', sentence: 'may only view (Contact - Entity Access); may answer once given Contact - Entity Staff' },
      { contactId: ids.eva, name: 'Eva Smit', answer: 'cannot', reason: 'no-email', sentence: 'no CaseWare login (no email address)' },
      { contactId: ids.carl, name: 'Carl Kok', answer: 'cannot', reason: 'not-linked', sentence: 'not linked to CaseWare Cloud' },
    ],
  });

  expect((await asViewer('/file-requests/recipients?clientNumber=nope')).status).toBe(404);
  expect((await asViewer('/file-requests/recipients')).status).toBe(400);
  expect((await asViewer('/file-requests/recipients?clientNumber=rc1&colour=red')).status).toBe(400);
  const openapi = (await (await fetch(`${stack.services.apiUrl}/openapi.json`)).json()) as { paths: Record<string, { get?: { responses: Record<string, unknown> } }> };
  expect(Object.keys(openapi.paths['/file-requests/recipients']?.get?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '404']));

  // A client CaseWare Cloud does not hold: no request can go to it, and every contact says why.
  expect((await stack.api('POST', '/clients', { clientNumber: 'rc2', kind: 'company', name: 'Company rc2', links: { caseware: false } })).status).toBe(201);
  expect((await stack.api('POST', '/clients/rc2/contacts', { firstName: 'Dora', email: 'dora@rc2.work.test', links: { caseware: true } })).status).toBe(201);
  const off = await asViewer('/file-requests/recipients?clientNumber=rc2');
  expect(off.body.clientRefusal).toContain('client rc2 is not in CaseWare Cloud');
  expect(off.body.contacts).toMatchObject([{ name: 'Dora', answer: 'cannot', reason: 'not-linked' }]);
}, 60_000);

test('a contact without email is refused as having no CaseWare login; "grantAnswerRole" without contactIds goes to everyone who may answer or only view', async () => {
  const ids = await company('rc3');
  const base = { clientNumber: 'rc3', subject: 'Jaarstukken 2026' };
  const count = async () => Number((await stack.database.db('file_requests').count({ n: '*' }))[0]?.n);
  const before = await count();

  const noEmail = await stack.api('POST', '/file-requests', { ...base, contactIds: [ids.eva], grantAnswerRole: true });
  expect(noEmail.status).toBe(422);
  expect(noEmail.body.error.message).toContain(`contact ${ids.eva} at client rc3 has no CaseWare login (no email address)`);
  const nobody = await stack.api('POST', '/file-requests', base);
  expect(nobody.status).toBe(422);
  expect(nobody.body.error.message).toContain('no contact who may answer');
  expect(nobody.body.error.message).toContain('"grantAnswerRole": true');
  expect(await count()).toBe(before);

  const started = await stack.api('POST', '/file-requests', { ...base, grantAnswerRole: true });
  expect(started.status).toBe(202);
  expect(started.body.recipients.map((r: { contactId: number; name: string }) => [r.contactId, r.name])).toEqual([
    [ids.anna, 'Anna Jansen'],
    [ids.bram, 'Bram de Boer'],
  ]);
  const granted = await stack.database.db('caseware_answer_grants').whereIn('contact_id', Object.values(ids)).orderBy('contact_id').pluck('contact_id');
  expect(granted.map(Number)).toEqual([ids.anna, ids.bram]);

  // CaseWare Cloud holds the request for exactly Anna and Bram.
  const { id } = started.body;
  await waitFor(`file request ${id} in CaseWare Cloud`, async () => (await stack.api('GET', `/file-requests/${id}`)).body.remoteId !== null);
  const { remoteId } = (await stack.api('GET', `/file-requests/${id}`)).body;
  const held = ((await (await fetch(`${stack.simulator.origin}/_sim/file-requests`)).json()) as FileRequestSimState).fileRequests.find((r) => r.CWGuid === remoteId);
  expect(held?.Recipients.sort()).toEqual([await userGuid('anna@rc3.work.test'), await userGuid('bram@rc3.work.test')].sort());

  // Given the role, Anna and Bram may answer now; the list says so.
  const after = await asViewer('/file-requests/recipients?clientNumber=rc3');
  expect(after.body.contacts.map((c: { answer: string }) => c.answer)).toEqual(['may-answer', 'may-answer', 'cannot', 'cannot']);
  const listed = await stack.api('GET', '/file-requests?clientNumber=rc3');
  expect(listed.body.fileRequests[0].recipients.map((r: { name: string }) => r.name)).toEqual(['Anna Jansen', 'Bram de Boer']);
}, 60_000);
