import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { approveCredentialsMails, credentialsMailStatus, guardCredentialsMail, withdrawCredentialsMail } from '../../src/sync/mail-guard';
import { startTestStack, syncRanSince, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// The credentials-mail guard (issue 17, item 4), with a threshold of 3: beyond three new logins per
// portal in ten minutes, further creations are held (no user, no mail), listed with ids and counts,
// and released only by two different operator tokens; everything else keeps syncing, and nobody is
// mailed twice across hold, approval, failed calls and a worker restart.

const threshold = 3;
let stack: TestStack;
const secrets: Record<string, string> = {};

beforeAll(async () => {
  stack = await startTestStack({ credentialsMailThreshold: threshold });
  for (const [name, role] of [['olga', 'operator'], ['piet', 'operator'], ['vera', 'viewer']] as const) {
    secrets[name] = (await createApiToken(stack.database.db, { name, role })).secret;
  }
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function as(token: string, method: string, path: string, body?: unknown) {
  if (token === 'api') return stack.api(method, path, body);
  const response = await fetch(`${stack.services.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secrets[token]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const caseware = { caseware: true };

async function company(clientNumber: string) {
  expect((await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Postvak ${clientNumber} B.V.`, links: caseware })).status).toBe(201);
}

async function contact(clientNumber: string, name: string): Promise<number> {
  const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, { firstName: name, lastName: 'Post', email: `${name}@c${clientNumber}.test`, links: caseware });
  expect(response.status).toBe(201);
  return response.body.id as number;
}

