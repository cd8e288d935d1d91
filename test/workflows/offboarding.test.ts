import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { OffboardingActivities } from '../../activities/offboarding';
import { approveOffboardingUpdate, cancelOffboardingUpdate, offboardingProgressQuery } from '../../workflows/offboarding-definitions';
import { offboardingWorkflow } from '../../workflows/offboarding';
import { bundleWorkflows, startTemporal } from '../support/temporal';

// The offboarding workflow alone, its activities swapped for fakes, where the order in which
// Temporal hands it work is the point: an approve that comes before the workflow has even loaded
// its plan (the approver was quick, or no worker ran yet when both arrived).

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const taskQueue = 'offboarding-workflow-test';

/** What the fakes were asked to do, in order. */
const calls: string[] = [];
/** How long the fakes take: a step's wait for the portals, and recording a cancel. */
const timing = { awaitMs: 0, cancelRecordMs: 0 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const activities: OffboardingActivities = {
  async loadOffboardingSteps() {
    // Slower than recording the approval: the approve handler finishes first.
    await new Promise((resolve) => setTimeout(resolve, 500));
    calls.push('load');
    return { finished: null, steps: [{ step: 1, clientNumber: '1001', summary: 'switch a link off' }] };
  },
  async applyOffboardingStep({ step }) {
    calls.push(`apply ${step}`);
    return { changed: true };
  },
  async awaitOffboardingStep({ step }) {
    await sleep(timing.awaitMs);
    calls.push(`await ${step}`);
    return { caughtUp: true, behind: [], refused: [] };
  },
  async markOffboardingStatus({ status, approvedBy, cancelledBy }) {
    if (cancelledBy !== undefined && status !== 'cancelled') {
      await sleep(timing.cancelRecordMs);
      calls.push(`cancel by ${cancelledBy} recorded`);
      return;
    }
    calls.push(approvedBy ? `${status} by ${approvedBy}` : status);
  },
};

beforeAll(async () => {
  [env, bundle] = await Promise.all([startTemporal(), bundleWorkflows()]);
});
afterAll(async () => {
  await env?.teardown();
});

test('an approve that is carried out before the plan has loaded is not lost: the offboarding runs to the end', async () => {
  // Started, and approved, before any worker runs: the first workflow task brings both.
  const handle = await env.client.workflow.start(offboardingWorkflow, {
    workflowId: 'offboard-race-1',
    taskQueue,
    args: [{ offboardingId: 1, approvalRequired: true }],
  });
  const approved = handle.executeUpdate(approveOffboardingUpdate, { args: [{ approvedBy: 'bob' }] });
  await new Promise((resolve) => setTimeout(resolve, 500));

  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities });
  const result = await worker.runUntil(async () => {
    await approved;
    return Promise.race([
      handle.result(),
      new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 10_000)),
    ]);
  });
  const progress = result === 'still waiting' ? await handle.query(offboardingProgressQuery).catch(() => result) : result;
  expect(progress).toMatchObject({ stage: 'completed', step: 1, steps: 1 });
  expect(calls).toEqual(['running by bob', 'load', 'apply 1', 'await 1', 'completed']);
});

test('a cancel still being recorded when the last step ends: the update is answered, and the final status follows the cancel', async () => {
  calls.length = 0;
  timing.awaitMs = 800;
  timing.cancelRecordMs = 2_000;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities });
  const { progress, result } = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(offboardingWorkflow, { workflowId: 'offboard-race-2', taskQueue, args: [{ offboardingId: 2, approvalRequired: false }] });
    while (!calls.includes('apply 1')) await sleep(20);
    // Step 1 waits for the portals (800 ms); recording the cancel takes longer (2 s): the plan ends first.
    const answered = await handle.executeUpdate(cancelOffboardingUpdate, { args: [{ cancelledBy: 'bob' }] });
    return { progress: answered, result: await handle.result() };
  });
  expect(progress).toMatchObject({ step: 1, steps: 1 });
  expect(result).toMatchObject({ stage: 'cancelled', step: 1, steps: 1 });
  expect(calls).toEqual(['load', 'apply 1', 'await 1', 'cancel by bob recorded', 'cancelled']);
});
