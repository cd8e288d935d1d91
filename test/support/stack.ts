import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import pino, { type Logger } from 'pino';
import type { DataConverter } from '@temporalio/common';
import { bundleWorkflowCode } from '@temporalio/worker';
import { encryptingDataConverter } from '../../src/temporal/data-converter';
import { EncryptionCodec, type EncryptionKey } from '../../src/temporal/encryption-codec';
import { createWorker, workflowsPath } from '../../src/worker';
import { CaseWareClient } from '../../src/portals/caseware/client';
import { ClientOnlineClient } from '../../src/portals/client-online/client';
import type { Worker } from '@temporalio/worker';
import { startCaseWareSimulator, type CaseWareSimulator, type SimulatorState } from '../../src/simulators/caseware/simulator';
import {
  startClientOnlineSimulator,
  type ClientOnlineSimulator,
  type SimulatorState as ClientOnlineState,
} from '../../src/simulators/client-online/simulator';
import type { FileRequestTimings } from '../../src/domain/file-requests';
import { startServices, type Services } from '../../src/services';
import { describe, portalDifferences, type Difference } from './convergence';
import { syncsInHistory } from './sync-history';
import { createTestDatabase, type TestDatabase } from './db';
import { TcpProxy } from './tcp-proxy';
import { bundleWorkflows, quietBundlerLogger, sharedTemporal, startTemporal, waitFor } from './temporal';

/**
 * Everything of one test file on real servers: a fresh database, a Temporal dev server, the
 * CaseWare Cloud simulator over HTTP, and the service itself (worker, dispatcher, API).
 */
export interface TestStack {
  database: TestDatabase;
  temporal: TestWorkflowEnvironment;
  simulator: CaseWareSimulator;
  clientOnline: ClientOnlineSimulator;
  services: Services;
  bundle: WorkflowBundleWithSourceMap;
  taskQueue: string;
  /** With `temporalUiPort`: the dev server's Web UI, e.g. http://127.0.0.1:41234. */
  temporalUiUrl?: string;
  /** With `cuttableTemporal`: the outbox dispatcher reaches Temporal through this proxy. */
  temporalProxy?: TcpProxy;
  /** With `encryptionKey`: the client the service uses, with the encrypting data converter. */
  encryptingClient?: Client;
  /** The API token `api()` sends. */
  apiToken: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  simState(): Promise<SimulatorState>;
  coState(): Promise<ClientOnlineState>;
  /** What the portals hold that the registry says they should not (all clients when omitted). */
  differences(clientNumbers?: readonly string[]): Promise<Difference[]>;
  /** The client's outbox events not yet handed to its workflow. */
  undelivered(clientNumber: string): Promise<number>;
  /**
   * Waits until both portals hold what the registry says for the client, every change of it is
   * handed to its workflow and no sync of it is running.
   */
  settled(clientNumber: string, options?: { timeoutMs?: number }): Promise<void>;
  /**
   * A worker set up as the stack's own (same task queue, portals, settings), for a test that stops
   * that worker and starts another, as a restart in production would. The caller runs it.
   */
  replacementWorker(): Promise<Worker>;
  stop(): Promise<void>;
}

export const apiToken = 'test-token-0123456789abcdef';

