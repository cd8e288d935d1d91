import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { CaseWareActivities, SyncClientInput } from '../../activities/caseware';
import type { ClientOnlineActivities } from '../../activities/client-online';
import type { MasterActivities } from '../../activities/masters';
import { clientSyncWorkflow } from '../../workflows/client-sync';
import { clientWorkflowId, masterWorkflowId, registryChangedSignal } from '../../workflows/definitions';
import { masterPropagationWorkflow } from '../../workflows/master-propagation';
import { bundleWorkflows, startTemporal, waitFor } from '../support/temporal';

// The workflow alone, with the activities swapped for recorders: how it folds signals together,
// ignores redelivered events, keeps one portal going while the other is stuck, finishes when idle
// and survives a failed sync. Set RECORD_HISTORIES=1 to write the histories these runs produce to
// test/fixtures/histories (as client-sync-*.json), where the replay test guards them against
// non-deterministic changes. Signals here carry horizon = event id: both only grow.

type Portal = 'caseware' | 'clientOnline';
/** An attempt of a sync: the first one runs as a local activity, its retries as regular activities. */
type Call = SyncClientInput & { portal: Portal; local: boolean; startedAt: number; stoppedAt?: number };
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const calls: Call[] = [];
const synced: Call[] = [];
const failNext: Record<Portal, boolean> = { caseware: false, clientOnline: false };
/** The next sync's first (local) attempt fails retryably; its retry goes through. */
const failFirstAttempt: Record<Portal, boolean> = { caseware: false, clientOnline: false };
/** The next sync fails with a retryable failure of a type the retry policy names as not retryable. */
const failNextAsMissing: Record<Portal, boolean> = { caseware: false, clientOnline: false };
/** The portal is down: every attempt fails retryably until this is switched off. */
const down: Record<Portal, boolean> = { caseware: false, clientOnline: false };
/** An operator holds the portal: its syncs answer `held` (activities/caseware/reading.ts, syncMeetsHold). */
const held: Record<Portal, boolean> = { caseware: false, clientOnline: false };
let slowMs = 0;
let clientOnlineGate: Promise<void> | undefined;

async function recordCall(portal: Portal, input: SyncClientInput) {
  const context = Context.current();
  const call: Call = { ...input, portal, local: context.info.isLocal, startedAt: Date.now() };
  calls.push(call);
  // Cancelled (a hand-over, or a first attempt out of time), the attempt stops waiting, and takes
  // a moment to stop, as a call being aborted does.
  const cancellable = async (wait: Promise<unknown>) => {
    try {
      await Promise.race([wait, context.cancelled]);
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      call.stoppedAt = Date.now();
      throw error;
    }
  };
  if (slowMs) await cancellable(new Promise((resolve) => setTimeout(resolve, slowMs)));
  if (portal === 'clientOnline' && clientOnlineGate) await cancellable(clientOnlineGate);
  if (failNext[portal]) {
    failNext[portal] = false;
    throw ApplicationFailure.nonRetryable('the portal has no role named "X"', 'ConfigurationError');
  }
  if (failNextAsMissing[portal]) {
    failNextAsMissing[portal] = false;
    throw ApplicationFailure.retryable(`client ${input.clientNumber} is not in the registry`, 'RegistryRecordMissing');
  }
  if (call.local && failFirstAttempt[portal]) {
    failFirstAttempt[portal] = false;
    throw ApplicationFailure.retryable('the portal answers 503', 'PortalUnavailable');
  }
  if (down[portal]) throw ApplicationFailure.retryable('the portal answers 503', 'PortalUnavailable');
  synced.push(call);
}

const propagations: number[] = [];
const propagationsOf = new Map<number, number>();

