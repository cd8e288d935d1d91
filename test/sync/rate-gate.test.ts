import { afterAll, beforeAll, expect, test } from 'vitest';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { startCaseWareSimulator, type CaseWareSimulator } from '../../src/simulators/caseware/simulator';
import { postgresRateGate } from '../../src/sync/rate-gate';
import { createTestDatabase, type TestDatabase } from '../support/db';

// Two workers (two clients, each with its own database pool) share one portal's rate limit
// through PostgreSQL: together they stay under what the portal allows.

let database: TestDatabase;
let second: TestDatabase['db'];
let simulator: CaseWareSimulator;

beforeAll(async () => {
  [database, simulator] = await Promise.all([
    createTestDatabase(),
    // The portal refuses more than 10 requests at once or 10 a second.
    startCaseWareSimulator({ port: 0, rateLimit: { burst: 10, replenishPerSecond: 10 } }),
  ]);
  const { default: knex } = await import('knex');
  second = knex({ client: 'pg', connection: database.url, pool: { min: 0, max: 2 } });
});
afterAll(async () => {
  await second?.destroy();
  await simulator?.close();
  await database?.drop();
});

/** A worker's CaseWare client; a 429 throws at once (no waiting it out), so one would show. */
const worker = (gate?: ReturnType<typeof postgresRateGate>) =>
  new CaseWareClient({ baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: simulator.clientSecret, maxRateLimitWaitMs: 0, gate });

test('two workers sharing the gate send 24 requests at once and meet no 429; without it they do', async () => {
  // Well under the portal's limit, so that requests the machine delays and sends together still fit.
  const limit = { perSecond: 4, burst: 1 };
  const a = worker(postgresRateGate(database.db, 'caseware', limit));
  const b = worker(postgresRateGate(second, 'caseware', limit));
  const results = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? a : b).listRoles()));
  expect(results.filter((r) => r.status === 'rejected').map((r) => String((r).reason))).toEqual([]);

  // The same load unpaced: the portal refuses part of it.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const unpaced = worker();
  const refused = await Promise.allSettled(Array.from({ length: 40 }, () => unpaced.listRoles()));
  expect(refused.some((r) => r.status === 'rejected' && String(r.reason).includes('429'))).toBe(true);
}, 30_000);

test('a request waiting for its slot stops when its attempt is cancelled', async () => {
  const gate = postgresRateGate(database.db, 'slow-portal', { perSecond: 0.1, burst: 1 });
  await gate.admit(undefined);
  const controller = new AbortController();
  const waiting = gate.admit(controller.signal);
  controller.abort();
  await expect(waiting).rejects.toThrow();
});