export async function startTestStack(
  options: {
    cuttableTemporal?: boolean;
    clientOnlineProcessingDelayMs?: number;
    clientOnlineSendBsn?: boolean;
    /** Also serve the Temporal Web UI, on this port (one from `freePort()`); see `temporalUiUrl`. */
    temporalUiPort?: number;
    /** The file-request workflow's reminder rhythm and polling (short in tests). */
    fileRequestTimings?: FileRequestTimings;
    /** The service's logger (worker, dispatcher, API); default: silent. */
    log?: Logger;
    /** The credentials the simulators require and the service is given, and the API token. */
    secrets?: { casewareClientId?: string; casewareClientSecret?: string; clientOnlineApiKey?: string; apiToken?: string };
    /** Payload encryption on, with this key: the service's client and worker encrypt, the API has the codec server. */
    encryptionKey?: EncryptionKey;
    /** The simulators keep every request body (`GET /_sim/requests`). */
    recordRequests?: boolean;
    /**
     * The offboarding approval budget's window; default 0 (off): a test file's offboardings are all
     * asked for by the one built-in token, and would otherwise add up to held plans. The budget has
     * its own tests (test/registry/offboarding-approval.test.ts).
     */
    offboardingApprovalWindowMs?: number;
    /**
     * The credentials-mail guard's threshold (CREDENTIALS_MAIL_THRESHOLD); default 10 000, so that
     * a test file's many new logins are never held. The guard has its own tests
     * (test/sync/credentials-mail-guard.test.ts).
     */
    credentialsMailThreshold?: number;
    /** How long a reconcile run waits for its repairs before it ends (a reconcile run's `repairWaitMs`); default the workflow's 10 minutes. */
    reconcileRepairWaitMs?: number;
  } = {},
): Promise<TestStack> {
  const uiPort = options.temporalUiPort;
  const secrets = options.secrets ?? {};
  const token = secrets.apiToken ?? apiToken;
  const dataConverter: DataConverter | undefined = options.encryptionKey && encryptingDataConverter(options.encryptionKey);
  const [database, temporal, simulator, clientOnline, bundle] = await Promise.all([
    createTestDatabase(),
    // The Web UI and a cut connection are the server's own: those stacks keep a private one.
    uiPort === undefined && !options.cuttableTemporal ? sharedTemporal() : startTemporal({ uiPort }),
    startCaseWareSimulator({ port: 0, clientId: secrets.casewareClientId, clientSecret: secrets.casewareClientSecret, recordRequests: options.recordRequests }),
    startClientOnlineSimulator({
      port: 0,
      processingDelayMs: options.clientOnlineProcessingDelayMs,
      apiKey: secrets.clientOnlineApiKey,
      recordRequests: options.recordRequests,
    }),
    dataConverter
      ? bundleWorkflowCode({ workflowsPath, failureConverterPath: dataConverter.failureConverterPath, logger: quietBundlerLogger })
      : bundleWorkflows(),
  ]);
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  const namespace = temporal.namespace ?? 'default';
  let temporalProxy: TcpProxy | undefined;
  const encryptingClient = dataConverter && new Client({ connection: temporal.connection, namespace, dataConverter });
  let dispatcherClient = encryptingClient ?? temporal.client;
  let proxyConnection: Connection | undefined;
  if (options.cuttableTemporal) {
    const [host, port] = temporal.address.split(':');
    temporalProxy = new TcpProxy({ host: host ?? '127.0.0.1', port: Number(port) });
    await temporalProxy.up();
    proxyConnection = await Connection.connect({ address: temporalProxy.address, channelArgs: { 'grpc.max_reconnect_backoff_ms': 1_000 } });
    dispatcherClient = new Client({ connection: proxyConnection, namespace, dataConverter });
  }
  const portalTimeoutMs = 2_000;
  const credentialsMailThreshold = options.credentialsMailThreshold ?? 10_000;
  const services = await startServices({
    db: database.db,
    temporal: { connection: temporal.nativeConnection, client: dispatcherClient, namespace, dataConverter },
    codec: options.encryptionKey && { codec: new EncryptionCodec(options.encryptionKey), allowedOrigins: [] },
    taskQueue,
    caseware: {
      baseUrl: simulator.baseUrl,
      clientId: simulator.clientId,
      clientSecret: simulator.clientSecret,
      requestTimeoutMs: portalTimeoutMs,
      contactRoleName: 'Contact - Entity Access',
    },
    clientOnline: {
      baseUrl: clientOnline.baseUrl,
      apiKey: clientOnline.apiKey,
      requestTimeoutMs: portalTimeoutMs,
      sendBsn: options.clientOnlineSendBsn ?? false,
    },
    api: { host: '127.0.0.1', port: 0, token },
    log: options.log ?? pino({ level: 'silent' }),
    workflowBundle: bundle,
    outboxPollIntervalMs: 50,
    offboardingApprovalWindowMs: options.offboardingApprovalWindowMs ?? 0,
    credentialsMailThreshold,
    fileRequests: { timings: options.fileRequestTimings },
    reconcileRepairWaitMs: options.reconcileRepairWaitMs,
  });

  const stack: TestStack = {
    async replacementWorker() {
      const caseware = new CaseWareClient({ baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: simulator.clientSecret, requestTimeoutMs: portalTimeoutMs });
      const portalClientOnline = new ClientOnlineClient({ baseUrl: clientOnline.baseUrl, apiKey: clientOnline.apiKey, requestTimeoutMs: portalTimeoutMs });
      return createWorker({
        connection: temporal.nativeConnection,
        namespace,
        taskQueue,
        workflowBundle: bundle,
        dataConverter,
        db: database.db,
        caseware,
        contactRoleName: 'Contact - Entity Access',
        clientOnline: portalClientOnline,
        clientOnlineSendBsn: options.clientOnlineSendBsn ?? false,
        reconcile: { caseware, clientOnline: portalClientOnline },
        fileRequests: caseware,
        credentialsMailGuard: { threshold: credentialsMailThreshold },
      });
    },
    database,
    temporal,
    simulator,
    clientOnline,
    services,
    bundle,
    taskQueue,
    temporalUiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
    temporalProxy,
    encryptingClient,
    apiToken: token,
    async api(method, path, body) {
      const response = await fetch(`${services.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async simState() {
      const response = await fetch(`${simulator.origin}/_sim/state`);
      return (await response.json()) as SimulatorState;
    },
    async coState() {
      const response = await fetch(`${clientOnline.origin}/_sim/state`);
      return (await response.json()) as ClientOnlineState;
    },
    async differences(clientNumbers) {
      const [caseware, clientOnline] = await Promise.all([stack.simState(), stack.coState()]);
      return portalDifferences(database.db, { caseware, clientOnline }, { clientNumbers, sendBsn: options.clientOnlineSendBsn ?? false });
    },
    async undelivered(clientNumber) {
      const [row] = await database.db('outbox_events').where({ client_number: clientNumber }).whereNull('delivered_at').count({ n: '*' });
      return Number(row?.n ?? 0);
    },
    async settled(clientNumber, { timeoutMs } = {}) {
      let last: Difference[] = [];
      let waiting = '';
      /**
       * A portal whose sync left creations to the credentials-mail guard's approval (a login
       * deleted by hand and due to be made again is held whatever the count) stays pending by
       * design; the convergence check leaves those logins out likewise.
       */
      const awaitsApproval = async (portal: 'caseware' | 'client_online') =>
        (await database.db('credentials_mails').where({ portal, client_number: clientNumber, status: 'held' }).first('id')) !== undefined;
      try {
        await waitFor(
          `the portals to hold what the registry says for client ${clientNumber}`,
          async () => {
            waiting = 'outbox events undelivered';
            if ((await stack.undelivered(clientNumber)) > 0) return false;
            // A sync still running may be about to change what the portals hold.
            waiting = 'a sync running';
            if (await syncRunning(temporal.client, clientNumber)) return false;
            last = await stack.differences([clientNumber]);
            if (last.length > 0) return false;
            // A change signalled after the portals had it all keeps the client pending until its
            // sync has run and recorded itself: settled means the status agrees too.
            const status = await stack.api<{ caseware: { state: string }; clientOnline: { state: string } }>('GET', `/sync/clients/${clientNumber}`);
            if (status.status !== 200) return true;
            waiting = `status caseware ${status.body.caseware.state}, clientOnline ${status.body.clientOnline.state}`;
            const caseware = status.body.caseware.state !== 'pending' || (await awaitsApproval('caseware'));
            const clientOnline = status.body.clientOnline.state !== 'pending' || (await awaitsApproval('client_online'));
            return caseware && clientOnline;
          },
          { timeoutMs },
        );
      } catch (error) {
        if (last.length === 0) throw new Error(`${(error as Error).message} (last seen: ${waiting})`, { cause: error });
        throw new Error(`${(error as Error).message}; still different: ${last.map(describe).join('; ')}`, { cause: error });
      }
    },
    async stop() {
      await services.stop();
      await proxyConnection?.close();
      await temporalProxy?.down();
      await Promise.allSettled([temporal.teardown(), simulator.close(), clientOnline.close()]);
      await database.drop();
    },
  };
  return stack;
}

/**
 * Waits until a sync of `portal` has finished for the client that was scheduled after its workflow
 * received the signal of the client's newest outbox event, so it read the registry with every
 * change made so far. Proves a negative ("this never arrives") without sleeping.
 */
export async function syncRanSince(
  stack: TestStack,
  clientNumber: string,
  portal: 'caseware' | 'clientOnline',
  { timeoutMs = 20_000 } = {},
): Promise<void> {
  const activity = portal === 'caseware' ? 'syncClientToCaseWare' : 'syncClientToClientOnline';
  const newest = Number((await stack.database.db('outbox_events').where({ client_number: clientNumber }).max({ id: 'id' }))[0]?.id ?? 0);
  await waitFor(`a ${activity} of client ${clientNumber} after event ${newest}`, async () => {
    const history = await stack.temporal.client.workflow.getHandle(`client-${clientNumber}`).fetchHistory();
    const events = history.events ?? [];
    const signalled = events.findIndex((event) => {
      const payload = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
      return payload !== undefined && Number(defaultPayloadConverter.fromPayload<{ eventId?: number }>(payload)?.eventId) >= newest;
    });
    if (signalled === -1) return false;
    return syncsInHistory(events).some((sync) => sync.activity === activity && sync.index > signalled && sync.completed);
  }, { timeoutMs });
}

/**
 * A sync is under way: an activity is pending, or a workflow task is, which may be running a sync's
 * first attempt (a local activity keeps its workflow task open) or be about to start one.
 */
async function syncRunning(client: Client, clientNumber: string): Promise<boolean> {
  try {
    const { raw } = await client.workflow.getHandle(`client-${clientNumber}`).describe();
    return (raw.pendingActivities ?? []).length > 0 || Boolean(raw.pendingWorkflowTask);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/**
 * Domain rule (seed article 004): a login sees its own person client and companies, never another
 * person's client. `personClients` maps the person clients' numbers to their registry ids.
 */
export function assertLoginPrivacy(
  state: ClientOnlineState,
  personClients: ReadonlyMap<string, number>,
  /** Logins adopted at go-live: their ref → the person key (`p-<id>`) whose login they are. */
  adoptedRefs: ReadonlyMap<string, string> = new Map(),
): void {
  for (const login of state.logins) {
    const person = adoptedRefs.get(login.ref) ?? login.ref;
    const own = [...personClients].find(([, id]) => person === `p-${id}`)?.[0];
    const personsSeen = login.clients.filter((n) => personClients.has(n));
    expect(personsSeen, `login ${login.ref} sees person clients ${personsSeen.join(', ')}`).toEqual(own && personsSeen.length ? [own] : []);
  }
}
