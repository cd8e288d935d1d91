import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { CaseWareActivities, SyncClientInput } from '../../activities/caseware';
import { clientSyncWorkflow } from '../../workflows/client-sync';
import { clientWorkflowId, registryChangedSignal } from '../../workflows/definitions';
import { bundleWorkflows, startTemporal, waitFor } from '../support/temporal';

// The workflow alone, with the activity swapped for a recorder: how it folds signals together,
// ignores redelivered events, finishes when idle and survives a failed sync. Set
// RECORD_HISTORIES=1 to write the histories these runs produce to test/fixtures/histories, where
// the replay test guards them against non-deterministic changes.

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const calls: SyncClientInput[] = [];
let failNext = false;
let slowMs = 0;

const activities: CaseWareActivities = {
  async syncClientToCaseWare(input) {
    calls.push(input);
    if (slowMs) await new Promise((resolve) => setTimeout(resolve, slowMs));
    if (failNext) {
      failNext = false;
      throw ApplicationFailure.nonRetryable('CaseWare Cloud has no role named "X"', 'ConfigurationError');
    }
    return { entity: 'unchanged', contactsCreated: 0, contactsUpdated: 0, contactsRevoked: 0, syncErrors: 0 };
  },
};

const taskQueue = 'workflow-test';
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  [env, bundle] = await Promise.all([startTemporal(), bundleWorkflows()]);
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

async function start(clientNumber: string, eventId: number, idleTimeout = '1 minute') {
  return env.client.workflow.signalWithStart(clientSyncWorkflow, {
    workflowId: clientWorkflowId(clientNumber),
    taskQueue,
    args: [{ clientNumber, idleTimeout }],
    signal: registryChangedSignal,
    signalArgs: [{ eventId }],
  });
}

const callsFor = (clientNumber: string) => calls.filter((c) => c.clientNumber === clientNumber);

async function record(name: string, workflowId: string) {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const dir = path.join(__dirname, '..', 'fixtures', 'histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
}

test('a burst of changes ends in a sync of the newest one, and few syncs in all', async () => {
  slowMs = 300;
  const handle = await start('5001', 1);
  for (let eventId = 2; eventId <= 10; eventId += 1) await handle.signal(registryChangedSignal, { eventId });
  await waitFor('the newest change synced', async () => callsFor('5001').some((c) => c.uptoEventId === 10));
  slowMs = 0;
  expect(callsFor('5001').length).toBeLessThanOrEqual(3);
  const upto = callsFor('5001').map((c) => c.uptoEventId);
  expect([...upto].sort((a, b) => a - b)).toEqual(upto);
  await handle.terminate('test done');
  await record('burst', handle.workflowId);
});

test('a redelivered or older event causes no second sync', async () => {
  const handle = await start('5002', 5);
  await waitFor('first sync', async () => callsFor('5002').length === 1);
  await handle.signal(registryChangedSignal, { eventId: 5 });
  await handle.signal(registryChangedSignal, { eventId: 3 });
  await handle.signal(registryChangedSignal, { eventId: 6 });
  await waitFor('sync of event 6', async () => callsFor('5002').some((c) => c.uptoEventId === 6));
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(callsFor('5002').map((c) => c.uptoEventId)).toEqual([5, 6]);
  await handle.terminate('test done');
  await record('redelivery', handle.workflowId);
});

test('an idle workflow finishes, and the next change starts it again', async () => {
  const first = await start('5003', 1, '300 milliseconds');
  await first.result();
  expect(callsFor('5003').map((c) => c.uptoEventId)).toEqual([1]);
  await record('idle-finish', first.workflowId);
  const second = await start('5003', 2, '300 milliseconds');
  await second.result();
  expect(callsFor('5003').map((c) => c.uptoEventId)).toEqual([1, 2]);
});

test('a sync that fails for good does not end the workflow; the next change syncs again', async () => {
  failNext = true;
  const handle = await start('5004', 1);
  await waitFor('failed sync', async () => callsFor('5004').length === 1);
  await handle.signal(registryChangedSignal, { eventId: 2 });
  await waitFor('next sync', async () => callsFor('5004').length === 2);
  const description = await handle.describe();
  expect(description.status.name).toBe('RUNNING');
  await handle.terminate('test done');
  await record('failed-sync', handle.workflowId);
});
