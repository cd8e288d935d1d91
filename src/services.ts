import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import type { CodecServerSettings } from './api/routes-codec';
import type { Logger } from 'pino';
import { buildApi } from './api/server';
import { defaultCaseWareContactRole, type Config } from './config';
import type { Db } from './db';
import type { FileRequestTimings } from './domain/file-requests';
import { OutboxDispatcher } from './outbox/dispatcher';
import { CaseWareClient } from './portals/caseware/client';
import { ClientOnlineClient } from './portals/client-online/client';
import { ensureReconcileSchedule } from './reconcile-schedule';
import { defaultMailGuard, type MailGuardSettings } from './sync/mail-guard';
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

/** What one process runs: any of them alone, or together (the default: all three). */
export type ServiceRole = 'worker' | 'dispatcher' | 'api';
export const serviceRoles: readonly ServiceRole[] = ['worker', 'dispatcher', 'api'];

export interface ServicesOptions<R extends ServiceRole = ServiceRole> {
  /**
   * The worker runs the workflows and activities (and keeps the reconcile schedule up to date);
   * the dispatcher delivers the outbox's events to Temporal; the API serves HTTP. Default: all.
   */
  roles?: readonly R[];
  db: Db;
  /** `connection` (the worker's native connection) is needed by the worker role only. */
  /** With `dataConverter` (payload encryption), the worker encrypts as the client does. */
  temporal: { connection?: NativeConnection; client: Client; namespace: string; dataConverter?: DataConverter };
  /** The codec server for the Temporal Web UI (payload encryption); unset: none. */
  codec?: CodecServerSettings;
  /** Guards GET /metrics; unset: public like /health. */
  metricsToken?: string;
  taskQueue: string;
  /** The portals: needed by the worker role only. */
  caseware?: CaseWareSettings;
  clientOnline?: ClientOnlineSettings;
  /** Where the HTTP API listens: needed by the api role only. */
  api?: { host: string; port: number; token: string };
  log: Logger;
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** The worker's workflow cache (WORKER_MAX_CACHED_WORKFLOWS); unset: its default. */
  maxCachedWorkflows?: number;
  outboxPollIntervalMs?: number;
  workflowIdleTimeoutMs?: number;
  /** Offboarding plans that end more accesses than this (both portals together) wait for approval. */
  offboardingApprovalThreshold?: number;
  /** The rolling budget's window (OFFBOARDING_APPROVAL_WINDOW_HOURS); default 24 hours, 0: off. */
  offboardingApprovalWindowMs?: number;
  /** How long an offboarding step waits for the portals before the workflow asks again (tests: short). */
  offboardingPortalWaitMs?: number;
  /** More new logins than this per portal in 10 minutes wait for approval (src/sync/mail-guard.ts); 0: off; default 20. */
  credentialsMailThreshold?: number;
  /** File requests: the reminder rhythm (tests: short), and the contact role when this process has no CaseWare settings. */
  fileRequests?: { timings?: FileRequestTimings; contactRoleName?: string };
  /** Clients the reconcile compares per batch; default 500. */
  reconcileBatchSize?: number;
  /** How long a reconcile run waits for its repairs; default 10 minutes. */
  reconcileRepairWaitMs?: number;
  /** Outbox and sync-error retention (src/outbox/retention.ts); unset: the defaults of src/config.ts. */
  retention?: { outboxRetentionDays: number; syncErrorRetentionDays: number; intervalMs: number };
}

const defaultRetention = { outboxRetentionDays: 7, syncErrorRetentionDays: 90, intervalMs: 300_000 };

/** The running roles; a role not started is `undefined` (typed so when `roles` says so). */
export interface Services<R extends ServiceRole = ServiceRole> {
  roles: readonly R[];
  api: 'api' extends R ? FastifyInstance : undefined;
  apiUrl: 'api' extends R ? string : undefined;
  worker: 'worker' extends R ? Worker : undefined;
  dispatcher: 'dispatcher' extends R ? OutboxDispatcher : undefined;
  /**
   * Settles when the worker has stopped: after stop(), or on its own when it fails (it rejects
   * then). Without the worker role it never settles.
   */
  workerStopped: Promise<void>;
  stop(): Promise<void>;
}

function mailGuardOf(options: ServicesOptions<ServiceRole>): MailGuardSettings {
  return { threshold: options.credentialsMailThreshold ?? defaultMailGuard.threshold };
}

function requiredForRole<T>(value: T | undefined, what: string, role: ServiceRole): T {
  if (value === undefined) throw new Error(`the ${role} role needs ${what}`);
  return value;
}

/**
 * The service itself, on infrastructure given to it: the worker, the outbox dispatcher and the
 * HTTP API, in one process or each in its own (`roles`). Any number of each may run at once.
 */
