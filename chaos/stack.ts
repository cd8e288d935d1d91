import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createBenchDatabase,
  freePort,
  startNode,
  startSimulators,
  startTemporalServer,
  type BenchDatabase,
  type StartedProcess,
  type SimulatorProcesses,
  type TemporalProcess,
} from '../bench/infra';
import { createApiToken } from '../src/api/tokens';

// The chaos run's stack: every part in a process of its own, so that each can be killed alone and
// what the others hold survives it. The portal simulators keep the portals' state, the Temporal dev
// server keeps its history in a file (a restart on the same port finds every workflow again), and
// the service runs as `portal-sync worker` (worker and outbox dispatcher) and `portal-sync api`,
// as in a deployment. The database connections of each process carry an application name, so that
// the run can drop the service's connections and keep its own.

export const applicationNames = { worker: 'chaos-worker', api: 'chaos-api', harness: 'chaos-harness' } as const;

export interface ChaosStack {
  database: BenchDatabase;
  simulators: SimulatorProcesses;
  temporal(): TemporalProcess;
  apiUrl: string;
  token: string;
  /** A second operator token: a held offboarding is approved by another token than the one that asked (four eyes). */
  approverToken: string;
  taskQueue: string;
  /** SIGKILLs the worker process (worker and dispatcher) and starts a new one. */
  killWorker(pauseMs: number): Promise<void>;
  /** SIGKILLs the Temporal dev server and starts it again on the same port and history file. */
  killTemporal(pauseMs: number): Promise<void>;
  /** Terminates every database connection of the service's processes; answers how many. */
  dropDatabaseConnections(): Promise<number>;
  /** Times the worker process ended without being killed by the run (each is started again). */
  unexpectedWorkerExits: string[];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function databaseUrlFor(url: string, applicationName: string): string {
  const withName = new URL(url);
  withName.searchParams.set('application_name', applicationName);
  return withName.toString();
}

const cli = 'src/cli/main.ts';

/** The environment of both service processes (`common`), and the worker's. */
function serviceEnvironments(database: BenchDatabase, simulators: SimulatorProcesses, temporalAddress: string, taskQueue: string) {
  const common = {
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    // The workload makes new logins by the hundred on purpose; its checks count the mails itself.
    CREDENTIALS_MAIL_THRESHOLD: '0',
    LOG_LEVEL: 'warn',
  };
  const workerEnv = {
    ...common,
    DATABASE_URL: databaseUrlFor(database.url, applicationNames.worker),
    CASEWARE_BASE_URL: simulators.caseware.baseUrl,
    CASEWARE_CLIENT_ID: simulators.caseware.clientId,
    CASEWARE_CLIENT_SECRET: simulators.caseware.clientSecret,
    CLIENT_ONLINE_BASE_URL: simulators.clientOnline.baseUrl,
    CLIENT_ONLINE_API_KEY: simulators.clientOnline.apiKey,
    // A hung request is given up after 3 s rather than 10, so that the run sees many of them.
    CASEWARE_REQUEST_TIMEOUT_MS: '3000',
    CLIENT_ONLINE_REQUEST_TIMEOUT_MS: '3000',
    // As a deployment against the real portals would set it: a little under their limit.
    CASEWARE_REQUESTS_PER_SECOND: '90',
    CLIENT_ONLINE_REQUESTS_PER_SECOND: '90',
  };
  return { common, workerEnv };
}

/** The worker process (`portal-sync worker`): started again whenever it ends without the run killing it. */
function keepWorkerRunning(workerEnv: Record<string, string>, log: (line: string) => void) {
  const unexpectedExits: string[] = [];
  let worker: StartedProcess | undefined;
  let killingWorker = false;
  let stopping = false;
  const start = async (): Promise<void> => {
    // The worker joins a Temporal that may just have come back: try until it starts.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const started = await startNode('worker', cli, ['worker', '--json'], workerEnv, log);
        worker = started.process;
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
        log(`worker did not start (attempt ${attempt}): ${String(error).slice(0, 300)}`);
        await sleep(2_000);
      }
    }
    const child = worker.child;
    child.once('exit', (code, signal) => {
      if (killingWorker || stopping) return;
      unexpectedExits.push(`worker exited on its own (code ${code}, signal ${signal}) at ${new Date().toISOString()}`);
      log(`worker exited on its own (${code ?? signal}); starting another`);
      void start().catch((error: unknown) => log(`could not restart the worker: ${String(error)}`));
    });
  };
  return {
    unexpectedExits,
    start,
    /** SIGKILL, a pause, and a new worker. */
    async kill(pauseMs: number): Promise<void> {
      const current = worker;
      if (!current) return;
      killingWorker = true;
      const exited = new Promise<void>((resolve) => current.child.once('exit', () => resolve()));
      current.child.kill('SIGKILL');
      await exited;
      killingWorker = false;
      await sleep(pauseMs);
      await start();
    },
    async stop(): Promise<void> {
      stopping = true;
      await worker?.stop();
    },
  };
}

