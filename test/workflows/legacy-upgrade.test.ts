import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { CaseWareActivities, SyncClientInput } from '../../activities/caseware';
import type { ClientOnlineActivities } from '../../activities/client-online';
import type { MasterActivities } from '../../activities/masters';
import { clientWorkflowId, registryChangedSignal } from '../../workflows/definitions';
import { bundleWorkflows, startTemporal, waitFor } from '../support/temporal';

// A run started by the first version (CaseWare only) that is still running when the current
// version is deployed: the current code replays its history, takes the new signals (commit
// horizons), and hands over to a run of the current version, which syncs both portals. Client
// Online must not inherit CaseWare's progress (issue 7, item 9d). RECORD_HISTORIES=1 writes the
// history as test/fixtures/histories/v1-upgraded.json, which the replay test replays.

type Portal = 'caseware' | 'clientOnline';
let env: TestWorkflowEnvironment;
let currentBundle: WorkflowBundleWithSourceMap;
let legacyBundle: WorkflowBundleWithSourceMap;
const synced: (SyncClientInput & { portal: Portal })[] = [];

const activities: CaseWareActivities & ClientOnlineActivities & MasterActivities = {
  async propagateMasterToFollowers() {
    return { followers: 0, changed: 0 };
  },
  async syncClientToCaseWare(input) {
    synced.push({ ...input, portal: 'caseware' });
    return { entity: 'unchanged', contactsCreated: 0, contactsAdopted: 0, contactsUpdated: 0, contactsRevoked: 0, syncErrors: 0 };
  },
  async syncClientToClientOnline(input) {
    synced.push({ ...input, portal: 'clientOnline' });
    return { client: 'pushed', users: 1, syncErrors: 0 };
  },
};

const noop = () => undefined;
const quiet = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

beforeAll(async () => {
  [env, currentBundle, legacyBundle] = await Promise.all([
    startTemporal(),
    bundleWorkflows(),
    bundleWorkflowCode({ workflowsPath: path.join(__dirname, '..', 'fixtures', 'legacy-workflows', 'v1', 'index.ts'), logger: quiet }),
  ]);
});
afterAll(async () => {
  await env?.teardown();
});

const syncsOf = (portal: Portal) => synced.filter((s) => s.portal === portal);

test('a first-version run that gets new signals after the upgrade syncs both portals up to the newest horizon', async () => {
  const taskQueue = 'legacy-upgrade';
  const workflowId = clientWorkflowId('5101');
  // No sticky cache: the next workflow task goes to whichever worker polls, at once.
  const legacy = await Worker.create({
    connection: env.nativeConnection, taskQueue, workflowBundle: legacyBundle, activities, maxCachedWorkflows: 0,
  });
  const handle = await legacy.runUntil(async () => {
    const started = await env.client.workflow.signalWithStart('clientSyncWorkflow', {
      workflowId,
      taskQueue,
      args: [{ clientNumber: '5101', idleTimeout: '8 seconds' }],
      signal: registryChangedSignal,
      signalArgs: [{ eventId: 1 }],
    });
    await waitFor('the first version synced CaseWare', async () => syncsOf('caseware').length === 1);
    return started;
  });
  const firstRunId = (await handle.describe()).runId;
  expect(syncsOf('clientOnline')).toEqual([]);

  const current = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: currentBundle, activities });
  await current.runUntil(async () => {
    await handle.signal(registryChangedSignal, { eventId: 3, horizon: 30 });
    await waitFor('CaseWare synced event 3', async () => syncsOf('caseware').some((s) => s.uptoEventId === 3));
    // Event 2 took its id before event 3 but committed after it: the old run ignores its id, and
    // must not finish before the change is synced.
    await handle.signal(registryChangedSignal, { eventId: 2, horizon: 40 });
    await waitFor('both portals synced under horizon 40', async () =>
      syncsOf('caseware').some((s) => s.horizon === 40) && syncsOf('clientOnline').some((s) => s.horizon === 40), { timeoutMs: 30_000 });
    const latest = await env.client.workflow.getHandle(workflowId).describe();
    expect(latest.runId).not.toBe(firstRunId);
  });
  // Client Online was first synced by the current version, and under the newest horizon.
  expect(syncsOf('clientOnline').map((s) => s.horizon)).toEqual([40]);

  if (process.env.RECORD_HISTORIES) {
    const history = await env.client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
    writeFileSync(
      path.join(__dirname, '..', 'fixtures', 'histories', 'v1-upgraded.json'),
      `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`,
    );
  }
  await env.client.workflow.getHandle(workflowId).terminate('test done');
}, 90_000);
