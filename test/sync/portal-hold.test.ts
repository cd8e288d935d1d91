import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createFileRequestActivities, type FileRequestPort } from '../../activities/file-requests';
import { createApiToken } from '../../src/api/tokens';
import { startTestStack, syncRanSince, type TestStack } from '../support/stack';
import { syncsInHistory } from '../support/sync-history';
import { waitFor } from '../support/temporal';

// Holding a portal (issue 17, item 2): while an operator holds a portal nothing is written to it
// (counted at its simulator), the other portal keeps syncing, the changes accumulate, and the
// release syncs every held client once with all of them. Holding and releasing are idempotent and
// the operator's; file requests, reads and offboardings behave as docs/portal-rules.md says.

let stack: TestStack;
const secrets: Record<string, string> = {};
const both = { caseware: true, clientOnline: true };

beforeAll(async () => {
  stack = await startTestStack();
  for (const [name, role] of [['olga', 'operator'], ['vera', 'viewer'], ['crm', 'registry']] as const) {
    secrets[name] = (await createApiToken(stack.database.db, { name, role })).secret;
  }
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function as(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.services.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secrets[token]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function company(clientNumber: string, contacts: number) {
  expect((await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Houdgreep ${clientNumber} B.V.`, city: 'Zwolle', links: both })).status).toBe(201);
  const ids: number[] = [];
  for (let i = 0; i < contacts; i += 1) ids.push(await contact(clientNumber, `c${i}`));
  return ids;
}

async function contact(clientNumber: string, name: string): Promise<number> {
  const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, { firstName: name, lastName: `Houder`, email: `${name}@c${clientNumber}.test`, links: both });
  expect(response.status).toBe(201);
  return response.body.id as number;
}

const casewareCalls = async () => (await (await fetch(`${stack.simulator.origin}/_sim/calls`)).json()) as Record<string, number>;
const clientOnlineCalls = async () => (await (await fetch(`${stack.clientOnline.origin}/_sim/calls`)).json()) as Record<string, number>;
const total = (calls: Record<string, number>) => Object.values(calls).reduce((sum, n) => sum + n, 0);
const writes = (calls: Record<string, number>) => Object.entries(calls).filter(([route]) => !route.startsWith('GET ') && route !== 'POST /auth/token');
const status = async (clientNumber: string) => (await stack.api('GET', `/sync/clients/${clientNumber}`)).body;
const health = async () => (await stack.api('GET', '/sync/health')).body;

/** How many syncs of `activity` the client's workflow completed after the signal that carried `eventId` or a later one. */
async function syncsAfter(clientNumber: string, activity: string, eventId: number): Promise<number> {
  const { defaultPayloadConverter } = await import('@temporalio/common');
  const history = await stack.temporal.client.workflow.getHandle(`client-${clientNumber}`).fetchHistory();
  const events = history.events ?? [];
  const signalled = events.findIndex((event) => {
    const payload = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
    return payload !== undefined && Number(defaultPayloadConverter.fromPayload<{ eventId?: number }>(payload)?.eventId) >= eventId;
  });
  if (signalled === -1) return 0;
  return syncsInHistory(events).filter((sync) => sync.activity === activity && sync.index > signalled && sync.completed).length;
}

describe('holding a portal', () => {
  test('held: nothing reaches CaseWare Cloud while Client Online keeps syncing; released: each held client syncs once, nothing lost', async () => {
    await company('4101', 1);
    await company('4102', 1);
    await Promise.all(['4101', '4102'].map((n) => stack.settled(n)));

    const held = await stack.api('PUT', '/sync/portals/caseware/hold', { note: 'go-live preview' });
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ portal: 'caseware', alreadyHeld: false, hold: { heldBy: 'api', note: 'go-live preview', heldClients: 0 } });
    const before = { caseware: await casewareCalls(), mails: (await stack.simState()).mails.length };

    // Changes of every kind accumulate: a field, a new contact, a contact's link, a new client.
    expect((await stack.api('PATCH', '/clients/4101', { city: 'Kampen' })).status).toBe(200);
    const added = await contact('4102', 'nieuw');
    const [first] = await company('4103', 2);
    expect((await stack.api('PUT', `/contacts/${first}/links`, { caseware: false })).status).toBe(200);
    expect((await stack.api('PATCH', '/clients/4101', { name: 'Houdgreep 4101 Holding B.V.' })).status).toBe(200);

    // Client Online gets every change; the CaseWare syncs after the newest change met the hold.
    for (const n of ['4101', '4102', '4103']) {
      await syncRanSince(stack, n, 'caseware');
      await syncRanSince(stack, n, 'clientOnline');
    }
    const co = await stack.coState();
    expect(co.clients.find((c) => c.clientNumber === '4103')).toBeDefined();
    expect(co.logins.some((l) => l.ref === `c-${added}`)).toBe(true);
    expect(await casewareCalls()).toEqual(before.caseware);
    expect((await stack.simState()).entities.find((e) => e.EntityNo === '4103')).toBeUndefined();

    // The held clients are pending at CaseWare, and the portal says who held it, since when, and for how many clients.
    for (const n of ['4101', '4102', '4103']) {
      const s = await status(n);
      expect([n, s.caseware.state, s.caseware.held]).toEqual([n, 'pending', true]);
      expect([n, s.clientOnline.state, s.clientOnline.held]).toEqual([n, 'in-sync', false]);
    }
    const during = await health();
    expect(during.caseware.hold).toEqual({ heldBy: 'api', heldAt: held.body.hold.heldAt, note: 'go-live preview', heldClients: 3 });
    expect(during.clientOnline.hold).toBeNull();

    const newest = Number((await stack.database.db('outbox_events').max({ id: 'id' }))[0]?.id ?? 0);
    const released = await stack.api('DELETE', '/sync/portals/caseware/hold');
    expect(released).toEqual({ status: 200, body: { portal: 'caseware', released: true, clients: 3 } });
    expect((await stack.database.db('outbox_events').where({ kind: 'portal.released' }).where('id', '>', newest)).map((e: { client_number: string }) => e.client_number).sort()).toEqual([
      '4101',
      '4102',
      '4103',
    ]);
    await Promise.all(['4101', '4102', '4103'].map((n) => stack.settled(n)));

    // Every change arrived (settled compares each record, field by field), in one sync per held client.
    for (const n of ['4101', '4102', '4103']) expect([n, await syncsAfter(n, 'syncClientToCaseWare', newest + 1)]).toEqual([n, 1]);
    const cw = await stack.simState();
    expect(cw.entities.find((e) => e.EntityNo === '4101')?.Name).toBe('Houdgreep 4101 Holding B.V.');
    // One credentials mail per new contact, none for those CaseWare had: c0@4103 is switched off.
    const mailed = cw.mails.slice(before.mails).map((m) => m.to).sort();
    expect(mailed).toEqual(['c1@c4103.test', 'nieuw@c4102.test']);
    expect((await health()).caseware.hold).toBeNull();
    expect((await status('4101')).caseware).toMatchObject({ state: 'in-sync', held: false });
  }, 120_000);

  test('holding a held portal and releasing a released one change nothing; who held it stays', async () => {
    const first = await stack.api('PUT', '/sync/portals/clientOnline/hold');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ portal: 'clientOnline', alreadyHeld: false, hold: { heldBy: 'api', note: null } });
    const second = await as('olga', 'PUT', '/sync/portals/clientOnline/hold', { note: 'another reason' });
    expect(second).toEqual({ status: 200, body: { portal: 'clientOnline', alreadyHeld: true, hold: first.body.hold } });
    expect((await health()).clientOnline.hold).toEqual(first.body.hold);

    expect(await as('olga', 'DELETE', '/sync/portals/clientOnline/hold')).toEqual({ status: 200, body: { portal: 'clientOnline', released: true, clients: 0 } });
    expect(await stack.api('DELETE', '/sync/portals/clientOnline/hold')).toEqual({ status: 200, body: { portal: 'clientOnline', released: false, clients: 0 } });
    expect((await health()).clientOnline.hold).toBeNull();
  });

  test('only an operator holds or releases; a viewer sees the hold; an unknown portal is refused by name', async () => {
    for (const token of ['vera', 'crm']) {
      for (const method of ['PUT', 'DELETE']) {
        const refused = await as(token, method, '/sync/portals/caseware/hold');
        expect(refused.status).toBe(403);
        expect(refused.body.error.message).toContain(`${method} /sync/portals/:portal/hold needs the operator role`);
      }
    }
    expect((await health()).caseware.hold).toBeNull();
    expect((await stack.api('PUT', '/sync/portals/caseware/hold')).status).toBe(200);
    const seen = await as('vera', 'GET', '/sync/health');
    expect(seen.status).toBe(200);
    expect(seen.body.caseware.hold).toMatchObject({ heldBy: 'api' });
    expect((await stack.api('DELETE', '/sync/portals/caseware/hold')).status).toBe(200);

    for (const method of ['PUT', 'DELETE']) {
      const unknown = await stack.api(method, '/sync/portals/sharepoint/hold');
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toContain('the portal is caseware (CaseWare Cloud) or clientOnline (Client Online)');
    }
    expect(await stack.database.db('portal_holds').select('portal')).toEqual([]);
  });

  test('while CaseWare Cloud is held a reconcile dry run still reads it, and file requests write nothing', async () => {
    await company('4104', 1);
    await stack.settled('4104');
    expect((await stack.api('PUT', '/sync/portals/caseware/hold')).status).toBe(200);
    try {
      const before = await casewareCalls();
      const run = await stack.api('POST', '/reconcile', { dryRun: true, wait: true });
      expect(run.status).toBe(200);
      expect(run.body).toMatchObject({ status: 'completed', dryRun: true });
      const after = await casewareCalls();
      expect(total(after)).toBeGreaterThan(total(before));
      expect(writes(after)).toEqual(writes(before));

      // The file-request activities, against a portal that counts every call: each waits (fails
      // retryably, type PortalHeld) without a call.
      const called: string[] = [];
      const port = new Proxy({} as FileRequestPort, {
        get: (_target, name) => async () => {
          called.push(String(name));
          throw new Error(`${String(name)} must not be called while CaseWare Cloud is held`);
        },
      });
      const activities = createFileRequestActivities({ db: stack.database.db, caseware: port });
      const client = await stack.database.db('clients').where({ client_number: '4104' }).first('id');
      const [id] = await stack.database.db('file_requests')
        .insert({ client_id: client.id, client_number: '4104', subject: 'Jaarstukken', description: '', status: 'open', workflow_id: 'file-request-hold-test', requested_by: 'api', remote_id: 'cw-remote' })
        .returning('id');
      const fileRequestId = Number((id as { id: number }).id);
      for (const run of [
        () => activities.createFileRequestInPortal({ fileRequestId }),
        () => activities.sendFileRequestReminder({ fileRequestId, reminder: 1 }),
        () => activities.cancelFileRequestInPortal({ fileRequestId, cancelledBy: 'api' }),
      ]) {
        const failure = await run().then(() => undefined, (error: unknown) => error);
        expect(failure).toBeInstanceOf(ApplicationFailure);
        expect(failure).toMatchObject({ type: 'PortalHeld', nonRetryable: false });
        expect((failure as Error).message).toContain(`file request ${fileRequestId} waits until it is released`);
      }
      expect(called).toEqual([]);
      await stack.database.db('file_requests').where({ id: fileRequestId }).delete();
    } finally {
      expect((await stack.api('DELETE', '/sync/portals/caseware/hold')).status).toBe(200);
    }
  }, 60_000);

  test('an offboarding step waits while its portal is held and finishes after the release', async () => {
    const [leaver] = await company('4105', 2);
    await stack.settled('4105');
    expect((await stack.api('PUT', '/sync/portals/caseware/hold')).status).toBe(200);
    const started = await stack.api('POST', '/offboardings', { kind: 'revoke-contact-access', contactId: leaver, portals: ['caseware'], execute: true });
    expect(started.status).toBe(202);
    await waitFor('the step to wait for CaseWare Cloud', async () => (await stack.api('GET', `/offboardings/${started.body.id}`)).body.steps[0].status === 'waiting-for-portals');
    await syncRanSince(stack, '4105', 'caseware');
    expect((await stack.api('GET', `/offboardings/${started.body.id}`)).body.status).toBe('running');
    expect((await stack.simState()).users.find((u) => u.Email === 'c0@c4105.test')?.Type).not.toBe('I');

    expect((await stack.api('DELETE', '/sync/portals/caseware/hold')).body).toMatchObject({ released: true, clients: 1 });
    await waitFor('the offboarding to complete', async () => (await stack.api('GET', `/offboardings/${started.body.id}`)).body.status === 'completed', { timeoutMs: 30_000 });
    expect((await stack.simState()).users.find((u) => u.Email === 'c0@c4105.test')?.Type).toBe('I');
  }, 60_000);

  // Last: it stops the stack's own worker.
  test('a worker restart between hold and release loses nothing', async () => {
    await company('4106', 1);
    await stack.settled('4106');
    expect((await stack.api('PUT', '/sync/portals/clientOnline/hold')).status).toBe(200);
    const before = total(await clientOnlineCalls());
    expect((await stack.api('PATCH', '/clients/4106', { name: 'Houdgreep 4106 Herstart B.V.' })).status).toBe(200);
    await syncRanSince(stack, '4106', 'clientOnline');

    stack.services.worker.shutdown();
    await waitFor('the worker to stop', async () => stack.services.worker.getState() === 'STOPPED');
    // More changes while no worker runs; the release, too, comes while it is down.
    const added = await contact('4106', 'later');
    expect((await stack.api('DELETE', '/sync/portals/clientOnline/hold')).body).toMatchObject({ released: true, clients: 1 });
    expect(total(await clientOnlineCalls())).toBe(before);

    const replacement = await stack.replacementWorker();
    await replacement.runUntil(() => stack.settled('4106', { timeoutMs: 30_000 }));
    const co = await stack.coState();
    expect(co.clients.find((c) => c.clientNumber === '4106')?.name).toBe('Houdgreep 4106 Herstart B.V.');
    expect(co.logins.find((l) => l.ref === `c-${added}`)?.clients).toEqual(['4106']);
    expect(co.mails.filter((m) => m.ref === `c-${added}`)).toHaveLength(1);
  }, 90_000);
});
