import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { OutboxDispatcher } from '../../src/outbox/dispatcher';
import { createClient } from '../../src/registry/clients';
import { clientCreateSchema } from '../../src/registry/schemas';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startTemporal, waitFor } from '../support/temporal';

// The dispatcher against a real database and Temporal server (no worker: delivery is Temporal
// accepting the signal-with-start).

let database: TestDatabase;
let temporal: TestWorkflowEnvironment;

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), startTemporal()]);
}, 120_000);
afterAll(async () => {
  await temporal?.teardown();
  await database?.drop();
});

test('a workflow Temporal refuses does not hold back the other clients\' events; it is tried again after a backoff', async () => {
  const db = database.db;
  // A client number too long for a workflow id: Temporal refuses every signal-with-start for it.
  const refused = 'x'.repeat(1_100);
  await db('outbox_events').insert({ client_number: refused, kind: 'client.resync', record_type: 'client', record_id: 1 });
  for (const clientNumber of ['7201', '7202', '7203']) {
    await createClient(db, clientCreateSchema.parse({ clientNumber, kind: 'company', name: `Klant ${clientNumber} B.V.`, links: { caseware: true } }));
  }
  const dispatcher = new OutboxDispatcher({
    db, temporal: temporal.client, taskQueue: 'dispatcher-test', log: pino({ level: 'silent' }), pollIntervalMs: 50,
  });
  dispatcher.start();
  try {
    await waitFor('the other clients\' events delivered', async () =>
      (await db('outbox_events').whereNot({ client_number: refused }).whereNull('delivered_at')).length === 0, { timeoutMs: 10_000 });
    await waitFor('the refused event tried twice', async () =>
      Number((await db('outbox_events').where({ client_number: refused }).first('attempts'))?.attempts) >= 2, { timeoutMs: 10_000 });
  } finally {
    await dispatcher.stop();
  }
  const poison = await db('outbox_events').where({ client_number: refused }).first();
  expect(poison.delivered_at).toBeNull();
  expect(poison.last_error).toEqual(expect.any(String));
  for (const clientNumber of ['7201', '7202', '7203']) {
    const description = await temporal.client.workflow.getHandle(`client-${clientNumber}`).describe();
    expect(description.type).toBe('clientSyncWorkflow');
  }
});

test('a commit wakes the dispatcher at once: with an hour between polls, a write is still handed over within seconds', async () => {
  const db = database.db;
  const dispatcher = new OutboxDispatcher({ db, temporal: temporal.client, taskQueue: 'dispatcher-test', log: pino({ level: 'silent' }), pollIntervalMs: 3_600_000 });
  dispatcher.start();
  try {
    // The first round runs at start; everything written before it is gone then.
    await waitFor('the start-up round', async () => (await db('outbox_events').whereNull('delivered_at').whereNot('client_number', 'like', 'xx%')).length === 0, { timeoutMs: 10_000 });
    await createClient(db, clientCreateSchema.parse({ clientNumber: '7301', kind: 'company', name: 'Wakker B.V.', links: { caseware: true } }));
    await waitFor('the new client\'s event delivered', async () => (await db('outbox_events').where({ client_number: '7301' }).whereNull('delivered_at')).length === 0, { timeoutMs: 10_000 });
    // And again, after the dispatcher went back to sleep.
    await createClient(db, clientCreateSchema.parse({ clientNumber: '7302', kind: 'company', name: 'Nog wakker B.V.', links: { caseware: true } }));
    await waitFor('the second client\'s event delivered', async () => (await db('outbox_events').where({ client_number: '7302' }).whereNull('delivered_at')).length === 0, { timeoutMs: 10_000 });
    expect(await db('outbox_events').whereIn('client_number', ['7301', '7302']).whereNotNull('delivered_at')).toHaveLength(2);
  } finally {
    await dispatcher.stop();
  }
});

test('a dispatcher that died with events claimed: the next one takes them over at once, while a living one keeps its claims', async () => {
  const db = database.db;
  const claimer = async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    return { client, pid: rows[0]!.pid };
  };
  // The dead one's listening connection is gone, as when its worker is SIGKILLed; the living one's is open.
  const dead = await claimer();
  await dead.client.end();
  const living = await claimer();
  try {
    for (const clientNumber of ['7401', '7402']) {
      await createClient(db, clientCreateSchema.parse({ clientNumber, kind: 'company', name: `Klant ${clientNumber} B.V.`, links: { caseware: true } }));
    }
    const claimedUntil = db.raw("now() + interval '2 minutes'");
    await db('outbox_events').where({ client_number: '7401' }).update({ claimed_until: claimedUntil, claimed_by: dead.pid });
    await db('outbox_events').where({ client_number: '7402' }).update({ claimed_until: claimedUntil, claimed_by: living.pid });

    const dispatcher = new OutboxDispatcher({ db, temporal: temporal.client, taskQueue: 'dispatcher-test', log: pino({ level: 'silent' }), pollIntervalMs: 50 });
    dispatcher.start();
    try {
      await waitFor('the dead dispatcher\'s event delivered', async () => (await db('outbox_events').where({ client_number: '7401' }).whereNull('delivered_at')).length === 0, {
        timeoutMs: 10_000,
      });
      // Rounds go on every 50 ms: a second is twenty chances to take the living one's claim.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      await dispatcher.stop();
    }
    expect(await db('outbox_events').where({ client_number: '7402' }).whereNull('delivered_at')).toHaveLength(1);
    const description = await temporal.client.workflow.getHandle('client-7401').describe();
    expect(description.type).toBe('clientSyncWorkflow');
  } finally {
    await living.client.end();
    // The living claim would hold its event for two minutes more: nothing else in this file waits for it.
    await db('outbox_events').where({ client_number: '7402' }).update({ claimed_until: null, claimed_by: null });
  }
});
