import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import knex from 'knex';
import { connectDatabase, migrateToLatest, type Db } from '../src/db';
import { connectTemporal, type TemporalConnection } from '../src/dev/local-infra';
import type { SimulatorsAnnouncement } from '../src/dev/simulators-main';
import { ensureTemporalCli } from '../src/dev/temporal-cli';
import { searchAttributeKeys } from '../src/search-attributes';
import { freePort as anyFreePort } from '../src/dev/local-infra';

// The benchmark's own stack on this machine: a database of its own on the shared PostgreSQL, a
// Temporal dev server, each simulator and the service in processes of their own. Everything it
// starts it stops again, and the database is dropped.

const root = path.resolve(__dirname, '..');
/** Ports a person may be using for `npm start`; the benchmark never takes them. */
const reservedPorts = new Set([3000, 4010, 4020, 7233, 8233]);

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (!reservedPorts.has(port)) return port;
  }
}

/** A child process the bench (or chaos) started, and how to stop it. */
export interface StartedProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Stops a child with SIGTERM, SIGKILL after `graceMs`. */
function stopper(child: ChildProcess, graceMs = 15_000): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
}

/**
 * Runs a TypeScript entry with tsx in a Node process of its own (no tsx parent in between, so the
 * pid is the process that does the work) and waits for the first JSON line it prints.
 */
export async function startNode<T>(name: string, entry: string, args: string[], env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<{ process: StartedProcess; announced: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 50) stderr.shift();
    log(`[${name}] ${line}`);
  });
  const announced = await new Promise<T>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return log(`[${name}] ${line}`);
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`${name} printed a line that is no JSON: ${line}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready:\n${stderr.join('\n')}`)));
  });
  const pid = (announced as { pid?: number }).pid ?? child.pid!;
  return { process: { name, pid, child, stop: stopper(child) }, announced };
}

export interface SimulatorProcesses {
  caseware: StartedProcess & { origin: string; baseUrl: string; clientId: string; clientSecret: string };
  clientOnline: StartedProcess & { origin: string; baseUrl: string; apiKey: string };
}

/** Each simulator in a process of its own, with its normal rate limit (src/dev/simulators-main.ts). */
export async function startSimulators(log: (line: string) => void): Promise<SimulatorProcesses> {
  const entry = 'src/dev/simulators-main.ts';
  const [cw, co] = await Promise.all([
    startNode<SimulatorsAnnouncement>('caseware-sim', entry, ['--json', '--no-client-online', '--caseware-port', String(await freePort())], {}, log),
    startNode<SimulatorsAnnouncement>('client-online-sim', entry, ['--json', '--no-caseware', '--client-online-port', String(await freePort())], {}, log),
  ]);
  if (!cw.announced.caseware || !co.announced.clientOnline) throw new Error('a simulator did not say where it listens');
  return {
    caseware: { ...cw.process, ...cw.announced.caseware },
    clientOnline: { ...co.process, ...co.announced.clientOnline },
  };
}

export interface ServiceProcess extends StartedProcess {
  apiUrl: string;
  token: string;
}

export interface ServiceSettings {
  databaseUrl: string;
  temporalAddress: string;
  simulators: SimulatorProcesses;
}

/** The service (bench/service.ts) with the defaults of src/config.ts, logging warnings and errors. */
export async function startService(settings: ServiceSettings, log: (line: string) => void): Promise<ServiceProcess> {
  const token = randomBytes(24).toString('base64url');
  const { process: child, announced } = await startNode<{ pid: number; apiUrl: string }>('service', 'bench/service.ts', [], await serviceEnv(settings, token), log);
  return { ...child, apiUrl: announced.apiUrl, token };
}

/** One more worker on the service's task queue, in a process of its own (no dispatcher, no API). */
export async function startExtraWorker(settings: ServiceSettings, index: number, log: (line: string) => void): Promise<StartedProcess> {
  const env = { ...(await serviceEnv(settings, randomBytes(24).toString('base64url'))), BENCH_ROLES: 'worker' };
  return (await startNode<{ pid: number }>(`worker-${index}`, 'bench/service.ts', [], env, log)).process;
}

