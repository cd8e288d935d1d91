import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { startCaseWareSimulator, type CaseWareSimulator } from '../../src/simulators/caseware/simulator';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import type { echoWorkflow } from '../temporal/workflows/echo';
import { waitFor } from '../support/temporal';
import { freePort } from '../../src/dev/local-infra';

// The worker process's metrics and logs: the Temporal SDK's Prometheus endpoint on the configured
// address, with this process's portal calls on it, and the SDK's log lines as JSON through pino.
// This file installs the process's Temporal runtime itself, so it starts its dev server directly.


const logLines: Record<string, unknown>[] = [];
let metricsUrl: string;
let env: TestWorkflowEnvironment;
let simulator: CaseWareSimulator;

beforeAll(async () => {
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  // The SDK's own info lines (worker state changes) are logged at debug.
  const log = pino({ level: 'debug' }, { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
  installTemporalRuntime({ log, metricsBindAddress: `127.0.0.1:${port}` });
  const cli = ensureTemporalCli();
  [env, simulator] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: { ...(cli ? { executable: { type: 'existing-path', path: cli } } : {}), ip: '127.0.0.1', log: { format: 'pretty', level: 'error' } },
    }),
    startCaseWareSimulator({ port: 0 }),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([env?.teardown(), simulator?.close()]);
});

describe('the worker process', () => {
  test("serves the SDK's Prometheus metrics, with its portal calls, and logs the SDK's lines as JSON", async () => {
    const taskQueue = `worker-metrics-${randomBytes(4).toString('hex')}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '..', 'temporal', 'workflows', 'echo.ts'), logger: pino({ level: 'silent' }) }),
      activities: { shout: async (text: string) => text.toUpperCase(), refuse: async () => undefined },
    });
    const result = await worker.runUntil(() => env.client.workflow.execute<typeof echoWorkflow>('echoWorkflow', { workflowId: taskQueue, taskQueue, args: ['hi'] }));
    expect(result).toBe('HI');

    const caseware = new CaseWareClient({ baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: simulator.clientSecret, requestTimeoutMs: 2_000 });
    await caseware.listRoles();

    const text = await waitFor('the SDK to export the portal call', async () => {
      const body = await (await fetch(metricsUrl)).text();
      return body.includes('portal_sync_portal_calls_total{') && body;
    });
    expect(text).toMatch(/^temporal_workflow_completed\{.*\} 1$/m);
    expect(text).toMatch(/^temporal_activity_execution_latency/m);
    expect(text).toMatch(/^portal_sync_portal_calls_total\{.*method="GET".*portal="caseware".*route="\/roles".*status="200".*\} [1-9]\d*$/m);

    const workerLines = logLines.filter((line) => line.component === 'temporal');
    expect(workerLines.length).toBeGreaterThan(0);
    expect(workerLines.some((line) => line.taskQueue === taskQueue && typeof line.msg === 'string')).toBe(true);
  });
});
