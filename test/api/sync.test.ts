import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiToken,
  createCompany,
  createContactAt,
  newestOutboxId,
  startApi,
  type ApiHarness,
  type ClientSyncStatusJson,
  type SyncErrorsJson,
} from './harness';
import { updateClient } from '../../src/registry/clients';
import { markApplied as ledgerMarkApplied } from '../../src/sync/ledger';

// The sync tables are written by the sync activities; here they are seeded directly to test the
// read model the operators look at.

let api: ApiHarness;
let clientId: number;
let contactId: number;
let otherClientId: number;

interface SyncErrorSeed {
  portal: 'caseware' | 'client_online';
  record_type: 'client' | 'contact';
  record_id: number;
  client_number: string;
  code: string;
  message: string;
  first_seen_at: Date;
  last_seen_at: Date;
  resolved_at?: Date | null;
}

async function seedSyncError(seed: SyncErrorSeed): Promise<number> {
  const [row] = await api.db('sync_errors').insert(seed).returning<{ id: number }[]>('id');
  return row!.id;
}

beforeAll(async () => {
  api = await startApi();
  clientId = await createCompany(api, '5001', { links: { caseware: true } });
  contactId = await createContactAt(api, '5001', { firstName: 'Eva', email: 'eva@example.nl', links: { caseware: true } });
  otherClientId = await createCompany(api, '5002');
});
afterAll(async () => {
  await api.close();
});

describe('GET /sync/errors', () => {
  let openOld: number;
  let openNew: number;
  let resolved: number;
  let otherClient: number;

  beforeAll(async () => {
    openOld = await seedSyncError({
      portal: 'caseware',
      record_type: 'contact',
      record_id: contactId,
      client_number: '5001',
      code: 'email-missing',
      message: `contact ${contactId} at client 5001 has no email; CaseWare Cloud needs one to create a login`,
      first_seen_at: new Date('2026-11-20T08:00:00Z'),
      last_seen_at: new Date('2026-11-20T09:00:00Z'),
    });
    resolved = await seedSyncError({
      portal: 'caseware',
      record_type: 'client',
      record_id: clientId,
      client_number: '5001',
      code: 'transport',
      message: 'CaseWare Cloud answered 503',
      first_seen_at: new Date('2026-11-21T08:00:00Z'),
      last_seen_at: new Date('2026-11-21T08:30:00Z'),
      resolved_at: new Date('2026-11-21T09:00:00Z'),
    });
    openNew = await seedSyncError({
      portal: 'client_online',
      record_type: 'client',
      record_id: clientId,
      client_number: '5001',
      code: 'no-users',
      message: 'client 5001 has no contact linked to Client Online',
      first_seen_at: new Date('2026-11-22T08:00:00Z'),
      last_seen_at: new Date('2026-11-22T10:00:00Z'),
    });
    otherClient = await seedSyncError({
      portal: 'caseware',
      record_type: 'client',
      record_id: otherClientId,
      client_number: '5002',
      code: 'rejected',
      message: 'CaseWare Cloud refused client 5002',
      first_seen_at: new Date('2026-11-19T08:00:00Z'),
      last_seen_at: new Date('2026-11-19T08:00:00Z'),
    });
  });

  test('lists open errors, most recently seen first, in camelCase with the portal by its API name', async () => {
    const response = await api.call('GET', '/sync/errors');
    expect(response.statusCode).toBe(200);
    const { errors } = response.json<SyncErrorsJson>();
    expect(errors.map((error) => error.id)).toEqual([openNew, openOld, otherClient]);
    expect(errors[0]).toEqual({
      id: openNew,
      portal: 'clientOnline',
      recordType: 'client',
      recordId: clientId,
      clientNumber: '5001',
      code: 'no-users',
      message: 'client 5001 has no contact linked to Client Online',
      firstSeenAt: '2026-11-22T08:00:00.000Z',
      lastSeenAt: '2026-11-22T10:00:00.000Z',
      attempts: 1,
      resolvedAt: null,
    });
    expect(errors[1]).toMatchObject({ portal: 'caseware', recordType: 'contact', recordId: contactId });
  });

  test('includeResolved=true adds the resolved ones', async () => {
    const response = await api.call('GET', '/sync/errors?includeResolved=true');
    const { errors } = response.json<SyncErrorsJson>();
    expect(errors.map((error) => error.id)).toEqual([openNew, resolved, openOld, otherClient]);
    expect(errors[1]?.resolvedAt).toBe('2026-11-21T09:00:00.000Z');
    const explicitFalse = (await api.call('GET', '/sync/errors?includeResolved=false')).json<SyncErrorsJson>();
    expect(explicitFalse.errors).toHaveLength(3);
  });

  test('filters by client number', async () => {
    const response = await api.call('GET', '/sync/errors?clientNumber=5002');
    expect(response.json<SyncErrorsJson>().errors.map((error) => error.id)).toEqual([otherClient]);
    const none = await api.call('GET', '/sync/errors?clientNumber=5099');
    expect(none.json()).toEqual({ errors: [], total: 0, portals: [] });
  });

  test('a malformed query answers 400 naming the parameter', async () => {
    const response = await api.call('GET', '/sync/errors?includeResolved=yes');
    expect(response.statusCode).toBe(400);
    expect(response.json().error.issues).toEqual([{ path: 'query.includeResolved', message: expect.any(String) }]);
  });

  test('needs the token', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/sync/errors', headers: { authorization: 'Bearer nope' } });
    expect(response.statusCode).toBe(401);
    expect(response.body).not.toContain('email-missing');
  });
});

