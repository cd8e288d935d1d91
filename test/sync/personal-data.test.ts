import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Personal data never enters Temporal: workflow ids, search attributes, memos and histories carry
// record ids and client numbers only. A varied scenario runs over real servers, then EVERY workflow
// run of this file's Temporal server (client syncs, master propagations, continued-as-new and
// closed runs) is fetched and every payload decoded and searched for the personal data used here.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

// Distinctive values, so that a hit cannot be a coincidence.
const person = {
  firstName: 'Wendelmoet', infix: 'ter', lastName: 'Zwanikken', initials: 'W.Q.', bsn: '174623895',
  residentialStreet: 'Lijsterbeslaan 42', residentialPostcode: '3421 QX', residentialCity: 'Oudewater',
  correspondenceStreet: 'Postbus 9876', correspondencePostcode: '3420 ZZ', correspondenceCity: 'Montfoort',
  privateEmail: 'wendelmoet@prive.test', privateMobile: '06-98761234', correspondenceEmailPreference: 'private',
};
const edited = { lastName: 'Zwanikken-Oortwijn', residentialCity: 'Haastrecht', privateMobile: '06-55501234' };
const contacts = [
  { firstName: 'Barendina', lastName: 'Kuipersma', email: 'barendina@firma7101.test', phone: '030-6661111', mobile: '06-31415926' },
  { firstName: 'Ysbrand', infix: 'van', lastName: 'Oosterzee', email: 'ysbrand@firma7101.test', privateEmail: 'ysbrand@thuis.test', bsn: '238471650' },
  { firstName: 'Gerolf', lastName: 'Hanekuijk', email: 'gerolf@firma7102.test', mobile: '06-27182818' },
];
const contactMaster = { firstName: 'Theodora', lastName: 'Brinkhorst', privateEmail: 'theodora@prive.test', correspondenceEmailPreference: 'private', residentialStreet: 'Merelhof 7' };
// Short values (an infix like "ter", the preference "private") occur in ordinary words and are
// left out; every other value is searched for.
const personal = [
  ...Object.values(person),
  ...Object.values(edited),
  'W. ter Zwanikken',
  ...contacts.flatMap((c) => Object.values(c)),
  ...Object.values(contactMaster),
  'Brinkhorst-Velders',
].filter((value) => value.length > 4 && value !== 'private');

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const response = await stack.api(method, path, body);
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return response.body;
}

const both = { caseware: true, clientOnline: true };

test('no workflow id, search attribute, memo or history of any run holds personal data', async () => {
  // Two companies, a person client followed at both, a contact that is master of another contact.
  for (const clientNumber of ['7101', '7102']) {
    await ok('POST', '/clients', { clientNumber, kind: 'company', name: `Firma ${clientNumber} B.V.`, links: both });
  }
  const personClient = await ok('POST', '/clients', { clientNumber: '7103', kind: 'person', name: 'W. ter Zwanikken', ...person, links: both });
  const created = [
    await ok('POST', '/clients/7101/contacts', { ...contacts[0], links: both }),
    await ok('POST', '/clients/7101/contacts', { ...contacts[1], links: both }),
    await ok('POST', '/clients/7102/contacts', { ...contacts[2], links: both }),
  ];
  const followers = [
    await ok('POST', '/clients/7101/contacts', { master: { clientNumber: '7103' }, email: 'w.zwanikken@firma7101.test', links: both }),
    await ok('POST', '/clients/7102/contacts', { master: { clientNumber: '7103' }, email: 'w.zwanikken@firma7102.test', links: both }),
  ];
  const master = await ok('POST', '/clients/7102/contacts', { ...contactMaster, email: 'theodora@firma7102.test', links: both });
  // Its follower stays out of Client Online, so that ending the link passes the interlock.
  const follower = await ok('POST', '/clients/7101/contacts', { master: { contactId: master.id }, email: 'theodora@firma7101.test', links: { caseware: true } });
  for (const n of ['7101', '7102', '7103']) await stack.settled(n, { timeoutMs: 30_000 });

  // Master edits reach the followers through master propagation workflows.
  await ok('PATCH', '/clients/7103', edited);
  await ok('PATCH', `/contacts/${master.id}`, { lastName: 'Brinkhorst-Velders' });
  await waitFor('the followers to take the masters\' edits', async () => {
    const rows = await stack.database.db('contacts').whereIn('id', [...followers.map((f) => f.id), follower.id]).pluck('last_name');
    return rows.filter((v) => v === edited.lastName).length === 2 && rows.includes('Brinkhorst-Velders');
  });
  // The end of a master link (once Client Online has caught up: the interlock), contact edits,
  // link switches, a status change.
  for (const n of ['7101', '7102', '7103']) await stack.settled(n, { timeoutMs: 30_000 });
  await waitFor('the interlock to let the master link end', async () => (await stack.api('DELETE', `/contacts/${follower.id}/master`)).status === 200);
  await ok('PATCH', `/contacts/${created[0].id}`, { mobile: '06-31415927', lastName: 'Kuipersma-Dekker' });
  await ok('PUT', `/contacts/${created[1].id}/links`, { clientOnline: false });
  await ok('PUT', `/contacts/${followers[1].id}/links`, { caseware: false });
  await ok('PATCH', `/contacts/${follower.id}`, { firstName: 'Theodora-Anne' });
  await ok('PATCH', '/clients/7102', { status: 'former' });
  await ok('DELETE', `/contacts/${created[2].id}`);
  for (const n of ['7101', '7102', '7103']) await stack.settled(n, { timeoutMs: 30_000 });
  personal.push('Kuipersma-Dekker', 'Theodora-Anne');

  const runs = await allRuns(stack.temporal.client);
  const ids = runs.map((run) => run.workflowId);
  // The scan covers every kind of workflow the scenario ran.
  expect(ids).toEqual(expect.arrayContaining(['client-7101', 'client-7102', 'client-7103', `master-client-${personClient.id}`, `master-contact-${master.id}`]));

  let payloads = 0;
  const seen: string[] = [];
  for (const run of runs) {
    const history = await stack.temporal.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const json = historyToJSON(history);
    // Payloads are base64 JSON: decode every one and look inside.
    const decoded = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
    payloads += decoded.length;
    const text = [run.workflowId, JSON.stringify(run.searchAttributes), JSON.stringify(run.memo ?? {}), json, ...decoded].join('\n');
    seen.push(text);
    for (const value of personal) {
      expect(text.includes(value), `${run.workflowId} (run ${run.runId}) holds personal data: one of the values of this test`).toBe(false);
    }
    // Emails are personal whatever their case.
    expect(text.toLowerCase().match(/[a-z0-9.-]+@[a-z0-9.-]+\.test/g) ?? [], `${run.workflowId} holds an email address`).toEqual([]);
  }
  // The scan reads the payloads: it finds what histories do carry, client numbers and record ids.
  expect(payloads).toBeGreaterThan(runs.length);
  expect(seen.join('\n')).toContain('"clientNumber":"7103"');
  expect(seen.join('\n')).toContain(String(personClient.id));
});

interface Run {
  workflowId: string;
  runId: string;
  searchAttributes: unknown;
  memo: unknown;
}

/** Every run, open or closed, of every workflow on the server. */
async function allRuns(client: Client): Promise<Run[]> {
  const runs: Run[] = [];
  for await (const info of client.workflow.list()) {
    runs.push({ workflowId: info.workflowId, runId: info.runId, searchAttributes: info.searchAttributes, memo: info.memo });
  }
  return runs;
}