const guard = async () => (await stack.api('GET', '/sync/health')).body.caseware.credentialsMails;
const users = async (clientNumber: string) => (await stack.simState()).users.filter((u) => u.Email.endsWith(`@c${clientNumber}.test`)).map((u) => u.Email).sort();
const mailsTo = async (clientNumber: string) => (await stack.simState()).mails.filter((m) => m.to.endsWith(`@c${clientNumber}.test`)).map((m) => m.to).sort();
const setScript = (rules: object[]) =>
  fetch(`${stack.simulator.origin}/_sim/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });

describe('the credentials-mail guard, at CaseWare Cloud', () => {
  const ids: number[] = [];

  test('nothing held: nothing to approve', async () => {
    const refused = await as('olga', 'POST', '/sync/portals/caseware/approve-mails');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toBe('no new login of CaseWare Cloud waits for approval');
    expect(await guard()).toEqual({ threshold, windowMinutes: 10, sentInWindow: 0, held: 0, heldCreations: [], heldClients: 0, approval: null });
  });

  test('threshold 3, five new contacts: three are created and mailed, two are held and listed; everything else keeps syncing', async () => {
    await company('4200');
    await stack.settled('4200');
    await company('4201');
    for (const name of ['a', 'b', 'c', 'd', 'e']) ids.push(await contact('4201', name));
    await syncRanSince(stack, '4201', 'caseware');

    expect(await users('4201')).toEqual(['a@c4201.test', 'b@c4201.test', 'c@c4201.test']);
    expect(await mailsTo('4201')).toEqual(['a@c4201.test', 'b@c4201.test', 'c@c4201.test']);
    const listed = await guard();
    expect(listed).toMatchObject({ threshold, sentInWindow: 3, held: 2, heldClients: 1, approval: null });
    expect(listed.heldCreations.map((h: { clientNumber: string; recordType: string; recordId: number }) => [h.clientNumber, h.recordType, h.recordId])).toEqual([
      ['4201', 'contact', ids[3]],
      ['4201', 'contact', ids[4]],
    ]);
    // Ids only: nothing in the listing is an email or a name.
    expect(JSON.stringify(listed)).not.toMatch(/@|Post/);
    // The client is pending at CaseWare (two of its contacts are not there), with no sync error for them.
    const status = (await stack.api('GET', '/sync/clients/4201')).body.caseware;
    expect(status).toMatchObject({ state: 'pending', errors: [] });

    // Everything that is no new login keeps syncing: a client's field, a created contact's name.
    expect((await stack.api('PATCH', '/clients/4200', { city: 'Deventer' })).status).toBe(200);
    expect((await stack.api('PATCH', `/contacts/${ids[0]}`, { lastName: 'Postma' })).status).toBe(200);
    await stack.settled('4200');
    await syncRanSince(stack, '4201', 'caseware');
    const cw = await stack.simState();
    expect(cw.entities.find((e) => e.EntityNo === '4200')?.City).toBe('Deventer');
    expect(cw.users.find((u) => u.Email === 'a@c4201.test')?.LastName).toBe('Postma');
    // A new login elsewhere is held too: the window has had its three.
    await company('4202');
    ids.push(await contact('4202', 'f'));
    await syncRanSince(stack, '4202', 'caseware');
    expect(await users('4202')).toEqual([]);
    expect((await guard()).heldCreations.map((h: { recordId: number }) => h.recordId)).toEqual([ids[3], ids[4], ids[5]]);
  }, 60_000);

  test('one approval is not enough; the same token twice is refused; a viewer may not; a second operator token releases them, each mailed once', async () => {
    const first = await as('olga', 'POST', '/sync/portals/caseware/approve-mails');
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ portal: 'caseware', status: 'awaiting-second-approval', firstApprover: 'olga', secondApprover: null, released: 0, stillHeld: 3 });
    expect((await guard()).approval).toMatchObject({ approvedBy: 'olga', covers: 3 });

    const again = await as('olga', 'POST', '/sync/portals/caseware/approve-mails');
    expect(again.status).toBe(403);
    expect(again.body.error.message).toContain('approved first by token "olga"; another token with the operator role must approve them too (four eyes)');
    const viewer = await as('vera', 'POST', '/sync/portals/caseware/approve-mails');
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.message).toContain('needs the operator role');
    // One approval released nothing: a change of the client still finds its creations held.
    expect((await stack.api('PATCH', '/clients/4201', { city: 'Hengelo' })).status).toBe(200);
    await syncRanSince(stack, '4201', 'caseware');
    expect(await users('4201')).toHaveLength(3);
    expect((await guard()).held).toBe(3);

    // A creation held after the first approval is not covered by it.
    ids.push(await contact('4202', 'g'));
    await syncRanSince(stack, '4202', 'caseware');
    expect((await guard()).held).toBe(4);

    const second = await as('piet', 'POST', '/sync/portals/caseware/approve-mails');
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'released', firstApprover: 'olga', secondApprover: 'piet', released: 3, clients: 2, stillHeld: 1 });
    await stack.settled('4201');
    await waitFor('the approved contact of 4202 created', async () => (await users('4202')).includes('f@c4202.test'));

    expect(await users('4201')).toEqual(['a@c4201.test', 'b@c4201.test', 'c@c4201.test', 'd@c4201.test', 'e@c4201.test']);
    expect(await mailsTo('4201')).toEqual(['a@c4201.test', 'b@c4201.test', 'c@c4201.test', 'd@c4201.test', 'e@c4201.test']);
    expect(await mailsTo('4202')).toEqual(['f@c4202.test']);
    const after = await guard();
    // Approved creations do not count towards the threshold; g waits for the next two approvals.
    expect(after).toMatchObject({ sentInWindow: 3, held: 1, approval: null });
    expect(after.heldCreations.map((h: { recordId: number }) => h.recordId)).toEqual([ids[6]]);
    expect((await stack.api('GET', '/sync/clients/4201')).body.caseware.state).toBe('in-sync');
  }, 60_000);

  test('an approved creation whose call fails, or whose answer is lost, is still created and mailed once', async () => {
    await syncRanSince(stack, '4202', 'caseware');
    // The first create fails (nothing created); the next is applied after the service gave up on it.
    expect((await setScript([{ method: 'POST', path: '^/users$', times: 1, status: 503 }, { method: 'POST', path: '^/users$', times: 1, delayMs: 3_000 }])).status).toBe(204);
    const creates = async () => ((await (await fetch(`${stack.simulator.origin}/_sim/calls`)).json()) as Record<string, number>)['POST /users'] ?? 0;
    const before = await creates();
    try {
      expect((await as('piet', 'POST', '/sync/portals/caseware/approve-mails')).status).toBe(202);
      expect((await as('api', 'POST', '/sync/portals/caseware/approve-mails')).body).toMatchObject({ status: 'released', released: 1 });
      await stack.settled('4202', { timeoutMs: 45_000 });
    } finally {
      await setScript([]);
    }
    // Both scripted answers met a create of g: it was asked for at least twice, and made once.
    expect(await creates()).toBeGreaterThanOrEqual(before + 2);
    expect(await users('4202')).toEqual(['f@c4202.test', 'g@c4202.test']);
    expect(await mailsTo('4202')).toEqual(['f@c4202.test', 'g@c4202.test']);
  }, 60_000);

  // Last: it stops the stack's own worker.
  test('a worker restart between hold and approval loses nothing, and mails nobody twice', async () => {
    await company('4203');
    const late = [await contact('4203', 'h'), await contact('4203', 'i')];
    await syncRanSince(stack, '4203', 'caseware');
    expect(await users('4203')).toEqual([]);
    expect((await guard()).heldCreations.map((h: { recordId: number }) => h.recordId)).toEqual(late);

    stack.services.worker.shutdown();
    await waitFor('the worker to stop', async () => stack.services.worker.getState() === 'STOPPED');
    expect((await as('olga', 'POST', '/sync/portals/caseware/approve-mails')).status).toBe(202);
    expect((await as('piet', 'POST', '/sync/portals/caseware/approve-mails')).body).toMatchObject({ status: 'released', released: 2, clients: 1 });
    const replacement = await stack.replacementWorker();
    await replacement.runUntil(() => stack.settled('4203', { timeoutMs: 30_000 }));
    expect(await mailsTo('4203')).toEqual(['h@c4203.test', 'i@c4203.test']);
    // Across the whole file: one mail per person, and one CaseWare user per email.
    const { mails, users: all } = await stack.simState();
    expect(mails.length).toBe(new Set(mails.map((m) => m.to)).size);
    expect(all.length).toBe(new Set(all.map((u) => u.Email)).size);
  }, 60_000);
});

describe('the guard itself, as a portal sync calls it (Client Online here: the portal the other tests leave alone)', () => {
  const creation = (recordId: number) => ({ clientNumber: '9901', recordType: 'client' as const, recordId });

  test('a retry of a creation let through is let through again without counting; a withdrawn one does not count; 0 switches it off', async () => {
    const { db } = stack.database;
    const settings = { threshold: 2 };
    expect(await guardCredentialsMail(db, 'client_online', creation(1), settings)).toEqual({ allowed: true });
    expect(await guardCredentialsMail(db, 'client_online', creation(1), settings)).toEqual({ allowed: true });
    expect(await guardCredentialsMail(db, 'client_online', creation(2), settings)).toEqual({ allowed: true });
    expect(await guardCredentialsMail(db, 'client_online', creation(3), settings)).toEqual({ allowed: false });
    expect(await guardCredentialsMail(db, 'client_online', creation(3), settings)).toEqual({ allowed: false });
    expect((await credentialsMailStatus(db, 'client_online', settings))).toMatchObject({ sentInWindow: 2, held: 1 });

    // Client Online refused the push that was to create login 2 (nobody was mailed): a place frees up.
    await withdrawCredentialsMail(db, 'client_online', creation(2));
    expect(await guardCredentialsMail(db, 'client_online', creation(4), settings)).toEqual({ allowed: true });
    // Held stays held until approved, however the count goes.
    expect(await guardCredentialsMail(db, 'client_online', creation(3), settings)).toEqual({ allowed: false });

    // Off: everything is let through, a held creation too.
    for (let id = 10; id < 40; id += 1) expect(await guardCredentialsMail(db, 'client_online', creation(id), { threshold: 0 })).toEqual({ allowed: true });
    expect(await guardCredentialsMail(db, 'client_online', creation(3), { threshold: 0 })).toEqual({ allowed: true });
    expect((await credentialsMailStatus(db, 'client_online', { threshold: 0 })).held).toBe(0);
  });

  test('concurrent creations never slip under the threshold together; two approvals let the held ones through once each', async () => {
    const { db } = stack.database;
    await db('credentials_mails').where({ portal: 'client_online' }).delete();
    const settings = { threshold: 5 };
    const decisions = await Promise.all(Array.from({ length: 20 }, (_, i) => guardCredentialsMail(db, 'client_online', creation(100 + i), settings)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
    expect((await credentialsMailStatus(db, 'client_online', settings)).held).toBe(15);

    expect(await approveCredentialsMails(db, 'client_online', 'olga')).toMatchObject({ outcome: 'first-approval', approval: { covers: 15 } });
    expect(await approveCredentialsMails(db, 'client_online', 'olga')).toMatchObject({ outcome: 'same-token' });
    expect(await approveCredentialsMails(db, 'client_online', 'piet')).toMatchObject({ outcome: 'released', released: 15, stillHeld: 0 });
    const held = decisions.flatMap((d, i) => (d.allowed ? [] : [100 + i]));
    for (const id of held) expect(await guardCredentialsMail(db, 'client_online', creation(id), settings)).toEqual({ allowed: true });
    // Let through once: a retry of the same creation later in the window is no new approval, and no count.
    for (const id of held) expect(await guardCredentialsMail(db, 'client_online', creation(id), settings)).toEqual({ allowed: true });
    expect(await credentialsMailStatus(db, 'client_online', settings)).toMatchObject({ sentInWindow: 5, held: 0, approval: null });
    expect(await approveCredentialsMails(db, 'client_online', 'piet')).toEqual({ outcome: 'nothing-held' });
  });
});