export async function startChaosStack(options: { adminUrl: string; log: (line: string) => void }): Promise<ChaosStack> {
  const { log } = options;
  const stops: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  const stopAll = () =>
    (stopped ??= (async () => {
      for (const stop of [...stops].reverse()) await stop().catch((error: unknown) => log(`stop failed: ${String(error)}`));
    })());
  try {
    const database = await createBenchDatabase(options.adminUrl, { prefix: 'portal_sync_chaos', applicationName: applicationNames.harness });
    stops.push(() => database.drop());
    const simulators = await startSimulators(log);
    stops.push(() => simulators.caseware.stop(), () => simulators.clientOnline.stop());

    const historyDir = mkdtempSync(path.join(os.tmpdir(), 'portal-sync-chaos-'));
    stops.push(() => Promise.resolve(rmSync(historyDir, { recursive: true, force: true })));
    const dbFilename = path.join(historyDir, 'temporal.db');
    const temporalPort = await freePort();
    let temporal = await startTemporalServer(log, { port: temporalPort, dbFilename });
    stops.push(() => temporal.stop());

    const taskQueue = `portal-sync-chaos-${randomBytes(3).toString('hex')}`;
    const token = randomBytes(24).toString('base64url');
    const approver = await createApiToken(database.db, { name: 'chaos-approver', role: 'operator' });
    const { common, workerEnv } = serviceEnvironments(database, simulators, temporal.address, taskQueue);
    const worker = keepWorkerRunning(workerEnv, log);
    await worker.start();
    stops.push(() => worker.stop());

    const api = await startNode<{ apiUrl: string }>(
      'api',
      cli,
      ['api', '--json'],
      { ...common, DATABASE_URL: databaseUrlFor(database.url, applicationNames.api), API_HOST: '127.0.0.1', API_PORT: String(await freePort()), API_TOKEN: token },
      log,
    );
    stops.push(() => api.process.stop());

    return {
      database,
      simulators,
      temporal: () => temporal,
      apiUrl: api.announced.apiUrl,
      token,
      approverToken: approver.secret,
      taskQueue,
      unexpectedWorkerExits: worker.unexpectedExits,
      killWorker: (pauseMs) => worker.kill(pauseMs),
      async killTemporal(pauseMs) {
        const current = temporal;
        const exited = new Promise<void>((resolve) => current.child.once('exit', () => resolve()));
        current.child.kill('SIGKILL');
        await exited;
        await current.connection.close().catch(() => undefined);
        await sleep(pauseMs);
        temporal = await startTemporalServer(log, { port: temporalPort, dbFilename });
      },
      async dropDatabaseConnections() {
        const { rows } = await database.db.raw<{ rows: { terminated: boolean }[] }>(
          `select pg_terminate_backend(pid) as terminated from pg_stat_activity
            where datname = ? and application_name in (?, ?) and pid <> pg_backend_pid()`,
          [database.name, applicationNames.worker, applicationNames.api],
        );
        return rows.filter((row) => row.terminated).length;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