const activities: CaseWareActivities & ClientOnlineActivities & MasterActivities = {
  async propagateMasterToFollowers({ master, uptoEventId }) {
    propagations.push(uptoEventId);
    propagationsOf.set(master.id, (propagationsOf.get(master.id) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { followers: 2, changed: 2 };
  },
  async syncClientToCaseWare(input) {
    await recordCall('caseware', input);
    if (held.caseware) return { entity: 'held', contactsCreated: 0, contactsAdopted: 0, contactsUpdated: 0, contactsRevoked: 0, syncErrors: 0, held: 'portal' };
    return { entity: 'unchanged', contactsCreated: 0, contactsAdopted: 0, contactsUpdated: 0, contactsRevoked: 0, syncErrors: 0 };
  },
  async syncClientToClientOnline(input) {
    await recordCall('clientOnline', input);
    if (held.clientOnline) return { client: 'held', users: 0, syncErrors: 0, held: 'portal' };
    return { client: 'pushed', users: 1, syncErrors: 0 };
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

async function start(clientNumber: string, eventId: number, idleTimeout = '1 minute', syncsPerRun?: number, localAttemptTimeoutMs?: number) {
  return env.client.workflow.signalWithStart(clientSyncWorkflow, {
    workflowId: clientWorkflowId(clientNumber),
    taskQueue,
    args: [{ clientNumber, idleTimeout, syncsPerRun, localAttemptTimeoutMs }],
    signal: registryChangedSignal,
    signalArgs: [change(eventId)],
  });
}

const change = (eventId: number) => ({ eventId, horizon: eventId });

const syncedFor = (clientNumber: string, portal: Portal) =>
  synced.filter((c) => c.clientNumber === clientNumber && c.portal === portal).map((c) => c.horizon);

const callsFor = (clientNumber: string, portal: Portal) =>
  calls.filter((c) => c.clientNumber === clientNumber && c.portal === portal).map((c) => c.uptoEventId);

/** Each attempt of the client's syncs of `portal`: 'local' (a first attempt) or 'retried', with the event it synced up to. */
const attemptsFor = (clientNumber: string, portal: Portal) =>
  calls.filter((c) => c.clientNumber === clientNumber && c.portal === portal).map((c) => [c.local ? 'local' : 'retried', c.uptoEventId]);

/** The type of a history event, from the one `…EventAttributes` field it carries. */
function eventType(event: object): string {
  const key = Object.entries(event).find(([name, value]) => name.endsWith('EventAttributes') && value)?.[0] ?? 'unknown';
  return key.charAt(0).toUpperCase() + key.slice(1, -'EventAttributes'.length);
}

async function record(name: string, workflowId: string, runId?: string) {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const dir = path.join(__dirname, '..', 'fixtures', 'histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `client-sync-${name}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
}

test('a burst of changes ends in a sync of the newest one on every portal, and few syncs in all', async () => {
  slowMs = 300;
  const handle = await start('5001', 1);
  for (let eventId = 2; eventId <= 10; eventId += 1) await handle.signal(registryChangedSignal, change(eventId));
  await waitFor('the newest change synced', async () =>
    callsFor('5001', 'caseware').includes(10) && callsFor('5001', 'clientOnline').includes(10));
  slowMs = 0;
  for (const portal of ['caseware', 'clientOnline'] as const) {
    const upto = callsFor('5001', portal);
    expect(upto.length).toBeLessThanOrEqual(3);
    expect([...upto].sort((a, b) => a - b)).toEqual(upto);
  }
  await handle.terminate('test done');
  await record('burst', handle.workflowId);
});

test('a redelivered or older event causes no second sync', async () => {
  const handle = await start('5002', 5);
  await waitFor('first sync', async () => callsFor('5002', 'caseware').length === 1 && callsFor('5002', 'clientOnline').length === 1);
  await handle.signal(registryChangedSignal, change(5));
  await handle.signal(registryChangedSignal, change(3));
  // Markers: a sync the two above caused would run before the syncs of these.
  for (const marker of [6, 7]) {
    await handle.signal(registryChangedSignal, change(marker));
    await waitFor(`sync of event ${marker}`, async () =>
      callsFor('5002', 'caseware').includes(marker) && callsFor('5002', 'clientOnline').includes(marker));
  }
  expect(callsFor('5002', 'caseware')).toEqual([5, 6, 7]);
  expect(callsFor('5002', 'clientOnline')).toEqual([5, 6, 7]);
  await handle.terminate('test done');
  await record('redelivery', handle.workflowId);
});

test('a portal that is stuck holds back the other one only while its first attempt lasts', async () => {
  let release: () => void = () => undefined;
  clientOnlineGate = new Promise<void>((resolve) => { release = resolve; });
  const handle = await start('5005', 1, '1 minute', undefined, 2_000);
  await waitFor('CaseWare synced event 1', async () => callsFor('5005', 'caseware').includes(1));
  await handle.signal(registryChangedSignal, change(2));
  await handle.signal(registryChangedSignal, change(3));
  await waitFor('CaseWare synced event 3 while Client Online hangs', async () => callsFor('5005', 'caseware').includes(3));
  // Client Online's first attempt ran out of time and was stopped; its retry, a regular activity, hangs on.
  await waitFor('the retry of Client Online', async () => attemptsFor('5005', 'clientOnline').length === 2);
  expect(attemptsFor('5005', 'clientOnline')).toEqual([['local', 1], ['retried', 1]]);
  expect(calls.find((c) => c.clientNumber === '5005' && c.portal === 'clientOnline' && c.local)?.stoppedAt).toBeDefined();
  clientOnlineGate = undefined;
  release();
  await waitFor('Client Online caught up', async () => callsFor('5005', 'clientOnline').includes(3));
  expect(callsFor('5005', 'clientOnline')).toEqual([1, 1, 3]);
  expect(syncedFor('5005', 'clientOnline')).toEqual([1, 3]);
  await handle.terminate('test done');
  await record('stuck-portal', handle.workflowId);
});

test('an idle workflow finishes, and the next change starts it again', async () => {
  const first = await start('5003', 1, '300 milliseconds');
  await first.result();
  expect(callsFor('5003', 'caseware')).toEqual([1]);
  expect(callsFor('5003', 'clientOnline')).toEqual([1]);
  await record('idle-finish', first.workflowId);
  const second = await start('5003', 2, '300 milliseconds');
  await second.result();
  expect(callsFor('5003', 'caseware')).toEqual([1, 2]);
});

test('a sync that fails for good does not end the workflow, nor is it retried; the next change syncs again', async () => {
  failNext.caseware = true;
  const handle = await start('5004', 1);
  await waitFor('failed sync', async () => callsFor('5004', 'caseware').length === 1);
  await handle.signal(registryChangedSignal, change(2));
  await waitFor('next sync', async () => callsFor('5004', 'caseware').length === 2);
  // A failure of a type the retry policy names is not retried either, however it was raised.
  failNextAsMissing.caseware = true;
  await handle.signal(registryChangedSignal, change(3));
  await waitFor('a sync of event 3', async () => callsFor('5004', 'caseware').length === 3);
  await handle.signal(registryChangedSignal, change(4));
  await waitFor('a sync of event 4', async () => syncedFor('5004', 'caseware').includes(4));
  expect(attemptsFor('5004', 'caseware')).toEqual([['local', 1], ['local', 2], ['local', 3], ['local', 4]]);
  expect(syncedFor('5004', 'caseware')).toEqual([2, 4]);
  const description = await handle.describe();
  expect(description.status.name).toBe('RUNNING');
  const types = (await handle.fetchHistory()).events?.map(eventType) ?? [];
  expect(types).not.toContain('ActivityTaskScheduled');
  await handle.terminate('test done');
  await record('failed-sync', handle.workflowId);
});

test('a first attempt that fails retryably is retried as a regular activity, after the retry interval', async () => {
  failFirstAttempt.caseware = true;
  const handle = await start('5009', 1);
  await waitFor('both portals synced event 1', async () => syncedFor('5009', 'caseware').includes(1) && syncedFor('5009', 'clientOnline').includes(1));
  expect(attemptsFor('5009', 'caseware')).toEqual([['local', 1], ['retried', 1]]);
  expect(attemptsFor('5009', 'clientOnline')).toEqual([['local', 1]]);
  const [firstAttempt, retry] = calls.filter((c) => c.clientNumber === '5009' && c.portal === 'caseware');
  expect(retry!.startedAt - firstAttempt!.startedAt).toBeGreaterThanOrEqual(1_000);
  // The history: both first attempts as markers (CaseWare's failed), then the retry as an activity.
  await waitFor('the retry recorded', async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.activityTaskCompletedEventAttributes));
  const events = (await handle.fetchHistory()).events ?? [];
  const markers = events.filter((e) => e.markerRecordedEventAttributes);
  expect(markers).toHaveLength(2);
  expect(markers.filter((e) => e.markerRecordedEventAttributes?.failure)).toHaveLength(1);
  expect(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)).toEqual(['syncClientToCaseWare']);
  await handle.terminate('test done');
  await record('first-attempt-retried', handle.workflowId);
});

test('a long-lived workflow hands over to a fresh run and loses no change', async () => {
  slowMs = 100;
  const handle = await start('5006', 1, '1 minute', 2);
  const firstRunId = (await handle.describe()).runId;
  for (let eventId = 2; eventId <= 6; eventId += 1) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    await handle.signal(registryChangedSignal, change(eventId));
  }
  await waitFor('every change synced on both portals', async () =>
    callsFor('5006', 'caseware').includes(6) && callsFor('5006', 'clientOnline').includes(6));
  slowMs = 0;
  const latest = await env.client.workflow.getHandle('client-5006').describe();
  expect(latest.runId).not.toBe(firstRunId);
  expect(latest.status.name).toBe('RUNNING');
  for (const portal of ['caseware', 'clientOnline'] as const) {
    const upto = callsFor('5006', portal);
    expect([...upto].sort((a, b) => a - b)).toEqual(upto);
  }
  await record('continue-as-new', handle.workflowId, firstRunId);
  await env.client.workflow.getHandle('client-5006').terminate('test done');
});

test('a hand-over does not wait for a portal that keeps failing; that portal resumes in the next run once it recovers', async () => {
  down.clientOnline = true;
  const handle = await start('5007', 1, '1 minute', 2);
  const firstRunId = (await handle.describe()).runId;
  for (let eventId = 2; eventId <= 5; eventId += 1) {
    await handle.signal(registryChangedSignal, change(eventId));
    await waitFor(`CaseWare synced event ${eventId} while Client Online fails`, async () => syncedFor('5007', 'caseware').includes(eventId));
  }
  const latest = await env.client.workflow.getHandle('client-5007').describe();
  expect(latest.runId).not.toBe(firstRunId);
  expect(syncedFor('5007', 'clientOnline')).toEqual([]);
  down.clientOnline = false;
  await waitFor('Client Online caught up', async () => syncedFor('5007', 'clientOnline').includes(5), { timeoutMs: 30_000 });
  await record('failing-portal-hand-over', handle.workflowId, firstRunId);
  await env.client.workflow.getHandle('client-5007').terminate('test done');
}, 60_000);

test('a hand-over stops a first attempt in flight before the next run starts the portal again', async () => {
  let release: () => void = () => undefined;
  clientOnlineGate = new Promise<void>((resolve) => { release = resolve; });
  // One sync per run: CaseWare's first sync hands over while Client Online's first attempt hangs.
  const handle = await start('5010', 1, '1 minute', 1);
  const firstRunId = (await handle.describe()).runId;
  await waitFor('the next run to start Client Online again', async () => attemptsFor('5010', 'clientOnline').length === 2);
  const [cancelled, next] = calls.filter((c) => c.clientNumber === '5010' && c.portal === 'clientOnline');
  expect(cancelled!.local).toBe(true);
  expect(cancelled!.stoppedAt).toBeDefined();
  // One sync at a time per portal: the hand-over waited for the first attempt to stop.
  expect(next!.startedAt).toBeGreaterThanOrEqual(cancelled!.stoppedAt!);
  expect(next!.local).toBe(true);
  clientOnlineGate = undefined;
  release();
  await waitFor('Client Online synced event 1', async () => syncedFor('5010', 'clientOnline').includes(1));
  expect(callsFor('5010', 'caseware')).toEqual([1]);
  await record('hand-over-stops-first-attempt', handle.workflowId, firstRunId);
  await env.client.workflow.getHandle('client-5010').terminate('test done');
});

test('a held portal keeps its applied horizon: the release signal syncs it again, and only it', async () => {
  held.caseware = true;
  const handle = await start('5008', 1);
  await waitFor('both portals synced event 1', async () => callsFor('5008', 'caseware').includes(1) && callsFor('5008', 'clientOnline').includes(1));
  await handle.signal(registryChangedSignal, change(2));
  await waitFor('both portals synced event 2', async () => callsFor('5008', 'caseware').includes(2) && callsFor('5008', 'clientOnline').includes(2));
  await waitFor('the Temporal Web UI to say CaseWare is held', async () => {
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    return metadata.currentDetails === 'CaseWare Cloud: held; the changes wait until the hold ends; Client Online: up to date';
  });

  // The release's event: it committed under the horizon the held syncs ran at, so it carries no
  // higher one. CaseWare, which applied nothing, syncs; Client Online, which applied it, does not.
  held.caseware = false;
  await handle.signal(registryChangedSignal, { eventId: 3, horizon: 2 });
  await waitFor('CaseWare synced after the release', async () => syncedFor('5008', 'caseware').length === 3);
  // A marker: a Client Online sync the release caused would come before this one's.
  await handle.signal(registryChangedSignal, change(4));
  await waitFor('both portals synced event 4', async () => callsFor('5008', 'caseware').includes(4) && callsFor('5008', 'clientOnline').includes(4));
  expect(callsFor('5008', 'caseware')).toEqual([1, 2, 3, 4]);
  expect(callsFor('5008', 'clientOnline')).toEqual([1, 2, 4]);
  await handle.terminate('test done');
  await record('held-then-released', handle.workflowId);
});

test("a master's changes are propagated one run at a time, the newest last, and the workflow finishes when idle", async () => {
  const master = { type: 'client' as const, id: 77 };
  const handle = await env.client.workflow.signalWithStart(masterPropagationWorkflow, {
    workflowId: masterWorkflowId(master),
    taskQueue,
    args: [{ master, idleTimeout: '1 second' }],
    signal: registryChangedSignal,
    signalArgs: [{ eventId: 10 }],
  });
  for (const eventId of [11, 12, 9]) await handle.signal(registryChangedSignal, change(eventId));
  await handle.result();
  expect(propagations.at(-1)).toBe(12);
  expect([...propagations].sort((a, b) => a - b)).toEqual(propagations);
  expect(propagations.length).toBeLessThanOrEqual(3);
  await record('master-propagation', handle.workflowId);
});

test("a master's change that commits after a later one has been propagated is propagated too", async () => {
  const master = { type: 'contact' as const, id: 78 };
  const handle = await env.client.workflow.signalWithStart(masterPropagationWorkflow, {
    workflowId: masterWorkflowId(master),
    taskQueue,
    args: [{ master, idleTimeout: '1 minute' }],
    signal: registryChangedSignal,
    signalArgs: [change(20)],
  });
  await waitFor('the first propagation', async () => propagationsOf.get(78) === 1);
  // Event 19 took its id before event 20 but committed after it: the horizon has moved past it.
  await handle.signal(registryChangedSignal, { eventId: 19, horizon: 21 });
  await waitFor('a second propagation', async () => propagationsOf.get(78) === 2);
  await record('master-late-commit', handle.workflowId);
  await handle.terminate('test done');
});
