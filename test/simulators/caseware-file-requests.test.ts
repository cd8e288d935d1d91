import { afterAll, beforeAll, expect, test } from 'vitest';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { startCaseWareSimulator, type CaseWareSimulator, type FileRequestSimState } from '../../src/simulators/caseware/simulator';
import { rawCall, simHook } from '../support/simulator-http';

// The simulated CaseWare Cloud's file requests ([assumed] shapes, seed article 003), through the
// client and raw HTTP.

let sim: CaseWareSimulator;
let client: CaseWareClient;

beforeAll(async () => {
  sim = await startCaseWareSimulator();
  client = new CaseWareClient({ baseUrl: sim.baseUrl, clientId: sim.clientId, clientSecret: sim.clientSecret, requestTimeoutMs: 2_000 });
});
afterAll(async () => {
  await sim?.close();
});

async function entityWith(entityNo: string) {
  const entity = await client.createEntity({ Name: `Company ${entityNo}`, EntityNo: entityNo } as never);
  const user = async (email: string) => client.createContact({ Email: email, FirstName: 'Ann', LastName: 'Smith' } as never);
  const staff = await user(`staff@${entityNo}.test`);
  const viewer = await user(`viewer@${entityNo}.test`);
  const roles = await client.listRoles();
  const roleId = (name: string) => roles.find((r) => r.Name === name)?.CWGuid as string;
  await client.shareEntity(entity.CWGuid, [staff.CWGuid, viewer.CWGuid], roleId('Contact - Entity Access'));
  await client.shareEntity(entity.CWGuid, [staff.CWGuid], roleId('Contact - Entity Staff'));
  return { entity: entity.CWGuid, staff: staff.CWGuid, viewer: viewer.CWGuid };
}

const state = () => simHook(sim.origin, 'GET', 'file-requests') as Promise<FileRequestSimState>;

test('only a contact with "Contact - Entity Staff" on the entity can be a recipient; recipients are mailed; reminders mail again', async () => {
  const e = await entityWith('fs1');
  const body = { EntityId: e.entity, Subject: 'Jaarstukken', Description: 'graag', Recipients: [e.viewer], ExternalRef: 'fs1-a' };
  await expect(client.createFileRequest(body)).rejects.toMatchObject({ status: 422, retryable: false });
  const created = await client.createFileRequest({ ...body, Recipients: [e.staff], DueDate: '2027-01-31' });
  expect(created).toMatchObject({ Status: 'Open', Recipients: [e.staff], DueDate: '2027-01-31', ExternalRef: 'fs1-a' });
  // A second create with the same reference: 409 over raw HTTP; the client finds the first instead.
  const token = ((await rawCall('POST', `${sim.baseUrl}/auth/token`, {}, { ClientId: sim.clientId, ClientSecret: sim.clientSecret, Language: 'en' })).body as { Token: string }).Token;
  const again = await rawCall('POST', `${sim.baseUrl}/file-requests`, { authorization: `Bearer ${token}` }, { ...body, Recipients: [e.staff] });
  expect(again.status).toBe(409);
  expect((await client.createFileRequest({ ...body, Recipients: [e.staff] })).CWGuid).toBe(created.CWGuid);

  await client.remindFileRequest(created.CWGuid);
  const mails = (await state()).mails.filter((m) => m.request === created.CWGuid);
  expect(mails.map((m) => [m.to, m.kind])).toEqual([
    ['staff@fs1.test', 'file-request'],
    ['staff@fs1.test', 'file-request-reminder'],
  ]);
  expect((await state()).fileRequests.find((r) => r.CWGuid === created.CWGuid)?.Reminders).toBe(1);
});

test('a recipient answers with files through the /_sim hook; an answered request takes no reminder and no cancel', async () => {
  const e = await entityWith('fs2');
  const created = await client.createFileRequest({ EntityId: e.entity, Subject: 's', Description: '', Recipients: [e.staff], ExternalRef: 'fs2-a' });
  const notRecipient = await fetch(`${sim.origin}/_sim/file-requests/${created.CWGuid}/answer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: e.viewer, files: ['a.pdf'] }),
  });
  expect(notRecipient.status).toBe(403);
  const answered = await simHook(sim.origin, 'POST', `file-requests/${created.CWGuid}/answer`, { userId: e.staff, files: ['a.pdf', 'b.pdf'] });
  expect(answered).toMatchObject({ Status: 'Answered', AnsweredBy: e.staff });
  const read = await client.getFileRequest(created.CWGuid);
  expect(read).toMatchObject({ Status: 'Answered', AnsweredBy: e.staff, Files: [{ Name: 'a.pdf' }, { Name: 'b.pdf' }] });
  await expect(client.remindFileRequest(created.CWGuid)).rejects.toMatchObject({ status: 422 });
  expect((await client.cancelFileRequest(created.CWGuid)).Status).toBe('Answered');
  expect(await client.getFileRequest('no-such-request')).toBeUndefined();
});

test('recipients can be replaced (someone kept may have lost access meanwhile) and a request cancelled', async () => {
  const e = await entityWith('fs3');
  const created = await client.createFileRequest({ EntityId: e.entity, Subject: 's', Description: '', Recipients: [e.staff], ExternalRef: 'fs3-a' });
  await expect(client.setFileRequestRecipients(created.CWGuid, [e.staff, e.viewer])).rejects.toMatchObject({ status: 422 });
  await client.deactivateUser(e.staff, '2026-12-01');
  // The deactivated recipient stays on the list, and gets no reminder.
  expect((await client.setFileRequestRecipients(created.CWGuid, [e.staff])).Recipients).toEqual([e.staff]);
  await client.remindFileRequest(created.CWGuid);
  expect((await state()).mails.filter((m) => m.request === created.CWGuid && m.kind === 'file-request-reminder')).toEqual([]);
  expect((await client.cancelFileRequest(created.CWGuid)).Status).toBe('Cancelled');
  await expect(client.setFileRequestRecipients(created.CWGuid, [e.staff])).rejects.toMatchObject({ status: 422 });
});
