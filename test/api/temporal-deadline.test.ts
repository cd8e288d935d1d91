import net from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildApi } from '../../src/api/server';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { apiToken, authorization } from './harness';

// A Temporal server that takes the connection and never answers (a busy or wedged server, seen once
// in a fuzz run as a schedule change that hung for three minutes): the schedule routes answer 503
// within their deadline instead of holding the request open.

let silent: net.Server;
const sockets = new Set<net.Socket>();
let database: TestDatabase;
let app: Awaited<ReturnType<typeof buildApi>>;
let connection: Connection;

beforeAll(async () => {
  silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  connection = Connection.lazy({ address: `127.0.0.1:${port}` });
  database = await createTestDatabase();
  app = await buildApi({
    db: database.db,
    apiToken,
    logger: false,
    reconcile: { temporal: new Client({ connection }), taskQueue: 'unused', scheduleCallTimeoutMs: 1_000 },
  });
});

afterAll(async () => {
  await app?.close();
  await connection?.close();
  for (const socket of sockets) socket.destroy();
  silent?.close();
  await database?.drop();
});

test.each([
  ['GET', undefined],
  ['PUT', { paused: true, note: 'maintenance' }],
] as const)('%s /reconcile/schedule answers 503 when Temporal does not answer within the deadline', async (method, body) => {
  const started = Date.now();
  const response = await app.inject({ method, url: '/reconcile/schedule', headers: { authorization }, ...(body ? { payload: body } : {}) });
  expect(response.statusCode).toBe(503);
  expect(response.json()).toEqual({ error: { code: 'unavailable', message: expect.stringContaining('did not answer in time') } });
  expect(Date.now() - started).toBeLessThan(10_000);
});