async function serviceEnv(settings: ServiceSettings, token: string): Promise<NodeJS.ProcessEnv> {
  const { caseware, clientOnline } = settings.simulators;
  return {
    DATABASE_URL: settings.databaseUrl,
    TEMPORAL_ADDRESS: settings.temporalAddress,
    TEMPORAL_TASK_QUEUE: 'portal-sync-bench',
    API_HOST: '127.0.0.1',
    API_PORT: String(await freePort()),
    API_TOKEN: token,
    CASEWARE_BASE_URL: caseware.baseUrl,
    CASEWARE_CLIENT_ID: caseware.clientId,
    CASEWARE_CLIENT_SECRET: caseware.clientSecret,
    CLIENT_ONLINE_BASE_URL: clientOnline.baseUrl,
    CLIENT_ONLINE_API_KEY: clientOnline.apiKey,
    // Provisioning creates thousands of logins in minutes: that is the load measured, not a bad import.
    CREDENTIALS_MAIL_THRESHOLD: '0',
    LOG_LEVEL: 'warn',
  };
}

export interface TemporalProcess extends StartedProcess {
  address: string;
  connection: TemporalConnection;
}

/**
 * A Temporal dev server (no UI) in its own process, and the benchmark's connection to it. In memory,
 * unless `dbFilename` keeps its history in a file, so that a server started again on the same `port`
 * with the same file finds every workflow where the last one left it (the chaos run's restarts).
 */
export async function startTemporalServer(
  log: (line: string) => void,
  options: { port?: number; dbFilename?: string } = {},
): Promise<TemporalProcess> {
  const cli = ensureTemporalCli(log);
  if (!cli) throw new Error('the Temporal CLI is not installed; run npm run temporal:install');
  const port = options.port ?? (await freePort());
  const args = [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port),
    '--http-port', String(await freePort()), '--metrics-port', String(await freePort()), '--log-level', 'error',
    // On a file, as `npm start` keeps it (src/dev/local-infra.ts): a write-ahead log, synced at
    // checkpoints; nothing is lost when the server's process dies.
    ...(options.dbFilename
      ? ['--db-filename', options.dbFilename, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal']
      : []),
    ...searchAttributeKeys.flatMap((key) => ['--search-attribute', `${key.name}=${key.type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword'}`]),
  ];
  const child = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  createInterface({ input: child.stderr }).on('line', (line) => log(`[temporal] ${line}`));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  let connection: TemporalConnection | undefined;
  while (!connection) {
    if (child.exitCode !== null) throw new Error(`the Temporal dev server exited (${child.exitCode})`);
    try {
      connection = await connectTemporal(address, 'default');
      await connection.client.workflowService.describeNamespace({ namespace: 'default' });
    } catch (error) {
      await connection?.close().catch(() => undefined);
      connection = undefined;
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  const stopServer = stopper(child);
  const ready = connection;
  return {
    name: 'temporal',
    pid: child.pid!,
    child,
    address,
    connection: ready,
    async stop() {
      await ready.close().catch(() => undefined);
      await stopServer();
    },
  };
}

export interface BenchDatabase {
  name: string;
  url: string;
  db: Db;
  drop(): Promise<void>;
}

/** A fresh, migrated database of the benchmark's own on the shared PostgreSQL (as test/support/db.ts). */
export async function createBenchDatabase(
  adminUrl: string,
  options: { prefix?: string; applicationName?: string } = {},
): Promise<BenchDatabase> {
  const name = `${options.prefix ?? 'portal_sync_bench'}_${randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // The benchmark's own connections say whose they are, so that they can be told from the service's.
  const own = new URL(url);
  if (options.applicationName) own.searchParams.set('application_name', options.applicationName);
  const db = connectDatabase(own.toString());
  await migrateToLatest(db);
  return {
    name,
    url: url.toString(),
    db,
    async drop() {
      await db.destroy();
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
}
