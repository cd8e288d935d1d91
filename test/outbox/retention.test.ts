import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { OutboxDispatcher } from '../../src/outbox/dispatcher';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { waitFor } from '../support/temporal';

// Retention against a real database: old delivered events go once every portal of their client has
// passed them, resolved sync errors after their own retention; nothing the sync status still reads.

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);

test('the dispatcher deletes old delivered events every portal has passed and old resolved sync errors, and nothing else', async () => {
  const db = database.db;
  const event = (clientNumber: string, kind: string, deliveredAt: Date | null, createdAt = daysAgo(8)) =>
    ({ client_number: clientNumber, kind, record_type: 'client', record_id: 1, created_at: createdAt, delivered_at: deliveredAt });
  const ids: Record<string, number> = Object.fromEntries(
    (await db('outbox_events')
      .insert([
        { ...event('7301', 'client.updated', daysAgo(8)), last_error: 'old' },
        { ...event('7301', 'client.updated', daysAgo(2)), last_error: 'recent' },
        { ...event('7302', 'client.updated', daysAgo(8)), last_error: 'client-online-behind' },
        { ...event('7302', 'client.updated', null), last_error: 'undelivered' },
        { ...event('7303', 'master.updated', daysAgo(8)), last_error: 'master' },
      ])
      .returning(['id', 'last_error'])).map((row: { id: number; last_error: string }) => [row.last_error, row.id]),
  );
  // Every transaction so far has finished: a sync scheduled now would cover them all.
  const horizon = (await db.raw<{ rows: { horizon: string }[] }>('select pg_snapshot_xmax(pg_current_snapshot())::text as horizon')).rows[0]!.horizon;
  await db('portal_sync_state').insert([
    { portal: 'caseware', client_number: '7301', applied_horizon: horizon },
    { portal: 'client_online', client_number: '7301', applied_horizon: horizon },
    { portal: 'caseware', client_number: '7302', applied_horizon: horizon },
  ]);
  const error = (code: string, resolvedAt: Date | null, firstSeen = daysAgo(200)) => ({
    portal: 'caseware', record_type: 'contact', record_id: 1, client_number: '7301', code, message: 'contact 1 at client 7301',
    first_seen_at: firstSeen, last_seen_at: firstSeen, resolved_at: resolvedAt,
  });
  await db('sync_errors').insert([error('resolved-long-ago', daysAgo(91)), error('resolved-recently', daysAgo(10)), error('open', null)]);

  const dispatcher = new OutboxDispatcher({
    db, temporal: undefined as never, taskQueue: 'unused', log: pino({ level: 'silent' }), pollIntervalMs: 50,
    retention: { outboxRetentionDays: 7, syncErrorRetentionDays: 90, intervalMs: 100 },
  });
  // No event of a finished transaction is undelivered but the one of 7302, which stays claimed
  // below: the dispatcher has nothing to hand to Temporal.
  await db('outbox_events').where({ id: ids.undelivered }).update({ claimed_until: daysAgo(-1) });
  dispatcher.start();
  try {
    // One statement deletes or keeps every event: once these are gone, the rest were kept.
    await waitFor('the old events every portal passed to be deleted', async () =>
      (await db('outbox_events').whereIn('id', [ids.old!, ids.master!])).length === 0);
    await waitFor('the old resolved sync error to be deleted', async () =>
      (await db('sync_errors').where({ code: 'resolved-long-ago' })).length === 0);
  } finally {
    await dispatcher.stop();
  }
  expect((await db('outbox_events').orderBy('id').pluck('id'))).toEqual([ids.recent, ids['client-online-behind'], ids.undelivered]);
  expect((await db('sync_errors').orderBy('id').pluck('code'))).toEqual(['resolved-recently', 'open']);
});

test('retention is configured in days; a bad value stops start-up naming it', () => {
  const defaults = loadConfig({});
  expect(defaults).toMatchObject({ OUTBOX_RETENTION_DAYS: 7, SYNC_ERROR_RETENTION_DAYS: 90 });
  expect(loadConfig({ OUTBOX_RETENTION_DAYS: '30' }).OUTBOX_RETENTION_DAYS).toBe(30);
  expect(() => loadConfig({ OUTBOX_RETENTION_DAYS: 'a week' })).toThrow(ConfigError);
  expect(() => loadConfig({ SYNC_ERROR_RETENTION_DAYS: '0' })).toThrow(/SYNC_ERROR_RETENTION_DAYS/);
  expect(() => loadConfig({ OUTBOX_RETENTION_DAYS: 'a week' })).toThrow(/OUTBOX_RETENTION_DAYS/);
});