describe('GET /sync/clients/:number', () => {
  async function status(clientNumber: string): Promise<ClientSyncStatusJson> {
    const response = await api.call('GET', `/sync/clients/${clientNumber}`);
    expect(response.statusCode).toBe(200);
    return response.json<ClientSyncStatusJson>();
  }

  // What a finished sync records: the portal has every change of transactions that ended before
  // now (the horizon: the next transaction id), and the dispatcher has delivered their events.
  async function markApplied(portal: 'caseware' | 'client_online', clientNumber: string, eventId: number) {
    const horizon = (await api.db.raw<{ rows: { horizon: string }[] }>('select pg_snapshot_xmax(pg_current_snapshot())::text as horizon')).rows[0]!.horizon;
    await api.db('outbox_events').where({ client_number: clientNumber }).whereNull('delivered_at').update({ delivered_at: new Date() });
    await api.db('portal_sync_state')
      .insert({ portal, client_number: clientNumber, applied_event_id: eventId, applied_horizon: horizon, synced_at: new Date('2026-11-23T12:00:00Z') })
      .onConflict(['portal', 'client_number'])
      .merge();
  }

  test('an unlinked client that no portal holds has nothing pending, and lists its undelivered events', async () => {
    const body = await status('5002');
    expect(body.clientNumber).toBe('5002');
    expect(body.caseware).toEqual({
      linked: false,
      state: 'error',
      held: false,
      appliedEventId: 0,
      lastSyncedAt: null,
      remote: [],
      errors: [expect.objectContaining({ clientNumber: '5002', code: 'rejected' })],
    });
    expect(body.clientOnline).toMatchObject({ linked: false, state: 'not-linked', appliedEventId: 0 });
    expect(body.pendingEvents).toEqual([
      {
        id: expect.any(Number),
        kind: 'client.created',
        recordType: 'client',
        recordId: otherClientId,
        createdAt: expect.any(String),
        attempts: 0,
        lastError: null,
      },
    ]);
  });

  test('caught up: in-sync where linked, not-linked where not, error where errors are open', async () => {
    const newest = await newestOutboxId(api.db);
    await markApplied('caseware', '5001', newest);
    await markApplied('client_online', '5001', newest);
    await markApplied('caseware', '5002', newest);
    await api.db('portal_identities').insert([
      { portal: 'caseware', record_type: 'client', record_id: clientId, client_number: '5001', remote_id: 'cw-entity-1', synced_at: new Date('2026-11-23T11:00:00Z') },
      { portal: 'caseware', record_type: 'contact', record_id: contactId, client_number: '5001', remote_id: 'cw-user-7', login_key: 'eva@example.nl', access: 'active' },
      { portal: 'caseware', record_type: 'client', record_id: otherClientId, client_number: '5002', remote_id: 'cw-entity-2' },
    ]);

    const body = await status('5001');
    // 5001 has an open CaseWare error (seeded above) and an open Client Online error.
    expect(body.caseware).toMatchObject({
      linked: true,
      state: 'error',
      appliedEventId: newest,
      lastSyncedAt: '2026-11-23T12:00:00.000Z',
    });
    expect(body.caseware.remote).toEqual([
      { recordType: 'client', recordId: clientId, remoteId: 'cw-entity-1', access: 'active', syncedAt: '2026-11-23T11:00:00.000Z' },
      { recordType: 'contact', recordId: contactId, remoteId: 'cw-user-7', access: 'active', syncedAt: null },
    ]);
    expect(body.caseware.errors.map((error) => error.code)).toEqual(['email-missing']);
    // The status answers its errors as it always has, without the attempts GET /sync/errors counts.
    expect(body.caseware.errors[0]).not.toHaveProperty('attempts');
    expect(body.clientOnline).toMatchObject({ linked: false, state: 'error', remote: [] });
    // The portal login (an email for CaseWare) is personal data and stays out of the view.
    expect(JSON.stringify(body)).not.toContain('eva@example.nl');

    await api.db('sync_errors').where({ client_number: '5001' }).whereNull('resolved_at').update({ resolved_at: new Date() });
    const resolved = await status('5001');
    expect(resolved.caseware.state).toBe('in-sync');
    expect(resolved.caseware.errors).toEqual([]);
    expect(resolved.clientOnline.state).toBe('not-linked');
  });

  test('a new change makes every linked portal pending until it has received it, errors or not', async () => {
    await seedSyncError({
      portal: 'caseware',
      record_type: 'contact',
      record_id: contactId,
      client_number: '5001',
      code: 'email-missing',
      message: `contact ${contactId} at client 5001 has no email`,
      first_seen_at: new Date(),
      last_seen_at: new Date(),
    });
    expect((await status('5001')).caseware.state).toBe('error');

    const patch = await api.call('PATCH', '/clients/5001', { city: 'Haarlem' });
    expect(patch.statusCode).toBe(200);
    const newest = await newestOutboxId(api.db);

    const pending = await status('5001');
    expect(pending.caseware.state).toBe('pending');
    // Client Online is not linked and holds nothing of 5001: nothing to receive.
    expect(pending.clientOnline.state).toBe('not-linked');
    expect(pending.pendingEvents.map((event) => [event.id, event.kind])).toContainEqual([
      newest,
      'client.updated',
    ]);

    await markApplied('caseware', '5001', newest);
    await markApplied('client_online', '5001', newest);
    const caughtUp = await status('5001');
    expect(caughtUp.caseware.state).toBe('error');
    expect(caughtUp.clientOnline.state).toBe('not-linked');
  });

  test('a portal switched off is pending while it still holds access to take away', async () => {
    await api.db('portal_identities').where({ client_number: '5001', portal: 'caseware' }).update({ access: 'active' });
    expect((await api.call('PUT', '/clients/5001/links', { caseware: false })).statusCode).toBe(200);
    expect((await status('5001')).caseware).toMatchObject({ linked: false, state: 'pending' });
    await markApplied('caseware', '5001', await newestOutboxId(api.db));
    await api.db('portal_identities').where({ client_number: '5001', portal: 'caseware' }).update({ access: 'revoked' });
    await api.db('sync_errors').where({ client_number: '5001' }).whereNull('resolved_at').update({ resolved_at: new Date() });
    expect((await status('5001')).caseware).toMatchObject({ linked: false, state: 'not-linked' });
  });

  test('pendingEvents lists only events the dispatcher has not delivered', async () => {
    await api.db('outbox_events').where({ client_number: '5001' }).update({ delivered_at: null });
    const all = await api.db('outbox_events').where({ client_number: '5001' }).orderBy('id').pluck('id');
    const [delivered, ...rest] = all;
    await api.db('outbox_events').where({ id: delivered }).update({ delivered_at: new Date() });
    const body = await status('5001');
    expect(body.pendingEvents.map((event) => event.id)).toEqual(rest);
  });

  test('a change whose transaction committed after the applied horizon was taken keeps the portal pending, whatever its id', async () => {
    const db = api.db;
    await createCompany(api, '5003', { links: { caseware: true } });
    const contact = await createContactAt(api, '5003', { firstName: 'Tom', email: 'tom@example.nl', links: { caseware: true } });
    // The slow transaction takes the lower event id ...
    const slow = await db.transaction();
    try {
      await updateClient(slow, '5003', { city: 'FromSlowTx' });
      // ... a later change commits, and a sync is scheduled under the horizon of that moment:
      // below the slow transaction, which has not committed.
      expect((await api.call('PATCH', `/contacts/${contact}`, { phone: '010-1234567' })).statusCode).toBe(200);
      const horizon = Number((await db.raw<{ rows: { horizon: string }[] }>('select pg_snapshot_xmin(pg_current_snapshot())::text as horizon')).rows[0]!.horizon);
      await ledgerMarkApplied(db, 'caseware', { clientNumber: '5003', uptoEventId: await newestOutboxId(db), horizon });
      await slow.commit();
    } finally {
      if (!slow.isCompleted()) await slow.rollback();
    }
    // Both changes are delivered; the slow one has the lower id. The sync's read may have missed it.
    await db('outbox_events').where({ client_number: '5003' }).update({ delivered_at: new Date() });
    const [later, late] = await db('outbox_events').where({ client_number: '5003' }).orderBy('xid', 'desc').limit(2).pluck('id');
    expect(late).toBeLessThan(later);
    expect((await status('5003')).caseware.state).toBe('pending');
  });

  test('an unknown client answers 404', async () => {
    const response = await api.call('GET', '/sync/clients/5999');
    expect(response.statusCode).toBe(404);
    expect(response.json().error).toEqual({ code: 'not-found', message: 'client 5999 does not exist in the registry' });
  });

  test('needs the token', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/sync/clients/5001', headers: { authorization: `Bearer ${apiToken}-` } });
    expect(response.statusCode).toBe(401);
  });
});
