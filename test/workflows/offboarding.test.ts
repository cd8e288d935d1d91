import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { OffboardingActivities } from '../../activities/offboarding';
import { approveOffboardingUpdate, offboardingProgressQuery } from '../../workflows/offboarding-definitions';
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
    calls.push(`await ${step}`);
    return { caughtUp: true, behind: [], refused: [] };
  },
  async markOffboardingStatus({ status, approvedBy }) {
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