export async function startServices<R extends ServiceRole = ServiceRole>(options: ServicesOptions<R>): Promise<Services<R>> {
  const roles: readonly ServiceRole[] = options.roles ?? serviceRoles;
  const running: { api?: FastifyInstance; apiUrl?: string; worker?: Worker; dispatcher?: OutboxDispatcher } = {};
  let workerRun: Promise<void> | undefined;
  const stop = async () => {
    await running.api?.close();
    await running.dispatcher?.stop();
    if (running.worker?.getState() === 'RUNNING') running.worker.shutdown();
    await workerRun;
  };
  try {
    if (roles.includes('worker')) {
      running.worker = await startWorker(options);
      workerRun = running.worker.run();
      await ensureReconcileSchedule(options.temporal.client, { taskQueue: options.taskQueue });
    }
    if (roles.includes('dispatcher')) running.dispatcher = startDispatcher(options);
    if (roles.includes('api')) {
      const api = await startApi(options);
      running.api = api.api;
      running.apiUrl = api.apiUrl;
    }
  } catch (error) {
    // A role that failed to start leaves none running: the caller gets the error, not half a service.
    await stop().catch(() => undefined);
    throw error;
  }
  const workerStopped = workerRun ?? new Promise<void>(() => undefined);
  return { roles: [...roles], ...running, workerStopped, stop } as unknown as Services<R>;
}

async function startWorker(options: ServicesOptions<ServiceRole>): Promise<Worker> {
  const { db, temporal, taskQueue } = options;
  const cwSettings = requiredForRole(options.caseware, 'CaseWare Cloud settings', 'worker');
  const coSettings = requiredForRole(options.clientOnline, 'Client Online settings', 'worker');
  const caseware = new CaseWareClient({
    baseUrl: cwSettings.baseUrl,
    clientId: cwSettings.clientId,
    clientSecret: cwSettings.clientSecret,
    requestTimeoutMs: cwSettings.requestTimeoutMs,
    gate: cwSettings.rateLimit && postgresRateGate(db, 'caseware', cwSettings.rateLimit),
  });
  const clientOnline = new ClientOnlineClient({
    baseUrl: coSettings.baseUrl,
    apiKey: coSettings.apiKey,
    requestTimeoutMs: coSettings.requestTimeoutMs,
    // The logins a push holds leases on stay held while it waits out rate limits: keep it short.
    maxRateLimitWaitMs: 15_000,
    gate: coSettings.rateLimit && postgresRateGate(db, 'client_online', coSettings.rateLimit),
  });
  return createWorker({
    connection: requiredForRole(temporal.connection, 'a Temporal native connection', 'worker'),
    credentialsMailGuard: mailGuardOf(options),
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: options.workflowBundle,
    maxCachedWorkflows: options.maxCachedWorkflows,
    db,
    caseware,
    contactRoleName: cwSettings.contactRoleName,
    contactGroupName: cwSettings.contactGroupName,
    clientOnline,
    clientOnlineSendBsn: coSettings.sendBsn,
    reconcile: { caseware, clientOnline, batchSize: options.reconcileBatchSize },
    fileRequests: caseware,
    dataConverter: temporal.dataConverter,
  });
}

function startDispatcher(options: ServicesOptions<ServiceRole>): OutboxDispatcher {
  const dispatcher = new OutboxDispatcher({
    db: options.db,
    temporal: options.temporal.client,
    taskQueue: options.taskQueue,
    log: options.log.child({ component: 'outbox' }),
    pollIntervalMs: options.outboxPollIntervalMs,
    workflowIdleTimeoutMs: options.workflowIdleTimeoutMs,
    retention: options.retention ?? defaultRetention,
  });
  dispatcher.start();
  return dispatcher;
}

async function startApi(options: ServicesOptions<ServiceRole>): Promise<{ api: FastifyInstance; apiUrl: string }> {
  const { db, temporal, taskQueue, log } = options;
  const listen = requiredForRole(options.api, 'where to listen (host, port) and the API token', 'api');
  // The access log goes through the service's logger; the API's serializers keep bodies and tokens out of it.
  const api = await buildApi({
    db,
    apiToken: listen.token,
    log: log.child({ component: 'api' }),
    offboarding: {
      temporal: temporal.client,
      taskQueue,
      approvalThreshold: options.offboardingApprovalThreshold ?? 10,
      approvalWindowMs: options.offboardingApprovalWindowMs ?? 24 * 3_600_000,
      portalWaitMs: options.offboardingPortalWaitMs,
    },
    reconcile: { temporal: temporal.client, taskQueue, repairWaitMs: options.reconcileRepairWaitMs },
    fileRequests: {
      temporal: temporal.client,
      taskQueue,
      contactRoleName: options.caseware?.contactRoleName ?? options.fileRequests?.contactRoleName ?? defaultCaseWareContactRole,
      timings: options.fileRequests?.timings,
    },
    codec: options.codec,
    metrics: { token: options.metricsToken },
    credentialsMailGuard: mailGuardOf(options),
  });
  try {
    return { api, apiUrl: await api.listen({ host: listen.host, port: listen.port }) };
  } catch (error) {
    await api.close();
    throw error;
  }
}

