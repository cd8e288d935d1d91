import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState } from '../../src/simulators/caseware';
import { startServices, type Services } from '../../src/stack';
import { createTestDatabase, type TestDatabase } from './db';
import { TcpProxy } from './tcp-proxy';
import { bundleWorkflows, startTemporal, waitFor } from './temporal';

/**
 * Everything of one test file on real servers: a fresh database, a Temporal dev server, the
 * CaseWare Cloud simulator over HTTP, and the service itself (worker, dispatcher, API).
 */
export interface TestStack {
  database: TestDatabase;
  temporal: TestWorkflowEnvironment;
  simulator: CaseWareSimulator;
  services: Services;
  bundle: WorkflowBundleWithSourceMap;
  taskQueue: string;
  /** With `cuttableTemporal`: the outbox dispatcher reaches Temporal through this proxy. */
  temporalProxy?: TcpProxy;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  simState(): Promise<SimulatorState>;
  /** Waits until CaseWare has received every registry change of the client made so far. */
  settled(clientNumber: string): Promise<void>;
  stop(): Promise<void>;
}

export const apiToken = 'test-token-0123456789abcdef';

export async function startTestStack(options: { cuttableTemporal?: boolean } = {}): Promise<TestStack> {
  const [database, temporal, simulator, bundle] = await Promise.all([
    createTestDatabase(),
    startTemporal(),
    startCaseWareSimulator({ port: 0 }),
    bundleWorkflows(),
  ]);
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  const namespace = temporal.namespace ?? 'default';
  let temporalProxy: TcpProxy | undefined;
  let dispatcherClient = temporal.client;
  let proxyConnection: Connection | undefined;
  if (options.cuttableTemporal) {
    const [host, port] = temporal.address.split(':');
    temporalProxy = new TcpProxy({ host: host ?? '127.0.0.1', port: Number(port) });
    await temporalProxy.up();
    proxyConnection = await Connection.connect({ address: temporalProxy.address });
    dispatcherClient = new Client({ connection: proxyConnection, namespace });
  }
  const services = await startServices({
    db: database.db,
    temporal: { connection: temporal.nativeConnection, client: dispatcherClient, namespace },
    taskQueue,
    caseware: {
      baseUrl: simulator.baseUrl,
      clientId: simulator.clientId,
      clientSecret: simulator.clientSecret,
      requestTimeoutMs: 2_000,
      contactRoleName: 'Contact - Entity Access',
    },
    api: { host: '127.0.0.1', port: 0, token: apiToken },
    log: pino({ level: 'silent' }),
    workflowBundle: bundle,
    outboxPollIntervalMs: 50,
  });

  const stack: TestStack = {
    database,
    temporal,
    simulator,
    services,
    bundle,
    taskQueue,
    temporalProxy,
    async api(method, path, body) {
      const response = await fetch(`${services.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async simState() {
      const response = await fetch(`${simulator.origin}/_sim/state`);
      return (await response.json()) as SimulatorState;
    },
    async settled(clientNumber) {
      const db = database.db;
      await waitFor(`CaseWare to receive every change of client ${clientNumber}`, async () => {
        const newest = await db('outbox_events').where({ client_number: clientNumber }).max<{ max: number | null }[]>({ max: 'id' });
        const state = await db('portal_sync_state').where({ portal: 'caseware', client_number: clientNumber }).first();
        return newest[0]?.max != null && state !== undefined && Number(state.applied_event_id) >= newest[0].max;
      });
    },
    async stop() {
      await services.stop();
      await proxyConnection?.close();
      await temporalProxy?.down();
      await Promise.allSettled([temporal.teardown(), simulator.close()]);
      await database.drop();
    },
  };
  return stack;
}
