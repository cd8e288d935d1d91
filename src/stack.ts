import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApi } from './api/server';
import type { Db } from './db';
import { OutboxDispatcher } from './outbox/dispatcher';
import { CaseWareClient } from './portals/caseware/client';
import { ClientOnlineClient } from './portals/client-online/client';
import { ensureReconcileSchedule } from './reconcile-schedule';
import { postgresRateGate, type RateLimit } from './sync/rate-gate';
import { createWorker } from './worker';

export interface CaseWareSettings {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  requestTimeoutMs: number;
  /** The fleet's pace (src/sync/rate-gate.ts); unset: requests are not paced, 429s are waited out. */
  rateLimit?: RateLimit;
  contactRoleName: string;
  contactGroupName?: string;
}

export interface ClientOnlineSettings {
  baseUrl: string;
  apiKey: string;
  requestTimeoutMs: number;
  rateLimit?: RateLimit;
  sendBsn: boolean;
}

export interface ServicesOptions {
  db: Db;
  temporal: { connection: NativeConnection; client: Client; namespace: string };
  taskQueue: string;
  caseware: CaseWareSettings;
  clientOnline: ClientOnlineSettings;
  api: { host: string; port: number; token: string };
  log: Logger;
  workflowBundle?: WorkflowBundleWithSourceMap;
  outboxPollIntervalMs?: number;
  workflowIdleTimeoutMs?: number;
  /** Offboarding plans that remove more logins or contact accesses than this wait for approval. */
  offboardingApprovalThreshold?: number;
  /** How long an offboarding step waits for the portals before the workflow asks again (tests: short). */
  offboardingPortalWaitMs?: number;
  /** Clients the reconcile compares per batch; default 500. */
  reconcileBatchSize?: number;
  /** How long a reconcile run waits for its repairs; default 10 minutes. */
  reconcileRepairWaitMs?: number;
  /** Outbox and sync-error retention (src/outbox/retention.ts); unset: the defaults of src/config.ts. */
  retention?: { outboxRetentionDays: number; syncErrorRetentionDays: number; intervalMs: number };
}

const defaultRetention = { outboxRetentionDays: 7, syncErrorRetentionDays: 90, intervalMs: 300_000 };

export interface Services {
  api: FastifyInstance;
  apiUrl: string;
  worker: Worker;
  dispatcher: OutboxDispatcher;
  stop(): Promise<void>;
}

/** The service itself: worker, outbox dispatcher and HTTP API, on infrastructure given to it. */
export async function startServices(options: ServicesOptions): Promise<Services> {
  const { db, temporal, taskQueue, log } = options;
  const caseware = new CaseWareClient({
    baseUrl: options.caseware.baseUrl,
    clientId: options.caseware.clientId,
    clientSecret: options.caseware.clientSecret,
    requestTimeoutMs: options.caseware.requestTimeoutMs,
    gate: options.caseware.rateLimit && postgresRateGate(db, 'caseware', options.caseware.rateLimit),
  });
  const clientOnline = new ClientOnlineClient({
    baseUrl: options.clientOnline.baseUrl,
    apiKey: options.clientOnline.apiKey,
    requestTimeoutMs: options.clientOnline.requestTimeoutMs,
    // The logins a push holds leases on stay held while it waits out rate limits: keep it short.
    maxRateLimitWaitMs: 15_000,
    gate: options.clientOnline.rateLimit && postgresRateGate(db, 'client_online', options.clientOnline.rateLimit),
  });
  const worker = await createWorker({
    connection: temporal.connection,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: options.workflowBundle,
    db,
    caseware,
    contactRoleName: options.caseware.contactRoleName,
    contactGroupName: options.caseware.contactGroupName,
    clientOnline,
    clientOnlineSendBsn: options.clientOnline.sendBsn,
    reconcile: { caseware, clientOnline, batchSize: options.reconcileBatchSize },
  });
  const workerRun = worker.run();
  await ensureReconcileSchedule(temporal.client, { taskQueue });

  const dispatcher = new OutboxDispatcher({
    db,
    temporal: temporal.client,
    taskQueue,
    log: log.child({ component: 'outbox' }),
    pollIntervalMs: options.outboxPollIntervalMs,
    workflowIdleTimeoutMs: options.workflowIdleTimeoutMs,
    retention: options.retention ?? defaultRetention,
  });
  dispatcher.start();

  // Access log at the service's level; the API's serializers keep bodies and tokens out of it.
  const api = await buildApi({
    db,
    apiToken: options.api.token,
    logger: { level: log.level },
    offboarding: {
      temporal: temporal.client,
      taskQueue,
      approvalThreshold: options.offboardingApprovalThreshold ?? 10,
      portalWaitMs: options.offboardingPortalWaitMs,
    },
    reconcile: { temporal: temporal.client, taskQueue, repairWaitMs: options.reconcileRepairWaitMs },
  });
  const apiUrl = await api.listen({ host: options.api.host, port: options.api.port });

  return {
    api,
    apiUrl,
    worker,
    dispatcher,
    async stop() {
      await api.close();
      await dispatcher.stop();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
    },
  };
}
