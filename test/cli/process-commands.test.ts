import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knex from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTemporal, waitFor } from '../support/temporal';
import { cli, cleanEnv, createEmptyDatabase, freePort, spawnCli, type RunningCli } from './support';

// The process commands as an operator runs them, each in a process of its own, on a real
// PostgreSQL and a Temporal dev server: migrate, the simulators, a worker and an API that work
// together as a deployment, and the local stack of `start`.

let temporal: TestWorkflowEnvironment;
const databases: { url: string; drop(): Promise<void> }[] = [];
const running: RunningCli[] = [];
let dataDir: string;

beforeAll(async () => {
  temporal = await startTemporal();
  dataDir = mkdtempSync(path.join(tmpdir(), 'portal-sync-cli-'));
});
afterAll(async () => {
  await Promise.all(running.map((child) => child.terminate()));
  await temporal?.teardown();
  await Promise.all(databases.map((database) => database.drop()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function emptyDatabase() {
  const database = await createEmptyDatabase();
  databases.push(database);
  return database.url;
}

function start(args: string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = spawnCli(args, env);
  running.push(child);
  return child;
}

const readyEvent = async (child: RunningCli, timeoutMs?: number) => JSON.parse((await child.waitForOutput(/^\{"event":"ready".*\}$/m, timeoutMs))[0]);
const taskQueue = () => `cli-${randomBytes(4).toString('hex')}`;

describe('migrate', () => {
  test('runs every migration on a fresh database, then finds it up to date', async () => {
    const url = await emptyDatabase();
    const first = await cli(['migrate'], cleanEnv({ DATABASE_URL: url }));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^The database portal_sync_cli_\w+ at 127\.0\.0\.1:5432: ran (\d+) of \1 migrations:$/m);
    expect(first.stdout).toMatch(/^ {2}20261123000001_registry$/m);
    expect(first.stdout).not.toContain('postgres@');

    const db = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    try {
      const tables = await db('information_schema.tables').where({ table_schema: 'public' }).pluck('table_name');
      expect(tables).toEqual(expect.arrayContaining(['clients', 'contacts', 'outbox_events', 'offboardings']));
    } finally {
      await db.destroy();
    }

    const again = await cli(['migrate', '--json'], cleanEnv({ DATABASE_URL: url }));
    expect(again.code, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout);
    expect(result.ran).toEqual([]);
    expect(result.total).toBeGreaterThan(0);
  });

  test('a database nobody answers at: exit 3', async () => {
    const port = await freePort();
    const run = await cli(['migrate'], cleanEnv({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nothing` }));
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`the database nothing at 127.0.0.1:${port} cannot be used: connect ECONNREFUSED`);
  });
});

describe('worker, api and simulators, each a process of its own', () => {
  let databaseUrl: string;
  let simulators: RunningCli;
  let sim: { caseware: { state: string; baseUrl: string }; clientOnline: { state: string }; environment: Record<string, string> };

  beforeAll(async () => {
    databaseUrl = await emptyDatabase();
    expect((await cli(['migrate'], cleanEnv({ DATABASE_URL: databaseUrl }))).code).toBe(0);
  });

  test('worker and api name what they are missing: exit 2', async () => {
    const worker = await cli(['worker'], cleanEnv({}));
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain('portal-sync worker joins an existing deployment; set DATABASE_URL, TEMPORAL_ADDRESS, CASEWARE_BASE_URL');
    const api = await cli(['api'], cleanEnv({ DATABASE_URL: databaseUrl }));
    expect(api.code).toBe(2);
    expect(api.stderr).toContain('portal-sync api joins an existing deployment; set TEMPORAL_ADDRESS.');
    const unmigrated = await cli(['api'], cleanEnv({ DATABASE_URL: await emptyDatabase(), TEMPORAL_ADDRESS: temporal.address }));
    expect(unmigrated.code).toBe(2);
    expect(unmigrated.stderr).toMatch(/the database lacks \d+ of its migrations: run `portal-sync migrate` first/);
  });

  test('simulators: start on the ports given and answer /_sim/state', async () => {
    const [casewarePort, clientOnlinePort] = [await freePort(), await freePort()];
    simulators = start(['simulators', '--caseware-port', String(casewarePort), '--client-online-port', String(clientOnlinePort), '--json'], cleanEnv({}));
    sim = await readyEvent(simulators);
    expect(sim.caseware.state).toBe(`http://127.0.0.1:${casewarePort}/_sim/state`);
    expect(sim.clientOnline.state).toBe(`http://127.0.0.1:${clientOnlinePort}/_sim/state`);
    for (const url of [sim.caseware.state, sim.clientOnline.state]) expect((await fetch(url)).status).toBe(200);
    expect(sim.environment).toMatchObject({ CASEWARE_BASE_URL: sim.caseware.baseUrl, CASEWARE_CLIENT_ID: expect.any(String), CLIENT_ONLINE_API_KEY: expect.any(String) });
  });

  test('a worker and an API process: a change made through the API reaches the portals; both stop on SIGTERM', async () => {
    const queue = taskQueue();
    const apiPort = await freePort();
    const token = 'cli-test-token-0123456789';
    const shared = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: queue, OUTBOX_POLL_INTERVAL_MS: '100' };
    const worker = start(['worker', '--json'], cleanEnv({ ...shared, ...sim.environment }));
    const api = start(['api'], cleanEnv({ ...shared, API_PORT: String(apiPort), API_TOKEN: token }));

    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await api.waitForOutput(/^portal-sync API is running\.$/m);
    expect(api.stdout()).toContain(`HTTP API             ${apiUrl}   (Authorization: Bearer $API_TOKEN)`);
    expect((await fetch(`${apiUrl}/health`)).status).toBe(200);
    const ready = await readyEvent(worker, 120_000);
    expect(ready).toMatchObject({ command: 'worker', roles: ['worker', 'dispatcher'], taskQueue: queue });
    expect(ready.apiUrl).toBeUndefined();

    const post = (route: string, body: unknown) =>
      fetch(`${apiUrl}${route}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const both = { caseware: true, clientOnline: true };
    expect((await post('/clients', { clientNumber: 'w1', kind: 'company', name: 'Worker Test', links: both })).status).toBe(201);
    expect((await post('/clients/w1/contacts', { firstName: 'W', lastName: 'One', email: 'w@w1.test', links: both })).status).toBe(201);
    // The API process wrote the change; the worker's dispatcher delivered it and its worker synced it.
    await waitFor('client w1 at the CaseWare simulator', async () => {
      const state = (await (await fetch(sim.caseware.state)).json()) as { entities: { EntityNo: string }[] };
      return state.entities.some((entity) => entity.EntityNo === 'w1');
    }, { timeoutMs: 60_000 });
    await waitFor('client w1 in sync', async () => {
      const status = await cli(['status', 'w1', '--json'], cleanEnv({ PORTAL_SYNC_API_URL: apiUrl, API_TOKEN: token }));
      const body = JSON.parse(status.stdout);
      return body.caseware.state === 'in-sync' && body.clientOnline.state === 'in-sync';
    }, { timeoutMs: 60_000, intervalMs: 500 });

    const [apiStopped, workerStopped] = await Promise.all([api.terminate(), worker.terminate()]);
    expect(apiStopped.code, apiStopped.stderr).toBe(0);
    expect(workerStopped.code, workerStopped.stderr).toBe(0);
    expect(workerStopped.stdout.trim().split('\n').map((line) => JSON.parse(line).event)).toEqual(['ready', 'stopped']);
    expect((await fetch(`${apiUrl}/health`).catch(() => undefined))?.status).toBeUndefined();
  }, 240_000);

  test('simulators: stop on SIGTERM', async () => {
    const stopped = await simulators.terminate();
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(JSON.parse(stopped.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({ event: 'stopped', signal: 'SIGTERM' });
    expect(await fetch(sim.caseware.state).catch(() => 'refused')).toBe('refused');
  });
});

test('start: the local stack, with its start-up text, until SIGTERM; the CLI finds its token file', async () => {
  const ports = { api: await freePort(), caseware: await freePort(), clientOnline: await freePort() };
  const localData = path.join(dataDir, 'start');
  const stack = start(
    ['start'],
    cleanEnv({
      DATABASE_URL: await emptyDatabase(),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue(),
      DATA_DIR: localData,
      API_PORT: String(ports.api),
      CASEWARE_SIMULATOR_PORT: String(ports.caseware),
      CLIENT_ONLINE_SIMULATOR_PORT: String(ports.clientOnline),
    }),
  );
  await stack.waitForOutput(/^Ctrl-C stops everything\.$/m, 120_000);
  const apiUrl = `http://127.0.0.1:${ports.api}`;
  const text = stack.stdout();
  expect(text).toContain('portal-sync is running.');
  expect(text).toContain(`  Temporal Web UI      (external server at ${temporal.address})`);
  expect(text).toContain(`  HTTP API             ${apiUrl}   (Authorization: Bearer $(cat ${path.join(localData, 'api-token')}))`);
  expect(text).toContain(`  API docs             ${apiUrl}/docs`);
  expect(text).toContain(`  CaseWare simulator   http://127.0.0.1:${ports.caseware}/_sim/state`);
  expect(text).toContain(`  Client Online sim.   http://127.0.0.1:${ports.clientOnline}/_sim/state`);
  expect(text).toContain('  Demo clients 1001-1005 were loaded.');
  // Four eyes: approving takes a second token; with DATABASE_URL set, the tokens command needs nothing more.
  expect(text).toContain(
    '  Approving            a held offboarding takes a second token (four eyes); make one with\n' +
      '                       npx portal-sync tokens create --name <name> --role operator\n',
  );

  // The hint names what a CLI in another terminal needs: this DATA_DIR (the token file) and API URL.
  expect(text).toContain(`       DATA_DIR=${localData} PORTAL_SYNC_API_URL=${apiUrl} npx portal-sync status 1001     (npx portal-sync --help lists every command)\n`);
  // No --token and no API_TOKEN: the CLI reads the token `start` wrote under DATA_DIR.
  expect(readFileSync(path.join(localData, 'api-token'), 'utf8').trim().length).toBeGreaterThanOrEqual(16);
  const status = await cli(['status', '1001'], cleanEnv({ PORTAL_SYNC_API_URL: apiUrl, DATA_DIR: localData }));
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout).toMatch(/^Client 1001$/m);
  // The demo's client 1001 is linked to both portals: a line each, aligned.
  expect(status.stdout).toMatch(/^ {2}CaseWare Cloud {2}(in-sync|pending) +last sync /m);
  expect(status.stdout).toMatch(/^ {2}Client Online {3}(in-sync|pending) +last sync /m);

  const stopped = await stack.terminate();
  expect(stopped.code, stopped.stderr).toBe(0);
}, 240_000);