/** The simulators allow 100 requests a second: with them, the fleet keeps a little under it. */
export const simulatorPace = 90;

function rateLimit(perSecond: number | undefined, burst: number | undefined): RateLimit | undefined {
  return perSecond === undefined ? undefined : { perSecond, burst: burst ?? Math.max(1, Math.ceil(perSecond)) };
}

type CaseWareEndpoint = Pick<CaseWareSettings, 'baseUrl' | 'clientId' | 'clientSecret'>;
type ClientOnlineEndpoint = Pick<ClientOnlineSettings, 'baseUrl' | 'apiKey'>;

/**
 * CaseWare Cloud as the configuration names it (CASEWARE_BASE_URL); without one, the simulator
 * given, paced a little under its limit; `undefined` when there is neither.
 */
export function caseWareSettingsFrom(config: Config, simulator: CaseWareEndpoint): CaseWareSettings;
export function caseWareSettingsFrom(config: Config): CaseWareSettings | undefined;
export function caseWareSettingsFrom(config: Config, simulator?: CaseWareEndpoint): CaseWareSettings | undefined {
  const common = {
    requestTimeoutMs: config.CASEWARE_REQUEST_TIMEOUT_MS,
    rateLimit: rateLimit(config.CASEWARE_REQUESTS_PER_SECOND ?? (config.CASEWARE_BASE_URL ? undefined : simulatorPace), config.CASEWARE_REQUESTS_BURST),
    contactRoleName: config.CASEWARE_CONTACT_ROLE,
    contactGroupName: config.CASEWARE_CONTACT_GROUP,
  };
  if (config.CASEWARE_BASE_URL) {
    return { ...common, baseUrl: config.CASEWARE_BASE_URL, clientId: config.CASEWARE_CLIENT_ID ?? '', clientSecret: config.CASEWARE_CLIENT_SECRET ?? '' };
  }
  return simulator && { ...common, baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: simulator.clientSecret };
}

/** Client Online as the configuration names it (CLIENT_ONLINE_BASE_URL), else the simulator given. */
export function clientOnlineSettingsFrom(config: Config, simulator: ClientOnlineEndpoint): ClientOnlineSettings;
export function clientOnlineSettingsFrom(config: Config): ClientOnlineSettings | undefined;
export function clientOnlineSettingsFrom(config: Config, simulator?: ClientOnlineEndpoint): ClientOnlineSettings | undefined {
  const common = {
    requestTimeoutMs: config.CLIENT_ONLINE_REQUEST_TIMEOUT_MS,
    rateLimit: rateLimit(
      config.CLIENT_ONLINE_REQUESTS_PER_SECOND ?? (config.CLIENT_ONLINE_BASE_URL ? undefined : simulatorPace),
      config.CLIENT_ONLINE_REQUESTS_BURST,
    ),
    sendBsn: config.CLIENT_ONLINE_SEND_BSN,
  };
  if (config.CLIENT_ONLINE_BASE_URL) return { ...common, baseUrl: config.CLIENT_ONLINE_BASE_URL, apiKey: config.CLIENT_ONLINE_API_KEY ?? '' };
  return simulator && { ...common, baseUrl: simulator.baseUrl, apiKey: simulator.apiKey };
}

const dayMs = 24 * 60 * 60_000;

/** The file-request workflow's timings as the configuration names them (days, except the poll). */
export function fileRequestTimingsFrom(config: Config): FileRequestTimings {
  return {
    pollIntervalMs: config.FILE_REQUEST_POLL_INTERVAL_MS,
    remindBeforeDueMs: config.FILE_REQUEST_REMIND_DAYS_BEFORE_DUE.map((days) => days * dayMs),
    remindAfterDueEveryMs: config.FILE_REQUEST_REMIND_EVERY_DAYS_AFTER_DUE * dayMs,
    maxRemindersAfterDue: config.FILE_REQUEST_MAX_REMINDERS_AFTER_DUE,
    remindWithoutDueEveryMs: config.FILE_REQUEST_REMIND_EVERY_DAYS_WITHOUT_DUE * dayMs,
  };
}

/** The options every role takes from the configuration, whatever runs it. */
export function serviceTuningFrom(config: Config) {
  return {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    outboxPollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    offboardingApprovalThreshold: config.OFFBOARDING_APPROVAL_THRESHOLD,
    offboardingApprovalWindowMs: config.OFFBOARDING_APPROVAL_WINDOW_HOURS * 3_600_000,
    credentialsMailThreshold: config.CREDENTIALS_MAIL_THRESHOLD,
    fileRequests: { timings: fileRequestTimingsFrom(config) },
    retention: {
      outboxRetentionDays: config.OUTBOX_RETENTION_DAYS,
      syncErrorRetentionDays: config.SYNC_ERROR_RETENTION_DAYS,
      intervalMs: config.RETENTION_INTERVAL_MS,
    },
  } satisfies Partial<ServicesOptions>;
}
